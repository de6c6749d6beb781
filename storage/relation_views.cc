#include "storage/relation_views.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "storage/status_macros.h"

namespace annals::storage {
namespace {

// Periods are numbered so that consecutive periods get consecutive numbers.
int64_t PeriodIndex(int64_t day, Period period) {
  const CivilDay c = CivilOf(day);
  const int64_t year = c.year < 0 ? c.year + 1 : c.year;  // astronomical, no gap at year 0
  switch (period) {
    case Period::kYear: return year;
    case Period::kQuarter: return year * 4 + (c.month - 1) / 3;
    case Period::kMonth: return year * 12 + (c.month - 1);
  }
  return year;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The first day of the period numbered `index` (the inverse of PeriodIndex).
int64_t PeriodStart(int64_t index, Period period) {
  int64_t year = index, month = 1;
  if (period == Period::kQuarter) {
    year = FloorDiv(index, 4);
    month = (index - year * 4) * 3 + 1;
  } else if (period == Period::kMonth) {
    year = FloorDiv(index, 12);
    month = index - year * 12 + 1;
  }
  const int32_t api_year = static_cast<int32_t>(year <= 0 ? year - 1 : year);
  return DayNumber(api_year, static_cast<int32_t>(month), 1);
}

std::string ValueText(const Value& v) {
  char buf[64];
  switch (v.kind_case()) {
    case Value::kText: return v.text();
    case Value::kNumber: std::snprintf(buf, sizeof buf, "%.15g", v.number()); return buf;
    case Value::kQuantity:
      std::snprintf(buf, sizeof buf, "%.15g", v.quantity().amount());
      return absl::StrCat(buf, " ", v.quantity().unit());
    case Value::kDate: return absl::StrCat(v.date().year(), "-", v.date().month(), "-", v.date().day());
    case Value::kFlag: return v.flag() ? "true" : "false";
    case Value::KIND_NOT_SET: break;
  }
  return "";
}

// The documents a claim cites, as one key ("" when it cites none).
std::string SourceKey(const RelationRecord& r) {
  std::set<std::string> docs;
  for (const auto& s : r.sources()) docs.insert(s.document_id());
  std::string key;
  for (const auto& d : docs) absl::StrAppend(&key, d, "\n");
  return key;
}

}  // namespace

std::string PeriodLabel(int64_t day, Period period) {
  const CivilDay c = CivilOf(day);
  char buf[32];
  switch (period) {
    case Period::kYear: std::snprintf(buf, sizeof buf, "%d", c.year); break;
    case Period::kQuarter: std::snprintf(buf, sizeof buf, "%d-Q%d", c.year, (c.month - 1) / 3 + 1); break;
    case Period::kMonth: std::snprintf(buf, sizeof buf, "%d-%02d", c.year, c.month); break;
  }
  return buf;
}

absl::StatusOr<RelationSet> RelationsOf(Store& store, int64_t rev, const RelationFilter& filter,
                                        const QueryBudget& budget) {
  ASSIGN_OR_RETURN(auto e, store.GetEntity(filter.entity_id, rev));
  if (!e)
    return FieldFailure(absl::StatusCode::kNotFound, "entity_id",
                        absl::StrCat("entity '", filter.entity_id, "' does not exist at revision ", rev));
  if (!filter.other_id.empty()) {
    ASSIGN_OR_RETURN(auto o, store.GetEntity(filter.other_id, rev));
    if (!o)
      return FieldFailure(absl::StatusCode::kNotFound, "other_id",
                          absl::StrCat("entity '", filter.other_id, "' does not exist at revision ", rev));
  }
  ASSIGN_OR_RETURN(RelationPage page, store.FindRelations(filter, rev, "", budget.max_results));
  RelationSet out;
  std::set<std::string> seen;  // a relation from the entity to itself comes twice
  for (auto& hit : page.hits)
    if (seen.insert(hit.relation.id()).second) out.relations.push_back(std::move(hit.relation));
  if (!page.next_cursor.empty())
    out.stop = {true, "max_results", "narrow the window or the predicates, or raise max_results"};
  return out;
}

std::vector<TimelineGroupResult> GroupTimeline(std::vector<RelationRecord> relations, Period period) {
  struct Placed {
    TimeBounds b;
    RelationRecord r;
  };
  std::vector<Placed> placed;
  for (auto& r : relations) {
    auto b = BoundsOf(r.valid());
    placed.push_back({b.ok() ? *b : TimeBounds{}, std::move(r)});
  }
  std::sort(placed.begin(), placed.end(), [](const Placed& x, const Placed& y) {
    return std::tie(x.b.s_lo, x.b.s_hi, x.b.e_hi, x.r.id()) < std::tie(y.b.s_lo, y.b.s_hi, y.b.e_hi, y.r.id());
  });
  std::vector<TimelineGroupResult> groups;
  for (auto& p : placed) {
    std::string label;
    if (p.b.s_lo == kMinusInfinity)
      label = p.b.s_hi == kMinusInfinity || p.b.s_hi == kPlusInfinity ? "undated" : "by " + PeriodLabel(p.b.s_hi, period);
    else if (p.b.s_hi == kPlusInfinity)
      label = "undated";
    else if (PeriodIndex(p.b.s_lo, period) == PeriodIndex(p.b.s_hi, period))
      label = PeriodLabel(p.b.s_lo, period);
    else if (PeriodIndex(p.b.s_lo, Period::kYear) == PeriodIndex(p.b.s_hi, Period::kYear))
      label = PeriodLabel(p.b.s_lo, Period::kYear);  // coarser than the granularity: stays a year
    else
      label = PeriodLabel(p.b.s_lo, Period::kYear) + ".." + PeriodLabel(p.b.s_hi, Period::kYear);
    if (groups.empty() || groups.back().period != label) groups.push_back({label, {}});
    groups.back().relations.push_back(std::move(p.r));
  }
  return groups;
}

AggregateResult AggregateRelations(const std::vector<RelationRecord>& relations, Period period, bool by_predicate) {
  constexpr int64_t kMaxPeriodsPerClaim = 1200;  // a start vaguer than a century is "unplaced"
  std::map<std::pair<int64_t, std::string>, BucketResult> buckets;
  AggregateResult out;
  for (const auto& r : relations) {
    auto b = BoundsOf(r.valid());
    if (!b.ok() || b->s_lo == kMinusInfinity || b->s_hi == kPlusInfinity) {
      ++out.unplaced;
      continue;
    }
    const int64_t first = PeriodIndex(b->s_lo, period), last = PeriodIndex(b->s_hi, period);
    if (last - first >= kMaxPeriodsPerClaim) {
      ++out.unplaced;
      continue;
    }
    const bool certain = first == last;
    std::string unit;
    double amount = 0;
    bool has_amount = false;
    if (r.object_case() == RelationRecord::kValue) {
      if (r.value().kind_case() == Value::kQuantity) {
        unit = r.value().quantity().unit();
        amount = r.value().quantity().amount();
        has_amount = true;
      } else if (r.value().kind_case() == Value::kNumber) {
        amount = r.value().number();
        has_amount = true;
      }
    }
    for (int64_t index = first; index <= last; ++index) {  // every period the start span touches
      BucketResult& bucket = buckets[{index, by_predicate ? r.predicate() : ""}];
      if (bucket.period.empty()) {
        bucket.first_day = PeriodStart(index, period);
        bucket.period = PeriodLabel(bucket.first_day, period);
        bucket.predicate = by_predicate ? r.predicate() : "";
      }
      ++bucket.possible_count;
      if (certain) ++bucket.count;
      if (has_amount) {
        auto it = std::find_if(bucket.sums.begin(), bucket.sums.end(), [&](const AmountResult& a) { return a.unit == unit; });
        if (it == bucket.sums.end()) it = bucket.sums.insert(bucket.sums.end(), AmountResult{unit, 0, 0});
        it->possible_amount += amount;
        if (certain) it->amount += amount;
      }
    }
  }
  for (auto& [key, bucket] : buckets) out.buckets.push_back(std::move(bucket));
  return out;
}

std::vector<ConflictGroupResult> FindConflicts(const std::vector<RelationRecord>& relations) {
  // Entity-object claims grouped by (subject, predicate, object); literal claims by
  // (subject, predicate).
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<const RelationRecord*>> by_key;
  for (const auto& r : relations) {
    const std::string object = r.object_case() == RelationRecord::kObjectId ? r.object_id() : "";
    by_key[{r.subject(), r.predicate(), object}].push_back(&r);
  }
  std::vector<ConflictGroupResult> out;
  for (const auto& [key, claims] : by_key) {
    if (claims.size() < 2) continue;
    std::vector<TimeBounds> bounds;
    for (const auto* c : claims) {
      auto b = BoundsOf(c->valid());
      bounds.push_back(b.ok() ? *b : TimeBounds{kMinusInfinity, kPlusInfinity, kMinusInfinity, kPlusInfinity});
    }
    std::set<size_t> involved;
    std::string reason;
    for (size_t i = 0; i < claims.size(); ++i)
      for (size_t j = i + 1; j < claims.size(); ++j) {
        if (SourceKey(*claims[i]) == SourceKey(*claims[j])) continue;  // one source: not a disagreement
        const bool overlap = bounds[i].s_lo <= bounds[j].e_hi && bounds[j].s_lo <= bounds[i].e_hi;
        const bool literal = std::get<2>(key).empty();
        if (!literal && !overlap) {
          involved.insert(i);
          involved.insert(j);
          reason = "dates";
        } else if (literal && overlap && ValueText(claims[i]->value()) != ValueText(claims[j]->value())) {
          involved.insert(i);
          involved.insert(j);
          if (reason.empty()) reason = "values";
        }
      }
    if (involved.empty()) continue;
    ConflictGroupResult group;
    group.subject = std::get<0>(key);
    group.predicate = std::get<1>(key);
    group.object = std::get<2>(key);
    group.reason = reason;
    for (size_t i : involved) group.claims.push_back(*claims[i]);
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace annals::storage
