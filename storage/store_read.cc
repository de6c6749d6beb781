// The read paths of Store: point reads at a revision, and index scans.
#include <rocksdb/db.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "storage/name_folding.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {
namespace {

// An unspecified status counts as asserted, on either side; no filter means asserted only.
bool StatusWanted(const std::vector<int>& wanted, int status) {
  auto normal = [](int s) { return s == CLAIM_STATUS_UNSPECIFIED ? int{CLAIM_ASSERTED} : s; };
  if (wanted.empty()) return normal(status) == CLAIM_ASSERTED;
  return std::any_of(wanted.begin(), wanted.end(), [&](int w) { return normal(w) == normal(status); });
}

// The key after which a scan of `prefix` (whose next field is s_lo) can stop for a window.
std::string WindowEnd(const std::string& prefix, const std::optional<DayWindow>& window) {
  if (!window || window->w_hi == kPlusInfinity) return key::PrefixEnd(prefix);
  std::string end = prefix;
  key::AppendDay(&end, window->w_hi + 1);
  return end;
}

// Where a page continues: just after the last key returned, or at the prefix.
absl::StatusOr<std::string> ScanStart(const std::string& prefix, std::string_view cursor) {
  if (cursor.empty()) return prefix;
  if (std::string_view(cursor).substr(0, prefix.size()) != prefix)
    return absl::InvalidArgumentError("page_token: does not belong to this query");
  std::string from(cursor);
  from.push_back('\0');  // the smallest key after the cursor
  return from;
}

}  // namespace

template <typename Visit>
absl::Status Store::ScanIndex(Cf family, const std::string& from, const std::string& until,
                              int64_t rev, Visit&& visit) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(until);
  if (!until.empty()) ro.iterate_upper_bound = &upper;
  // An out/in scan stays inside one entity (`from` and `until` share its id), so the
  // entity-prefix filters may skip every table file without it (rocks_options.cc).
  ro.prefix_same_as_start = family == Cf::kOut || family == Cf::kIn;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
  for (it->Seek(from); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const auto tail = key::ParseTail(family, k);
    if (!tail) return absl::DataLossError(absl::StrCat("malformed key in ", CfName(family)));
    if (tail->rev > rev) continue;  // written after the revision read
    IndexValue value;
    const std::string_view v(it->value().data(), it->value().size());
    if (family == Cf::kNames) {
      if (v.size() != 8) return absl::DataLossError("malformed names entry");
      value.rev_removed = static_cast<int64_t>(key::ReadU64(v));
    } else {
      auto decoded = DecodeIndexValue(v);
      if (!decoded) return absl::DataLossError(absl::StrCat("malformed entry in ", CfName(family)));
      value = *decoded;
    }
    if (value.rev_removed <= rev) continue;  // replaced at or before the revision read
    if (!visit(k, *tail, value)) break;
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::optional<EntityRecord>> Store::GetEntity(std::string_view id, int64_t rev) {
  EntityRecord rec;
  ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kEntities, id, rev, &rec));
  return found ? std::optional<EntityRecord>(std::move(rec)) : std::nullopt;
}

absl::StatusOr<std::optional<DocumentRecord>> Store::GetDocument(std::string_view id, int64_t rev) {
  DocumentRecord rec;
  ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kDocuments, id, rev, &rec));
  return found ? std::optional<DocumentRecord>(std::move(rec)) : std::nullopt;
}

absl::StatusOr<std::optional<RelationRecord>> Store::GetRelation(std::string_view id, int64_t rev) {
  RelationRecord rec;
  ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kRelations, id, rev, &rec));
  return found ? std::optional<RelationRecord>(std::move(rec)) : std::nullopt;
}

