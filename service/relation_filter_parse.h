// The one place a request becomes a storage::RelationFilter (storage/relation_filter.h).
//
// Every relation read spells its filter with the same field names: entity_id, other_id,
// direction, predicates, document_id, statuses, window; ListRelations' subject, object_id
// and single predicate; a change feed Scope's between. RelationFilterOf reads whichever of
// them a request message has (checked at compile time), each by the one rule for its kind:
// ids by CheckId, predicates by CheckPredicate (1 to 128 bytes, repeats dropped), statuses
// by StatusFilter, windows by DayWindowOf. Errors name the field, under `prefix` ("scope."
// for a Scope inside a request). Whether an anchor is required is the caller's to say.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "annals/v1/query.pb.h"
#include "service/request_validation.h"
#include "storage/relation_filter.h"
#include "storage/status_macros.h"

namespace annals::service {

// Direction as the two sides a filter reads.
absl::Status ApplyDirection(std::string_view field, v1::Direction direction, storage::RelationFilter* filter);

template <typename Message>
absl::StatusOr<storage::RelationFilter> RelationFilterOf(const Message& m, std::string_view prefix = "") {
  auto field = [&](std::string_view name) { return std::string(prefix).append(name); };
  storage::RelationFilter f;
  if constexpr (requires { m.entity_id(); }) {
    RETURN_IF_ERROR(CheckOptionalId(field("entity_id"), m.entity_id()));
    f.entity_id = m.entity_id();
  }
  if constexpr (requires { m.other_id(); }) {
    RETURN_IF_ERROR(CheckOptionalId(field("other_id"), m.other_id()));
    if (!m.other_id().empty() && f.entity_id.empty())
      return BadField(field("other_id"), absl::StrCat("goes with entity_id"));
    f.other_id = m.other_id();
  }
  if constexpr (requires { m.subject(); m.object_id(); }) {  // ListRelations: a one-sided anchor
    RETURN_IF_ERROR(CheckOptionalId(field("subject"), m.subject()));
    RETURN_IF_ERROR(CheckOptionalId(field("object_id"), m.object_id()));
    if (!m.subject().empty()) {
      f.entity_id = m.subject();
      f.other_id = m.object_id();
      f.incoming = false;
    } else if (!m.object_id().empty()) {
      f.entity_id = m.object_id();
      f.outgoing = false;
    }
  }
  if constexpr (requires { m.between(); }) {  // a Scope: the relations between two entities
    if (m.between_size() != 0) {
      if (m.between_size() != 2)
        return BadField(field("between"), absl::StrCat("give exactly two entity ids"));
      if (!f.entity_id.empty())
        return BadField(field("between"), absl::StrCat("give entity_id or between, not both"));
      for (int i = 0; i < 2; ++i) RETURN_IF_ERROR(CheckId(absl::StrCat(field("between"), "[", i, "]"), m.between(i)));
      f.entity_id = m.between(0);
      f.other_id = m.between(1);
    }
  }
  if constexpr (requires { m.direction(); }) RETURN_IF_ERROR(ApplyDirection(field("direction"), m.direction(), &f));
  if constexpr (requires { m.predicates(); }) {
    if (m.predicates_size() > kMaxRepeated)
      return BadField(field("predicates"), absl::StrCat("more than ", kMaxRepeated));
    for (int i = 0; i < m.predicates_size(); ++i) {
      RETURN_IF_ERROR(CheckPredicate(absl::StrCat(field("predicates"), "[", i, "]"), m.predicates(i)));
      if (std::find(f.predicates.begin(), f.predicates.end(), m.predicates(i)) == f.predicates.end())
        f.predicates.push_back(m.predicates(i));  // a repeat would list its relations twice
    }
  }
  if constexpr (requires { m.predicate(); }) {
    if (!m.predicate().empty()) {
      RETURN_IF_ERROR(CheckPredicate(field("predicate"), m.predicate()));
      f.predicates = {m.predicate()};
    }
  }
  if constexpr (requires { m.document_id(); }) {
    RETURN_IF_ERROR(CheckOptionalId(field("document_id"), m.document_id()));
    f.document_id = m.document_id();
  }
  if constexpr (requires { m.statuses(); }) {
    ASSIGN_OR_RETURN(f.statuses, StatusFilter(field("statuses"), m.statuses()));
  }
  if constexpr (requires { m.has_window(); }) {
    ASSIGN_OR_RETURN(f.window, DayWindowOf(field("window"), m.has_window() ? &m.window() : nullptr));
  }
  return f;
}

}  // namespace annals::service
