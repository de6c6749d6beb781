// Graph queries over a Store at one revision: traversal and (time-respecting) paths.
// Pure algorithms on Store::FindRelations; no gRPC. Every query runs under a QueryBudget and
// reports the bound it stopped at instead of cutting silently.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/store.h"

namespace annals::storage {

struct QueryBudget {
  int max_fan_out = 1000;   // relations followed from one entity
  int max_results = 10000;  // what one query returns
  int64_t max_steps = 2'000'000;  // search steps (paths examined, relations scanned)
  absl::Time deadline = absl::InfiniteFuture();
};

struct Stop {
  bool truncated = false;
  std::string bound;  // "max_results", "max_fan_out", "max_steps", "deadline"
  std::string hint;
};

struct TraverseResult {
  std::vector<EntityRecord> entities;  // in the order reached
  std::vector<int> depths;
  // A deque: a record moved in stays put (a growing vector moved every record each time
  // it doubled: 6% of a busiest-entity Traverse, profiled).
  std::deque<RelationRecord> relations;
  std::vector<std::string> frontier;  // reached but not fully expanded
  Stop stop;
};

// Which relations a walk may follow: `filter` without an anchor (a walk sets it to each
// entity it expands); outgoing and incoming say which way a relation may be walked.

// Breadth-first from `starts` up to `max_depth` hops; relations in `view`, each once. At
// each entity at most `max_fan_out` relations are followed, counted in the directions the
// filter walks. NOT_FOUND when a start entity does not exist at `rev`.
absl::StatusOr<TraverseResult> Traverse(Store& store, int64_t rev, const std::vector<std::string>& starts,
                                        int max_depth, const RelationFilter& filter, const QueryBudget& budget,
                                        View view = View::kFull);

struct PathStepResult {
  RelationRecord relation;
  bool forward = true;
  std::string entity_id;
  int64_t arrival = kMinusInfinity;  // earliest possible day of arrival (time-respecting walks)
};
using PathResult = std::vector<PathStepResult>;

struct PathsResult {
  std::vector<PathResult> paths;  // shortest first
  Stop stop;
};

// The k shortest simple paths from `source` to `target` with at most `max_hops` hops.
// With `time_respecting`, only chains that could have followed one another in time:
// walking with the earliest possible arrival a (a := max(a, s_lo) at each hop), every hop
// needs e_hi >= a.
//
// Exact, length by length, meeting in the middle: two balls of entities grow from the
// source and the target, always the one with the smaller frontier, each entity's relations
// read once per query. A path of length L is a head of `a` hops walked forward from the
// source and a tail of L - a hops walked backward from the target (a as long as the
// source's ball allows), joined where they meet when they share no entity and, time-
// respecting, when the head arrives no later than the latest arrival the tail allows (the
// tail's bound comes backward from the target: each hop needs e_hi >= a and then
// max(a, s_lo) within the next entity's bound). Results are shortest first, then in head
// order, then tail order, edges in relation-id order.
absl::StatusOr<PathsResult> FindPaths(Store& store, int64_t rev, const std::string& source,
                                      const std::string& target, int max_hops, const RelationFilter& filter,
                                      bool time_respecting, int k, const QueryBudget& budget);

}  // namespace annals::storage
