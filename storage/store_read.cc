// The read paths of Store: point reads at a revision, and index scans.
#include <rocksdb/db.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "storage/index_entries.h"
#include "storage/name_folding.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {
namespace {

// Where a page continues: just after the last key returned, or at the prefix.
absl::StatusOr<std::string> ScanStart(const std::string& prefix, std::string_view cursor) {
  if (cursor.empty()) return prefix;
  if (std::string_view(cursor).substr(0, prefix.size()) != prefix)
    return FieldFailure(absl::StatusCode::kInvalidArgument, "cursor", "does not belong to this query");
  std::string from(cursor);
  from.push_back('\0');  // the smallest key after the cursor
  return from;
}

}  // namespace

template <typename Visit>
absl::Status Store::ScanRelationIndex(Cf family, const std::string& from, const std::string& until,
                                      const std::optional<DayWindow>& window, int64_t rev, Visit&& visit) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(until);
  if (!until.empty()) ro.iterate_upper_bound = &upper;
  // An out/in scan stays inside one entity (`from` and `until` share its id), so the
  // entity-prefix filters may skip every table file without it (rocks_options.cc).
  ro.prefix_same_as_start = InfoOf(family).kind == CfKind::kEdges;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
  const bool sliced = window.has_value() && InfoOf(family).tiered;
  for (it->Seek(from); it->Valid();) {
    const std::string_view k(it->key().data(), it->key().size());
    const auto parsed = key::ParseRelationIndex(family, k);
    if (!parsed) return absl::DataLossError(absl::StrCat("malformed key in ", CfName(family)));
    if (sliced) {
      // Outside the slice of its tier that can overlap the window: jump to the slice, or
      // past it to the next tier (or predicate). Each target is beyond the current key.
      const int64_t reach = TierScanStart(parsed->tier, window->w_lo);
      if (parsed->s_lo < reach) {
        it->Seek(key::GroupAt(parsed->group, reach));
        continue;
      }
      if (parsed->s_lo > window->w_hi) {
        it->Seek(key::PrefixEnd(parsed->group));
        continue;
      }
    }
    if (parsed->rev <= rev) {  // else written after the revision read
      const auto value = DecodeIndexValue(std::string_view(it->value().data(), it->value().size()));
      if (!value) return absl::DataLossError(absl::StrCat("malformed entry in ", CfName(family)));
      // Visible unless replaced at or before the revision read.
      if (value->rev_removed > rev && !visit(k, *parsed, *value)) break;
    }
    it->Next();
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::optional<EntityRecord>> Store::GetEntity(std::string_view id, int64_t rev) {
  ASSIGN_OR_RETURN(std::optional<EntityRecord> rec, LoadEntityAsWritten(id, rev));
  if (!rec || redirects_.empty()) return rec;
  if (const std::string survivor = redirects_.Resolve(id, rev); survivor != id) {
    ASSIGN_OR_RETURN(rec, LoadEntityAsWritten(survivor, rev));
    if (!rec)  // a survivor cannot be deleted while merged entities point at it
      return absl::DataLossError(absl::StrCat("entity '", std::string(id), "' is merged into '", survivor,
                                              "', which has no version at revision ", rev));
    rec->set_redirected_from(std::string(id));
  }
  RETURN_IF_ERROR(AddMergedNames(&*rec, rev));
  return rec;
}

absl::StatusOr<std::optional<DocumentRecord>> Store::GetDocument(std::string_view id, int64_t rev) {
  DocumentRecord rec;
  ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kDocuments, id, rev, &rec));
  return found && !rec.deleted() ? std::optional<DocumentRecord>(std::move(rec)) : std::nullopt;
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
    const auto version = key::ParseVersion(k);
    if (!version) return absl::DataLossError("malformed key in documents");
    const std::string_view id = version->id;
    if (version->rev > rev) {  // newer than the revision read: try an older version
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
    if (!rec.deleted()) {  // a tombstone: deleted at or before `rev`
      last_id.assign(id);
      out.push_back(std::move(rec));
    }
    it->Seek(key::PrefixEnd(key::VersionPrefix(id)));  // the next id
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return std::make_pair(std::move(out), std::move(next));
}