absl::StatusOr<std::pair<std::vector<DocumentRecord>, std::string>> Store::ListDocuments(
    int64_t rev, std::string_view cursor, int limit) {
  std::vector<DocumentRecord> out;
  std::string next;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(TotalOrderRead(), cf(Cf::kDocuments)));
  // Keys are id 00 ~rev: the first key of an id at or before `rev` is its current version.
  it->Seek(cursor.empty() ? std::string() : key::PrefixEnd(key::VersionPrefix(cursor)));
  std::string last_id;
  while (it->Valid()) {
    const std::string_view k(it->key().data(), it->key().size());
    const std::string_view id = k.substr(0, k.size() - 9);
    if (key::VersionRevision(k) > rev) {  // newer than the revision read: try an older version
      it->Next();
      continue;
    }
    if (static_cast<int>(out.size()) == limit) {
      next = last_id;
      break;
    }
    DocumentRecord rec;
    if (!rec.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return absl::DataLossError("unreadable document record");
    last_id.assign(id);
    out.push_back(std::move(rec));
    it->Seek(key::PrefixEnd(key::VersionPrefix(id)));  // the next id
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return std::make_pair(std::move(out), std::move(next));
}

absl::StatusOr<RelationPage> Store::ListRelations(const RelationFilter& filter, int64_t rev,
                                                  std::string_view cursor, int limit) {
  // The most selective index the filter allows; the rest is checked on each record.
  Cf family;
  std::string prefix;
  bool time_ordered = false;  // the key's next field after the prefix is s_lo
  if (!filter.subject.empty() || !filter.object_id.empty()) {
    family = filter.subject.empty() ? Cf::kIn : Cf::kOut;
    key::AppendId(&prefix, filter.subject.empty() ? filter.object_id : filter.subject);
    if (!filter.predicate.empty()) {
      key::AppendId(&prefix, filter.predicate);
      time_ordered = true;
    }
  } else if (!filter.predicate.empty()) {
    family = Cf::kByPredicate;
    key::AppendId(&prefix, filter.predicate);
    time_ordered = true;
  } else if (!filter.document_id.empty()) {
    family = Cf::kByDocument;
    key::AppendId(&prefix, filter.document_id);
  } else {
    family = Cf::kByTime;
    time_ordered = true;
  }
  ASSIGN_OR_RETURN(std::string from, ScanStart(prefix, cursor));
  std::string until = time_ordered ? WindowEnd(prefix, filter.window) : key::PrefixEnd(prefix);
  if (prefix.empty() && !(filter.window && filter.window->w_hi != kPlusInfinity)) until.clear();

  RelationPage page;
  std::string last_key;
  absl::Status inner;
  RETURN_IF_ERROR(ScanIndex(family, from, until, rev, [&](std::string_view k, const key::IndexTail& tail, const IndexValue& v) {
    if (!StatusWanted(filter.statuses, v.status)) return true;
    if (filter.window && !Matches(v.bounds, *filter.window)) return true;
    RelationRecord rec;
    auto found = LoadExact(Cf::kRelations, tail.id, tail.rev, &rec);
    if (!found.ok() || !*found) {
      inner = found.ok() ? absl::DataLossError(absl::StrCat("index points at missing relation ", std::string(tail.id)))
                         : found.status();
      return false;
    }
    if (!filter.subject.empty() && rec.subject() != filter.subject) return true;
    if (!filter.predicate.empty() && rec.predicate() != filter.predicate) return true;
    if (!filter.object_id.empty() && rec.object_id() != filter.object_id) return true;
    if (!filter.document_id.empty() &&
        std::none_of(rec.sources().begin(), rec.sources().end(),
                     [&](const Source& s) { return s.document_id() == filter.document_id; }))
      return true;
    if (static_cast<int>(page.relations.size()) == limit) {
      page.next_cursor = last_key;  // one more match exists: the page is full
      return false;
    }
    page.relations.push_back(std::move(rec));
    last_key.assign(k);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return page;
}

absl::StatusOr<NeighborPage> Store::Neighbors(const NeighborQuery& query, int64_t rev, int limit) {
  // First the index entries (the record keys they point at), then every record in one
  // MultiGet: a Get per hit was the largest cost of this query in the profile.
  NeighborPage page;
  std::vector<std::string> record_keys;
  auto scan = [&](Cf family, const std::string& prefix, const std::string& until) -> absl::Status {
    if (page.truncated) return absl::OkStatus();
    return ScanIndex(family, prefix, until, rev, [&](std::string_view, const key::IndexTail& tail, const IndexValue& v) {
      if (!StatusWanted(query.statuses, v.status)) return true;
      if (query.window && !Matches(v.bounds, *query.window)) return true;
      if (static_cast<int>(page.hits.size()) == limit) {
        page.truncated = true;
        return false;
      }
      page.hits.emplace_back().outgoing = family == Cf::kOut;
      record_keys.push_back(key::Version(tail.id, tail.rev));
      return true;
    });
  };
  for (Cf family : {Cf::kOut, Cf::kIn}) {
    if ((family == Cf::kOut && !query.outgoing) || (family == Cf::kIn && !query.incoming)) continue;
    std::string base;
    key::AppendId(&base, query.entity_id);
    if (query.predicates.empty()) {
      RETURN_IF_ERROR(scan(family, base, key::PrefixEnd(base)));
    } else {
      for (const auto& predicate : query.predicates) {
        std::string prefix = base;
        key::AppendId(&prefix, predicate);
        RETURN_IF_ERROR(scan(family, prefix, WindowEnd(prefix, query.window)));
      }
    }
  }
  std::vector<google::protobuf::Message*> records;
  for (auto& hit : page.hits) records.push_back(&hit.relation);
  RETURN_IF_ERROR(LoadExactMany(Cf::kRelations, record_keys, records));
  return page;
}

absl::StatusOr<EntityPage> Store::SearchEntities(std::string_view query, std::string_view kind,
                                                 int64_t rev, std::string_view cursor, int limit) {
  const std::string folded = FoldName(query);
  ASSIGN_OR_RETURN(std::string from, ScanStart(folded, cursor));
  const std::string until = folded.empty() ? std::string() : key::PrefixEnd(folded);
  EntityPage page;
  std::string last_key;
  absl::Status inner;
  RETURN_IF_ERROR(ScanIndex(Cf::kNames, from, until, rev, [&](std::string_view k, const key::IndexTail& tail, const IndexValue&) {
    EntityRecord rec;
    auto found = LoadExact(Cf::kEntities, tail.id, tail.rev, &rec);
    if (!found.ok() || !*found) {
      inner = found.ok() ? absl::DataLossError(absl::StrCat("name index points at missing entity ", std::string(tail.id)))
                         : found.status();
      return false;
    }
    if (!kind.empty() && rec.kind() != kind) return true;
    // An entity matching through several terms is returned at the smallest one only.
    const std::string_view term = k.substr(0, k.find('\0'));
    std::string smallest(term);
    for (const std::string& name : [&] {
           std::vector<std::string> names(rec.aliases().begin(), rec.aliases().end());
           names.push_back(rec.label());
           return names;
         }())
      for (const std::string& t : NameTerms(name))
        if (t.compare(0, folded.size(), folded) == 0 && t < smallest) smallest = t;
    if (smallest != term) return true;
    if (static_cast<int>(page.entities.size()) == limit) {
      page.next_cursor = last_key;
      return false;
    }
    page.entities.push_back(std::move(rec));
    last_key.assign(k);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return page;
}

}  // namespace annals::storage
