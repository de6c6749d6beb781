// A brute-force relation filter for tests: does one relation version pass a
// RelationFilter (storage/relation_filter.h)? Written out here, independently of storage/store_read.cc and
// storage/valid_time.cc's Matches, so the indexes can be checked against it.
#pragma once

#include <algorithm>

#include "storage/store.h"
#include "storage/valid_time.h"

namespace annals::testing {

inline bool ReferenceMatches(const storage::RelationRecord& r, const storage::RelationFilter& f) {
  if (!f.entity_id.empty()) {
    const std::string& object = r.object_case() == storage::RelationRecord::kObjectId ? r.object_id() : "";
    bool found = false;
    if (f.outgoing && r.subject() == f.entity_id && (f.other_id.empty() || object == f.other_id)) found = true;
    if (f.incoming && object == f.entity_id && (f.other_id.empty() || r.subject() == f.other_id)) found = true;
    if (!found) return false;
  }
  if (!f.predicates.empty()) {
    bool named = false;
    for (const auto& p : f.predicates) named = named || p == r.predicate();
    if (!named) return false;
  }
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