absl::StatusOr<RelationPage> Store::FindRelations(const RelationFilter& filter, int64_t rev,
                                                  std::string_view cursor, int limit, View view) {
  if (limit < 1) return FieldFailure(absl::StatusCode::kInvalidArgument, "limit", "must be at least 1");
  // Through merges (store_merges.cc): the anchor's survivor and every entity merged into
  // it, each one's scans in turn, so a cursor is still a position in one plan.
  const bool resolve = !filter.as_written && !redirects_.empty();
  std::vector<IndexScan> plan;
  if (resolve && !filter.entity_id.empty()) {
    RelationFilter each = filter;
    each.entity_id = redirects_.Resolve(filter.entity_id, rev);
    // Paired with itself through merges: as PlanScans does for one entity, the outgoing
    // scans alone list each relation inside the group once.
    if (filter.outgoing && !filter.other_id.empty() && redirects_.Resolve(filter.other_id, rev) == each.entity_id)
      each.incoming = false;
    plan = PlanScans(each);
    for (const std::string& member : redirects_.Members(each.entity_id, rev)) {
      each.entity_id = member;
      for (IndexScan& scan : PlanScans(each)) plan.push_back(std::move(scan));
    }
  } else {
    plan = PlanScans(filter);
  }
  const std::string other_id = resolve && !filter.other_id.empty() ? redirects_.Resolve(filter.other_id, rev)
                                                                     : filter.other_id;
  ScanCursor resume;
  if (!cursor.empty()) {
    auto decoded = DecodeScanCursor(cursor, plan);
    if (!decoded) return FieldFailure(absl::StatusCode::kInvalidArgument, "cursor", "does not belong to this query");
    resume = std::move(*decoded);
  }
  // The summary is decoded only when the answer or the filter needs it: FULL answers
  // replace it with the record.
  const bool need_summary = view == View::kBasic || !filter.other_id.empty();
  RelationPage page;
  // Room for the page and the one hit past it that says more exist: a page that outgrew
  // its vector moved every record it held (a 1,000-relation page of a Traverse moved each
  // record three times, profiled).
  page.hits.reserve(std::min(limit, 1024) + 1);
  // FULL: the hits (by position) whose records are still to be read, and their keys.
  std::vector<size_t> record_slots;
  std::vector<std::string> record_keys;
  ScanCursor last;
  absl::Status inner;
  for (size_t n = resume.scan; n < plan.size() && page.next_cursor.empty(); ++n) {
    const IndexScan& scan = plan[n];
    std::string from = scan.prefix;
    if (!cursor.empty() && n == resume.scan) from.assign(resume.key).push_back('\0');  // the smallest key after it
    const std::string until = scan.prefix.empty() ? std::string() : key::PrefixEnd(scan.prefix);
    const bool outgoing = scan.family != Cf::kIn;
    RETURN_IF_ERROR(ScanRelationIndex(scan.family, from, until, filter.window, rev,
                                      [&](std::string_view k, const key::RelationIndexKey& entry, const IndexValue& v) {
      if (!StatusWanted(filter.statuses, v.status)) return true;
      if (filter.window && !Matches(v.bounds, *filter.window)) return true;
      // Decoded in place: a hit moved around costs a RelationRecord construction and swap
      // each time (2.7% of a busiest-entity Neighbors call, profiled).
      RelationHit& hit = page.hits.emplace_back();
      hit.outgoing = outgoing;
      if (need_summary && !BasicRelationOf(scan.family, entry, v, &hit.relation)) {
        inner = absl::DataLossError(absl::StrCat("unreadable summary in ", CfName(scan.family), " for relation ",
                                                 std::string(entry.rel_id)));
        return false;
      }
      const std::string& other_end = outgoing ? hit.relation.object_id() : hit.relation.subject();
      const bool other_ok = other_id.empty() ||
                            (resolve ? redirects_.Resolve(other_end, rev) == other_id : other_end == other_id);
      if (!other_ok) {
        page.hits.pop_back();
        return true;
      }
      bool have_record = false;  // read whole for the document check: FULL keeps it
      if (scan.needs_document_check) {
        RelationRecord rec;
        auto found = LoadExact(Cf::kRelations, entry.rel_id, entry.rev, &rec);
        if (!found.ok() || !*found) {
          inner = found.ok() ? absl::DataLossError(absl::StrCat("index points at missing relation ",
                                                                std::string(entry.rel_id)))
                             : found.status();
          return false;
        }
        if (std::none_of(rec.sources().begin(), rec.sources().end(),
                         [&](const Source& s) { return s.document_id() == filter.document_id; })) {
          page.hits.pop_back();
          return true;
        }
        if (view == View::kFull) {
          hit.relation = std::move(rec);
          have_record = true;
        }
      }
      if (static_cast<int>(page.hits.size()) > limit) {
        page.hits.pop_back();
        page.next_cursor = EncodeScanCursor(last);  // one more match exists: the page is full
        return false;
      }
      if (view == View::kFull && !have_record) {  // read below, all at once
        record_slots.push_back(page.hits.size() - 1);
        record_keys.push_back(key::Version(entry.rel_id, entry.rev));
      }
      last.scan = n;
      last.key.assign(k);
      return true;
    }));
    RETURN_IF_ERROR(inner);
  }
  if (view == View::kFull) {
    std::vector<google::protobuf::Message*> records;
    for (size_t slot : record_slots) records.push_back(&page.hits[slot].relation);
    RETURN_IF_ERROR(LoadExactMany(Cf::kRelations, record_keys, records));
  }
  if (resolve)
    for (RelationHit& hit : page.hits) ResolveEnds(rev, &hit.relation);
  return page;
}

