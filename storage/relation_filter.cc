#include "storage/relation_filter.h"

#include <algorithm>

namespace annals::storage {

std::vector<int> EveryStatus() {
  std::vector<int> out;
  for (int s = ClaimStatus_MIN; s <= ClaimStatus_MAX; ++s)
    if (ClaimStatus_IsValid(s)) out.push_back(s);
  return out;
}

bool StatusWanted(const std::vector<int>& wanted, int status) {
  auto normal = [](int s) { return s == CLAIM_STATUS_UNSPECIFIED ? int{CLAIM_ASSERTED} : s; };
  if (wanted.empty()) return normal(status) == CLAIM_ASSERTED;
  return std::any_of(wanted.begin(), wanted.end(), [&](int w) { return normal(w) == normal(status); });
}

bool Matches(const RelationFilter& f, const RelationRecord& r) {
  if (!f.entity_id.empty()) {
    // An object that is a literal value has no id: object_id() is "" and never matches.
    const bool as_subject = f.outgoing && r.subject() == f.entity_id &&
                            (f.other_id.empty() || r.object_id() == f.other_id);
    const bool as_object = f.incoming && r.object_id() == f.entity_id &&
                           (f.other_id.empty() || r.subject() == f.other_id);
    if (!as_subject && !as_object) return false;
  }
  if (!f.predicates.empty() && std::find(f.predicates.begin(), f.predicates.end(), r.predicate()) == f.predicates.end())
    return false;
  if (!f.document_id.empty() && std::none_of(r.sources().begin(), r.sources().end(),
                                             [&](const Source& s) { return s.document_id() == f.document_id; }))
    return false;
  if (!StatusWanted(f.statuses, r.status())) return false;
  if (f.window) {
    auto bounds = BoundsOf(r.valid());
    if (!bounds.ok() || !Matches(*bounds, *f.window)) return false;
  }
  return true;
}

std::vector<IndexScan> PlanScans(const RelationFilter& f) {
  std::vector<IndexScan> plan;
  auto add = [&](Cf family, std::string prefix) {
    plan.push_back({family, std::move(prefix), !f.document_id.empty() && family != Cf::kByDocument});
  };
  if (!f.entity_id.empty()) {
    // An entity paired with itself: its relations to itself are in both indexes, and the
    // outgoing one alone lists each once.
    const bool self_pair = f.other_id == f.entity_id && f.outgoing;
    for (Cf family : {Cf::kOut, Cf::kIn}) {
      if (family == Cf::kOut ? !f.outgoing : (!f.incoming || self_pair)) continue;
      std::string base;
      key::AppendId(&base, f.entity_id);
      if (f.predicates.empty()) add(family, base);
      for (const std::string& p : f.predicates) {
        std::string prefix = base;
        key::AppendId(&prefix, p);
        add(family, std::move(prefix));
      }
    }
  } else if (!f.predicates.empty()) {
    for (const std::string& p : f.predicates) {
      std::string prefix;
      key::AppendId(&prefix, p);
      add(Cf::kByPredicate, std::move(prefix));
    }
  } else if (!f.document_id.empty()) {
    std::string prefix;
    key::AppendId(&prefix, f.document_id);
    add(Cf::kByDocument, std::move(prefix));
  } else {
    add(Cf::kByTime, "");
  }
  return plan;
}

std::string EncodeScanCursor(const ScanCursor& cursor) {
  std::string out;
  out.push_back(static_cast<char>(cursor.scan >> 8));
  out.push_back(static_cast<char>(cursor.scan & 0xff));
  out += cursor.key;
  return out;
}

std::optional<ScanCursor> DecodeScanCursor(std::string_view cursor, const std::vector<IndexScan>& plan) {
  if (cursor.size() < 2) return std::nullopt;
  ScanCursor out;
  out.scan = (size_t{static_cast<uint8_t>(cursor[0])} << 8) | static_cast<uint8_t>(cursor[1]);
  out.key = std::string(cursor.substr(2));
  if (out.scan >= plan.size() || out.key.compare(0, plan[out.scan].prefix.size(), plan[out.scan].prefix) != 0)
    return std::nullopt;
  return out;
}

}  // namespace annals::storage
