// Views over the relations of an entity or a pair at one revision: a timeline grouped by
// period, counts and sums per period, and claims that disagree. Pure functions of a Store.
//
// Periods follow the precision rule (docs/time.md). A relation is placed by its start
// span [s_lo, s_hi]: certainly in a period when the whole span lies inside it, possibly
// in every period the span touches. A claim dated only "2011" is thus certain in the year
// 2011 and only possible in each of its months.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/graph_query.h"
#include "storage/store.h"

namespace annals::storage {

enum class Period { kYear, kQuarter, kMonth };

// The label of the period holding `day`: "2011", "2011-Q2", "2011-05".
std::string PeriodLabel(int64_t day, Period period);

// The relations that pass `filter`, which is anchored (entity_id set, other_id for a
// pair); at most budget.max_results, each once (a relation from the entity to itself is
// found from both ends). NOT_FOUND when either entity does not exist at `rev`.
struct RelationSet {
  std::vector<RelationRecord> relations;
  Stop stop;
};
absl::StatusOr<RelationSet> RelationsOf(Store& store, int64_t rev, const RelationFilter& filter,
                                        const QueryBudget& budget);

struct TimelineGroupResult {
  std::string period;  // "undated" for an unbounded or unknown start; "by 2012" for start_latest alone
  std::vector<RelationRecord> relations;
};
// Groups in valid-time order: by the start's earliest day (undated first), then latest.
std::vector<TimelineGroupResult> GroupTimeline(std::vector<RelationRecord> relations, Period period);

struct AmountResult {
  std::string unit;
  double amount = 0, possible_amount = 0;
};
struct BucketResult {
  std::string period, predicate;
  int64_t first_day = 0;  // for ordering
  int64_t count = 0, possible_count = 0;
  std::vector<AmountResult> sums;
};
struct AggregateResult {
  std::vector<BucketResult> buckets;  // chronological, then by predicate
  int64_t unplaced = 0;
};
AggregateResult AggregateRelations(const std::vector<RelationRecord>& relations, Period period,
                                   bool by_predicate);

struct ConflictGroupResult {
  std::string subject, predicate, object, reason;  // reason: "dates" or "values"
  std::vector<RelationRecord> claims;
};
// Claims on the same subject-predicate-object from different sources whose possible
// spans [s_lo, e_hi] cannot all hold for one event (some pair is disjoint), and literal
// claims on the same subject-predicate with overlapping dates and different values.
std::vector<ConflictGroupResult> FindConflicts(const std::vector<RelationRecord>& relations);

}  // namespace annals::storage