absl::StatusOr<EntityPage> Store::SearchEntities(std::string_view query, std::string_view kind,
                                                 int64_t rev, std::string_view cursor, int limit) {
  const std::string folded = FoldName(query);
  ASSIGN_OR_RETURN(std::string from, ScanStart(folded, cursor));
  const std::string until = folded.empty() ? std::string() : key::PrefixEnd(folded);
  EntityPage page;
  std::string last_key;
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(until);
  if (!until.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kNames)));
  for (it->Seek(from); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const auto name = key::ParseName(k);
    if (!name || it->value().size() != 8) return absl::DataLossError("malformed names entry");
    if (name->rev > rev) continue;  // written after the revision read
    if (static_cast<int64_t>(key::ReadU64(std::string_view(it->value().data(), 8))) <= rev) continue;  // replaced
    EntityRecord rec;
    if (redirects_.empty()) {
      ASSIGN_OR_RETURN(bool found, LoadExact(Cf::kEntities, name->entity_id, name->rev, &rec));
      if (!found)
        return absl::DataLossError(absl::StrCat("name index points at missing entity ", std::string(name->entity_id)));
    } else {
      // Through merges: a merged entity's names find its survivor, which answers with
      // every name of its group (store_merges.cc).
      ASSIGN_OR_RETURN(std::optional<EntityRecord> view, GetEntity(name->entity_id, rev));
      if (!view)
        return absl::DataLossError(absl::StrCat("name index points at missing entity ", std::string(name->entity_id)));
      rec = std::move(*view);
      rec.clear_redirected_from();
    }
    if (!kind.empty() && rec.kind() != kind) continue;
    // An entity matching through several terms is returned at the smallest one only, and
    // a group of merged entities at the first of its ids that has that term.
    std::string smallest(name->term);
    for (const std::string& n : [&] {
           std::vector<std::string> names(rec.aliases().begin(), rec.aliases().end());
           names.push_back(rec.label());
           return names;
         }())
      for (const std::string& t : NameTerms(n))
        if (t.compare(0, folded.size(), folded) == 0 && t < smallest) smallest = t;
    if (smallest != name->term) continue;
    if (rec.merged_ids_size() > 0) {
      ASSIGN_OR_RETURN(std::string first, FirstWithTerm(rec, smallest, rev));
      if (first != name->entity_id) continue;
    }
    if (static_cast<int>(page.entities.size()) == limit) {
      page.next_cursor = last_key;
      break;
    }
    page.entities.push_back(std::move(rec));
    last_key.assign(k);
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return page;
}

}  // namespace annals::storage
