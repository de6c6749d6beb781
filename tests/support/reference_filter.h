// A brute-force ListRelations filter for tests: does one relation version pass a
// RelationFilter? Written out here, independently of storage/store_read.cc and
// storage/valid_time.cc's Matches, so the indexes can be checked against it.
#pragma once

#include <algorithm>

#include "storage/store.h"
#include "storage/valid_time.h"

namespace annals::testing {

inline bool ReferenceMatches(const storage::RelationRecord& r, const storage::RelationFilter& f) {
  if (!f.subject.empty() && r.subject() != f.subject) return false;
  if (!f.predicate.empty() && r.predicate() != f.predicate) return false;
  if (!f.object_id.empty() && r.object_id() != f.object_id) return false;
  if (!f.document_id.empty()) {
    bool cited = false;
    for (const auto& s : r.sources()) cited = cited || s.document_id() == f.document_id;
    if (!cited) return false;
  }
  const int status = r.status();
  if (f.statuses.empty() ? (status != 0 && status != 1)
                         : std::find(f.statuses.begin(), f.statuses.end(), status) == f.statuses.end())
    return false;
  if (f.window) {
    const auto b = *storage::BoundsOf(r.valid());
    const auto& w = *f.window;
    if (w.mode == storage::Certainty::kPossibly) {
      if (!(b.s_lo <= w.w_hi && b.e_hi >= w.w_lo)) return false;
    } else {
      if (!(std::min(b.s_hi, b.e_hi) <= w.w_hi && std::max(b.s_lo, b.e_lo) >= w.w_lo)) return false;
    }
  }
  return true;
}

}  // namespace annals::testing
