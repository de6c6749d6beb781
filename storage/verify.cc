// VerifyDatabase (verify.h). The index keys of a record version are re-derived here from
// key_codec.h's layout rather than shared with store_commit.cc, so a bug in the committer's
// key building shows up as a disagreement instead of being repeated by the checker.
#include "storage/verify.h"

#include <rocksdb/db.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/index_summary.h"
#include "storage/key_codec.h"
#include "storage/rocks_options.h"
#include "storage/name_folding.h"
#include "storage/record.pb.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/valid_time.h"

namespace annals::storage {
namespace {

std::string Escaped(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string Quoted(std::string_view s) { return absl::StrCat("\"", Escaped(s), "\""); }

std::string DayText(int64_t day) {
  if (day == kMinusInfinity) return "-inf";
  if (day == kPlusInfinity) return "+inf";
  const CivilDay c = CivilOf(day);
  return absl::StrCat(c.year, "-", c.month, "-", c.day);
}

std::string RevText(int64_t rev) { return rev == kOpen ? std::string("open") : absl::StrCat(rev); }

// A readable rendering of an index key: its fields when it parses, escaped bytes otherwise.
std::string DescribeKey(Cf family, std::string_view k) {
  std::vector<std::string> parts;
  if (family == Cf::kNames) {
    const auto name = key::ParseName(k);
    if (!name) return absl::StrCat(CfName(family), " key ", Quoted(k));
    return absl::StrCat("names[term ", Quoted(name->term), ", entity ", Quoted(name->entity_id), " @", name->rev, "]");
  }
  const auto entry = key::ParseRelationIndex(family, k);
  if (!entry) return absl::StrCat(CfName(family), " key ", Quoted(k));
  if (family == Cf::kOut) parts.push_back(absl::StrCat("subject ", Quoted(entry->entity)));
  if (family == Cf::kIn) parts.push_back(absl::StrCat("object ", Quoted(entry->entity)));
  if (family == Cf::kByDocument) parts.push_back(absl::StrCat("document ", Quoted(entry->document)));
  if (!entry->predicate.empty()) parts.push_back(absl::StrCat("predicate ", Quoted(entry->predicate)));
  if (InfoOf(family).tiered) {
    parts.push_back(absl::StrCat("tier ", entry->tier));
    parts.push_back(absl::StrCat("s_lo ", DayText(entry->s_lo)));
  }
  parts.push_back(absl::StrCat("relation ", Quoted(entry->rel_id), " @", entry->rev));
  return absl::StrCat(CfName(family), "[", absl::StrJoin(parts, ", "), "]");
}

std::string DescribeValue(const IndexValue& v) {
  return absl::StrCat("rev_removed ", RevText(v.rev_removed), ", start ", DayText(v.bounds.s_lo), "..",
                      DayText(v.bounds.s_hi), ", end ", DayText(v.bounds.e_lo), "..", DayText(v.bounds.e_hi),
                      ", status ", v.status);
}

// The index keys of one relation version (key_codec.h): out, in (entity objects only),
// by_predicate, by_time, and by_document once per cited document.
std::vector<std::pair<Cf, std::string>> RelationIndexKeys(const RelationRecord& r, const TimeBounds& b) {
  std::vector<std::pair<Cf, std::string>> keys;
  const int64_t rev = r.revision();
  keys.emplace_back(Cf::kOut, key::Out(r.subject(), r.predicate(), b, r.id(), rev));
  if (r.object_case() == RelationRecord::kObjectId)
    keys.emplace_back(Cf::kIn, key::In(r.object_id(), r.predicate(), b, r.id(), rev));
  keys.emplace_back(Cf::kByPredicate, key::ByPredicate(r.predicate(), b, r.id(), rev));
  keys.emplace_back(Cf::kByTime, key::ByTime(b, r.id(), rev));
  std::set<std::string> documents;
  for (const auto& s : r.sources()) documents.insert(s.document_id());
  for (const auto& d : documents) keys.emplace_back(Cf::kByDocument, key::ByDocument(d, r.id(), rev));
  return keys;
}

std::set<std::string> EntityTerms(const EntityRecord& e) {
  std::set<std::string> terms;
  for (auto& t : NameTerms(e.label())) terms.insert(std::move(t));
  for (const auto& alias : e.aliases())
    for (auto& t : NameTerms(alias)) terms.insert(std::move(t));
  return terms;
}

// A record's content without what the committer stamps, in one stable byte form (map
// entries in key order), to compare what the log says was written with what is stored.
template <typename Record>
std::string Content(Record r) {
  r.clear_revision();
  r.clear_recorded_at_micros();
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    r.SerializeToCodedStream(&coded);
  }
  return out;
}

bool SameBounds(const TimeBounds& a, const TimeBounds& b) {
  return a.s_lo == b.s_lo && a.s_hi == b.s_hi && a.e_lo == b.e_lo && a.e_hi == b.e_hi;
}

// One record version found by (id, rev), with its neighbours in history.
template <typename Record>
struct Found {
  bool exists = false;
  bool parsed = false;
  Record record;
  int64_t next_rev = kOpen;  // the next newer version's revision, or open
  int64_t prev_rev = 0;      // the next older version's revision, or 0
};

std::string ChangeKey(Cf family, std::string_view id, int64_t rev) {
  std::string k(1, static_cast<char>(family));
  k.append(id);
  k.push_back('\0');
  key::AppendU64(&k, static_cast<uint64_t>(rev));
  return k;
}

class Verifier {
 public:
  Verifier(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles, const VerifyOptions& options)
      : db_(db), handles_(std::move(handles)), options_(options) {}

  absl::StatusOr<VerifyReport> Run() {
    if (auto s = ReadMeta(); !s.ok()) return s;
    if (auto s = CheckChanges(); !s.ok()) return s;
    if (auto s = CheckEntities(); !s.ok()) return s;
    if (auto s = CheckRedirects(); !s.ok()) return s;
    if (auto s = CheckDocuments(); !s.ok()) return s;
    if (auto s = CheckRelations(); !s.ok()) return s;
    for (Cf family : {Cf::kOut, Cf::kIn, Cf::kByPredicate, Cf::kByTime, Cf::kByDocument})
      if (auto s = CheckRelationIndex(family); !s.ok()) return s;
    if (auto s = CheckNames(); !s.ok()) return s;
    if (auto s = CheckRequests(); !s.ok()) return s;
    if (auto s = CheckLog(); !s.ok()) return s;
    if (report_.revision > 0 && max_version_rev_ != report_.revision)
      Problem(absl::StrCat("meta: revision is ", report_.revision, " but the newest record version is at revision ",
                           max_version_rev_));
    return report_;
  }

 private:
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[static_cast<int>(c)]; }

  void Problem(std::string what) {
    ++report_.problem_count;
    if (static_cast<int>(report_.problems.size()) < options_.max_reported) report_.problems.push_back(std::move(what));
  }

  std::unique_ptr<rocksdb::Iterator> Iter(Cf family) {
    return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(TotalOrderRead(), cf(family)));
  }

  absl::Status ReadMeta() {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), "format", &value);
    if (s.IsNotFound()) {
      Problem("meta: no format version (not written by Annals, or never opened by it)");
    } else if (!s.ok()) {
      return FromRocks(s);
    } else if (value.size() != 8 || key::ReadU64(value) != kFormatVersion) {
      return absl::FailedPreconditionError("meta: unknown format version; this build cannot check it");
    }
    for (const char* name : {"revision", "pruned_through", "next_relation", "position", "log_start"}) {
      s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), name, &value);
      if (s.IsNotFound()) continue;
      if (!s.ok()) return FromRocks(s);
      if (value.size() != 8) {
        Problem(absl::StrCat("meta: ", name, " is ", value.size(), " bytes, not 8"));
        continue;
      }
      const auto v = static_cast<int64_t>(key::ReadU64(value));
      if (v < 0) Problem(absl::StrCat("meta: ", name, " is negative (", v, ")"));
      if (std::string_view(name) == "revision") report_.revision = v;
      if (std::string_view(name) == "pruned_through") report_.pruned_through = v;
      if (std::string_view(name) == "next_relation" && v < 1) Problem("meta: next_relation is below 1");
      if (std::string_view(name) == "position") report_.position = v;
      if (std::string_view(name) == "log_start") log_start_ = v;
    }
    if (report_.pruned_through > report_.revision)
      Problem(absl::StrCat("meta: pruned_through ", report_.pruned_through, " is after the revision ",
                           report_.revision));
    return absl::OkStatus();
  }

  // Finds version (id, rev) of `family` and its neighbours.
  template <typename Record>
  absl::Status Lookup(Cf family, std::string_view id, int64_t rev, Found<Record>* out) {
    *out = Found<Record>();
    auto it = Iter(family);
    const std::string k = key::Version(id, rev);
    const std::string prefix = key::VersionPrefix(id);
    auto same_id = [&](const rocksdb::Slice& s) {
      return s.size() == prefix.size() + 8 && std::string_view(s.data(), prefix.size()) == prefix;
    };
    it->Seek(k);
    if (!it->Valid() || it->key() != rocksdb::Slice(k)) return FromRocks(it->status());
    out->exists = true;
    out->parsed = out->record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()));
    it->Next();
    if (it->Valid() && same_id(it->key()))
      out->prev_rev = key::VersionRevision(std::string_view(it->key().data(), it->key().size()));
    it->Seek(k);
    it->Prev();
    if (it->Valid() && same_id(it->key()))
      out->next_rev = key::VersionRevision(std::string_view(it->key().data(), it->key().size()));
    return FromRocks(it->status());
  }

  absl::Status CheckChanges() {
    const int64_t first_expected = report_.pruned_through + 1;
    int64_t previous = 0;
    int64_t previous_micros = 0;
    auto it = Iter(Cf::kChanges);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view k(it->key().data(), it->key().size());
      if (k.size() != 8) {
        Problem(absl::StrCat("changes: malformed key ", Quoted(k)));
        continue;
      }
      const auto rev = static_cast<int64_t>(key::ReadU64(k));
      ++report_.change_records;
      if (previous == 0) {
        if (rev < first_expected)
          Problem(absl::StrCat("changes: a record for revision ", rev, " survives behind the retention horizon ",
                               report_.pruned_through));
        else if (rev > first_expected)
          Problem(absl::StrCat("changes: no change record for revisions ", first_expected, "..", rev - 1,
                               " (the log should start at ", first_expected, ")"));
      } else if (rev != previous + 1) {
        Problem(absl::StrCat("changes: no change record for revision", rev - previous > 2 ? "s " : " ", previous + 1,
                             rev - previous > 2 ? absl::StrCat("..", rev - 1) : std::string()));
      }
      previous = rev;
      if (rev > report_.revision)
        Problem(absl::StrCat("changes: a record for revision ", rev, " is after the meta revision ", report_.revision));
      ChangeRecord record;
      if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        Problem(absl::StrCat("changes: the record of revision ", rev, " does not parse"));
        continue;
      }
      if (record.revision() != rev)
        Problem(absl::StrCat("changes: the record under revision ", rev, " says revision ", record.revision()));
      if (record.changes().empty()) Problem(absl::StrCat("changes: revision ", rev, " records no change"));
      if (record.recorded_at_micros() < previous_micros)
        Problem(absl::StrCat("changes: revision ", rev, " was recorded before revision ", rev - 1));
      previous_micros = record.recorded_at_micros();
      for (int i = 0; i < record.changes_size(); ++i) {
        if (auto s = CheckChangeEntry(rev, i, record.changes(i)); !s.ok()) return s;
      }
    }
    if (auto s = FromRocks(it->status()); !s.ok()) return s;
    if (report_.revision > 0 && previous != report_.revision)
      Problem(previous == 0 ? absl::StrCat("changes: the change log is empty but the meta revision is ",
                                           report_.revision)
                            : absl::StrCat("changes: the log ends at revision ", previous,
                                           " but the meta revision is ", report_.revision));
    return absl::OkStatus();
  }

  absl::Status CheckChangeEntry(int64_t rev, int index, const ChangeEntry& entry) {
    const std::string where = absl::StrCat("changes: revision ", rev, " entry ", index, " (",
                                           ChangeEntry::Kind_Name(entry.kind()), " ", Quoted(entry.id()), ")");
    Cf family;
    switch (entry.kind()) {
      case ChangeEntry::ENTITY_UPSERTED:
      case ChangeEntry::ENTITY_MERGED:
      case ChangeEntry::ENTITY_UNMERGED:
      case ChangeEntry::ENTITY_DELETED: family = Cf::kEntities; break;
      case ChangeEntry::DOCUMENT_PUT:
      case ChangeEntry::DOCUMENT_DELETED: family = Cf::kDocuments; break;
      case ChangeEntry::RELATION_PUT:
      case ChangeEntry::RELATION_RETRACTED: family = Cf::kRelations; break;
      default: Problem(absl::StrCat(where, ": unknown kind")); return absl::OkStatus();
    }
    if (!changed_.insert(ChangeKey(family, entry.id(), rev)).second) {
      Problem(absl::StrCat(where, ": the same record appears twice in one revision"));
      return absl::OkStatus();
    }
    bool exists = false, parsed = false, retracted = false, tombstone = false;
    int64_t prev_rev = 0;
    if (family == Cf::kRelations) {
      Found<RelationRecord> f;
      if (auto s = Lookup(family, entry.id(), rev, &f); !s.ok()) return s;
      exists = f.exists, parsed = f.parsed, retracted = f.record.retracted(), prev_rev = f.prev_rev;
    } else if (family == Cf::kEntities) {
      Found<EntityRecord> f;
      if (auto s = Lookup(family, entry.id(), rev, &f); !s.ok()) return s;
      exists = f.exists, parsed = f.parsed, prev_rev = f.prev_rev, tombstone = f.record.deleted();
    } else {
      Found<DocumentRecord> f;
      if (auto s = Lookup(family, entry.id(), rev, &f); !s.ok()) return s;
      exists = f.exists, parsed = f.parsed, prev_rev = f.prev_rev, tombstone = f.record.deleted();
    }
    if (!exists) {
      Problem(absl::StrCat(where, ": ", CfName(family), " has no version of it at revision ", rev));
      return absl::OkStatus();
    }
    if (!parsed) return absl::OkStatus();  // reported by the record pass
    if (entry.kind() == ChangeEntry::RELATION_PUT && retracted)
      Problem(absl::StrCat(where, ": the version written is a retraction"));
    if (entry.kind() == ChangeEntry::RELATION_RETRACTED && !retracted)
      Problem(absl::StrCat(where, ": the version written is not a retraction"));
    const bool deletion = entry.kind() == ChangeEntry::ENTITY_DELETED || entry.kind() == ChangeEntry::DOCUMENT_DELETED;
    if (family != Cf::kRelations && deletion != tombstone)
      Problem(absl::StrCat(where, deletion ? ": the version written is not a tombstone" : ": the version written is a tombstone"));
    if (entry.previous_revision() != prev_rev)
      Problem(absl::StrCat(where, ": previous_revision ", entry.previous_revision(),
                           " but the version before it is at revision ", prev_rev));
    return absl::OkStatus();
  }

  // The common checks of one version key of a record family; false when unusable.
  template <typename Record>
  bool CheckVersion(Cf family, std::string_view k, const rocksdb::Slice& value, Record* rec, std::string* id,
                    int64_t* rev) {
    if (k.size() < 9 || k[k.size() - 9] != '\0' || k.substr(0, k.size() - 9).find('\0') != std::string_view::npos) {
      Problem(absl::StrCat(CfName(family), ": malformed version key ", Quoted(k)));
      return false;
    }
    id->assign(k.substr(0, k.size() - 9));
    *rev = key::VersionRevision(k);
    const std::string where = absl::StrCat(CfName(family), ": ", Quoted(*id), " @", *rev);
    if (!rec->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      Problem(absl::StrCat(where, ": the record does not parse"));
      return false;
    }
    if (rec->id() != *id) Problem(absl::StrCat(where, ": the record says id ", Quoted(rec->id())));
    if (rec->revision() != *rev) Problem(absl::StrCat(where, ": the record says revision ", rec->revision()));
    if (*rev < 1 || *rev > report_.revision)
      Problem(absl::StrCat(where, ": revision outside 1..", report_.revision, " (the meta revision)"));
    max_version_rev_ = std::max(max_version_rev_, *rev);
    if (*rev > report_.pruned_through && !changed_.contains(ChangeKey(family, *id, *rev)))
      Problem(absl::StrCat(where, ": written at revision ", *rev, " but its change record does not list it"));
    return true;
  }

  // Walks a record family; `each(record, next_rev)` sees every parsed version, newest first per id.
  template <typename Record, typename Each>
  absl::Status WalkRecords(Cf family, int64_t* count, Each&& each) {
    auto it = Iter(family);
    std::string last_id;
    int64_t last_rev = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++*count;
      const std::string_view k(it->key().data(), it->key().size());
      Record rec;
      std::string id;
      int64_t rev = 0;
      if (!CheckVersion(family, k, it->value(), &rec, &id, &rev)) {
        last_id.clear();
        continue;
      }
      const int64_t next_rev = id == last_id ? last_rev : kOpen;
      last_id = id;
      last_rev = rev;
      if (auto s = each(rec, next_rev); !s.ok()) return s;
    }
    return FromRocks(it->status());
  }

  // A tombstone holds its id and nothing else; the revisions [tombstone, next version)
  // during which the record did not exist are kept, for the index checks.
  template <typename Record>
  void NoteTombstone(const Record& r, int64_t next_rev, const char* family,
                     std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>* deleted) {
    if (!r.deleted()) return;
    Record bare;
    bare.set_id(r.id());
    bare.set_deleted(true);
    bare.set_revision(r.revision());
    bare.set_recorded_at_micros(r.recorded_at_micros());
    if (Content(bare) != Content(r))
      Problem(absl::StrCat(family, ": ", Quoted(r.id()), " @", r.revision(), " is a tombstone with content"));
    (*deleted)[r.id()].emplace_back(r.revision(), next_rev);
  }

  // Whether `id` was deleted at some revision in [from, to) (`deleted` from NoteTombstone).
  static bool DeletedDuring(const std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>& deleted,
                            std::string_view id, int64_t from, int64_t to) {
    auto it = deleted.find(std::string(id));
    if (it == deleted.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](const auto& gone) { return gone.first < to && from < gone.second; });
  }

  absl::Status CheckDocuments() {
    return WalkRecords<DocumentRecord>(Cf::kDocuments, &report_.document_versions,
                                       [&](const DocumentRecord& d, int64_t next_rev) -> absl::Status {
      NoteTombstone(d, next_rev, "documents", &deleted_documents_);
      return absl::OkStatus();
    });
  }

  absl::Status CheckEntities() {
    return WalkRecords<EntityRecord>(Cf::kEntities, &report_.entity_versions,
                                     [&](const EntityRecord& e, int64_t next_rev) -> absl::Status {
      NoteTombstone(e, next_rev, "entities", &deleted_entities_);
      NoteRedirect(e, next_rev);
      for (const auto& term : EntityTerms(e)) {
        const std::string k = key::Name(term, e.id(), e.revision());
        std::string value;
        rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kNames), k, &value);
        if (s.IsNotFound())
          Problem(absl::StrCat("entities: ", Quoted(e.id()), " @", e.revision(), " has no names entry ",
                               DescribeKey(Cf::kNames, k)));
        else if (!s.ok())
          return FromRocks(s);
      }
      return absl::OkStatus();
    });
  }

  // The redirect keys a merge or unmerge writes (storage/redirects.h), derived from the
  // entity versions on their own: a version that sets merged_into, and the version after
  // one that had it (versions come newest first, so that one was seen just before).
  void NoteRedirect(const EntityRecord& e, int64_t next_rev) {
    const std::string where = absl::StrCat("entities: ", Quoted(e.id()), " @", e.revision());
    if (!e.redirected_from().empty() || e.merged_ids_size() > 0)
      Problem(absl::StrCat(where, " stores what only a read adds (redirected_from, merged_ids)"));
    if (!e.merged_into().empty()) {
      expected_redirects_[key::Redirect(e.id(), e.revision())] = e.merged_into();
      if (e.merged_into() == e.id()) Problem(absl::StrCat(where, " is merged into itself"));
      if (next_rev != kOpen && !newer_merged_)  // the version after it is an unmerge or a tombstone
        expected_redirects_.try_emplace(key::Redirect(e.id(), next_rev), "");
    }
    newer_merged_ = !e.merged_into().empty();
  }

  absl::Status CheckRedirects() {
    const std::string until = key::PrefixEnd(key::kRedirectPrefix);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(until);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kMeta)));
    std::set<std::string> seen;
    for (it->Seek(key::kRedirectPrefix); it->Valid(); it->Next()) {
      const std::string k = it->key().ToString();
      const auto parsed = key::ParseRedirect(k);
      if (!parsed) {
        Problem(absl::StrCat("meta: malformed redirect key ", Quoted(k)));
        continue;
      }
      seen.insert(k);
      const std::string where = absl::StrCat("meta: redirect of ", Quoted(parsed->entity_id), " @", parsed->rev);
      auto expected = expected_redirects_.find(k);
      if (expected == expected_redirects_.end())
        Problem(absl::StrCat(where, " has no entity version that merges or unmerges it"));
      else if (expected->second != it->value().ToString())
        Problem(absl::StrCat(where, " says ", Quoted(it->value().ToString()), " but the version says ",
                             Quoted(expected->second)));
    }
    for (const auto& [k, target] : expected_redirects_)
      if (!seen.contains(k)) {
        const auto parsed = key::ParseRedirect(k);
        Problem(absl::StrCat("entities: ", Quoted(parsed->entity_id), " @", parsed->rev,
                             target.empty() ? " ends a merge" : " is merged", " but meta has no redirect key for it"));
      }
    return FromRocks(it->status());
  }

  absl::Status CheckRelations() {
    return WalkRecords<RelationRecord>(Cf::kRelations, &report_.relation_versions,
                                       [&](const RelationRecord& r, int64_t) -> absl::Status {
      const std::string where = absl::StrCat("relations: ", Quoted(r.id()), " @", r.revision());
      if (r.subject().empty() || r.predicate().empty()) Problem(absl::StrCat(where, ": no subject or predicate"));
      if (!r.written_subject().empty() || !r.written_object().empty())
        Problem(absl::StrCat(where, ": stores what only a read adds (written_subject, written_object)"));
      auto bounds = BoundsOf(r.valid());
      if (!bounds.ok()) {
        Problem(absl::StrCat(where, ": stored valid time is invalid: ", bounds.status().message()));
        return absl::OkStatus();
      }
      if (r.retracted()) return absl::OkStatus();  // a retraction has no index entries
      for (const auto& [family, k] : RelationIndexKeys(r, *bounds)) {
        std::string value;
        rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(family), k, &value);
        if (s.IsNotFound())
          Problem(absl::StrCat(where, ": missing index entry ", DescribeKey(family, k)));
        else if (!s.ok())
          return FromRocks(s);
      }
      return absl::OkStatus();
    });
  }

  absl::Status CheckRelationIndex(Cf family) {
    auto it = Iter(family);
    Found<RelationRecord> cached;
    std::string cached_id;
    int64_t cached_rev = -1;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.index_entries;
      const std::string_view k(it->key().data(), it->key().size());
      const std::string what = DescribeKey(family, k);
      const auto entry = key::ParseRelationIndex(family, k);
      if (!entry) {
        Problem(absl::StrCat(CfName(family), ": malformed key ", Quoted(k)));
        continue;
      }
      const auto value = DecodeIndexValue(std::string_view(it->value().data(), it->value().size()));
      if (!value) {
        Problem(absl::StrCat(what, ": malformed value (", it->value().size(), " bytes, fewer than ",
                             kIndexValueFixedBytes, ")"));
        continue;
      }
      if (entry->rel_id != cached_id || entry->rev != cached_rev) {
        if (auto s = Lookup(Cf::kRelations, entry->rel_id, entry->rev, &cached); !s.ok()) return s;
        cached_id.assign(entry->rel_id);
        cached_rev = entry->rev;
      }
      if (!cached.exists) {
        Problem(absl::StrCat(what, ": points at relation ", Quoted(entry->rel_id), " @", entry->rev,
                             ", which does not exist"));
        continue;
      }
      if (!cached.parsed) continue;  // reported by the record pass
      const RelationRecord& r = cached.record;
      if (r.retracted()) {
        Problem(absl::StrCat(what, ": points at a retraction (", Quoted(r.id()), " @", r.revision(),
                             "), which has no index entries"));
        continue;
      }
      auto bounds = BoundsOf(r.valid());
      if (!bounds.ok()) continue;  // reported by the record pass
      const auto expected = RelationIndexKeys(r, *bounds);
      const bool expected_key = std::any_of(expected.begin(), expected.end(), [&](const auto& e) {
        return e.first == family && e.second == k;
      });
      if (!expected_key) {
        std::vector<std::string> own;
        for (const auto& [f, ek] : expected)
          if (f == family) own.push_back(DescribeKey(f, ek));
        Problem(absl::StrCat(what, ": does not agree with relation ", Quoted(r.id()), " @", r.revision(),
                             " (subject ", Quoted(r.subject()), ", predicate ", Quoted(r.predicate()),
                             "), whose entries here are ", absl::StrJoin(own, " and ")));
        continue;
      }
      // No relation may name an entity, or cite a document, while it is deleted.
      const std::string_view named = family == Cf::kByDocument ? entry->document : entry->entity;
      if ((family == Cf::kOut || family == Cf::kIn || family == Cf::kByDocument) &&
          DeletedDuring(family == Cf::kByDocument ? deleted_documents_ : deleted_entities_, named, entry->rev,
                        value->rev_removed))
        Problem(absl::StrCat(what, ": current while ", family == Cf::kByDocument ? "document " : "entity ",
                             Quoted(named), " is deleted"));
      const IndexValue want{cached.next_rev, *bounds, static_cast<int32_t>(r.status())};
      if (value->rev_removed != want.rev_removed || !SameBounds(value->bounds, want.bounds) ||
          value->status != want.status)
      {
        Problem(absl::StrCat(what, ": value (", DescribeValue(*value), ") disagrees with the record (",
                             DescribeValue(want), ")"));
        continue;
      }
      // The covering part: what a BASIC read answers from this entry must be the record's.
      RelationRecord basic;
      if (!BasicRelationOf(family, *entry, *value, &basic)) {
        Problem(absl::StrCat(what, ": the summary in its value does not parse"));
        continue;
      }
      RelationRecord expected_basic = r;
      ToBasic(&expected_basic);
      if (Content(basic) != Content(expected_basic))
        Problem(absl::StrCat(what, ": its summary (", basic.ShortDebugString(), ") disagrees with the record (",
                             expected_basic.ShortDebugString(), ")"));
    }
    return FromRocks(it->status());
  }

  absl::Status CheckNames() {
    auto it = Iter(Cf::kNames);
    Found<EntityRecord> cached;
    std::string cached_id;
    int64_t cached_rev = -1;
    std::set<std::string> terms;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.name_entries;
      const std::string_view k(it->key().data(), it->key().size());
      const std::string what = DescribeKey(Cf::kNames, k);
      const auto name = key::ParseName(k);
      if (!name) {
        Problem(absl::StrCat("names: malformed key ", Quoted(k)));
        continue;
      }
      if (it->value().size() != 8) {
        Problem(absl::StrCat(what, ": malformed value (", it->value().size(), " bytes, not 8)"));
        continue;
      }
      const auto rev_removed = static_cast<int64_t>(key::ReadU64(std::string_view(it->value().data(), 8)));
      if (name->entity_id != cached_id || name->rev != cached_rev) {
        if (auto s = Lookup(Cf::kEntities, name->entity_id, name->rev, &cached); !s.ok()) return s;
        cached_id.assign(name->entity_id);
        cached_rev = name->rev;
        terms = cached.parsed ? EntityTerms(cached.record) : std::set<std::string>();
      }
      if (!cached.exists) {
        Problem(absl::StrCat(what, ": points at entity ", Quoted(name->entity_id), " @", name->rev, ", which does not exist"));
        continue;
      }
      if (!cached.parsed) continue;
      const std::string_view term = name->term;
      if (!terms.contains(std::string(term)))
        Problem(absl::StrCat(what, ": ", Quoted(term), " is not a name term of entity ", Quoted(name->entity_id), " @",
                             name->rev, " (label ", Quoted(cached.record.label()), ")"));
      if (rev_removed != cached.next_rev)
        Problem(absl::StrCat(what, ": rev_removed ", RevText(rev_removed), " but the next version of the entity is ",
                             RevText(cached.next_rev)));
    }
    return FromRocks(it->status());
  }

  absl::Status CheckRequests() {
    auto it = Iter(Cf::kRequests);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.request_records;
      const std::string_view k(it->key().data(), it->key().size());
      RequestRecord seen;
      if (!seen.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        Problem(absl::StrCat("requests: the record of request ", Quoted(k), " does not parse"));
        continue;
      }
      if (seen.revision() < 0 || seen.revision() > report_.revision)
        Problem(absl::StrCat("requests: request ", Quoted(k), " answered revision ", seen.revision(),
                             ", outside 0..", report_.revision));
    }
    return FromRocks(it->status());
  }

  // The commit log against the data: positions gapless from meta log_start to meta
  // position, every entry readable, in a format this build knows, stamped in increasing
  // recorded time; every entry that wrote revision R has R's change record pointing back
  // at it, revisions follow each other, and each version R's change record names is the
  // entry's item (the same content; for a retraction, the entry's reason).
  absl::Status CheckLog() {
    auto it = Iter(Cf::kLog);
    int64_t expected = log_start_, last_revision = 0, last_micros = 0;
    std::string bytes;
    int64_t current = 0;
    auto check = [&]() -> absl::Status {
      LogEntry e;
      ++report_.log_entries;
      if (!e.ParseFromString(bytes)) {
        Problem(absl::StrCat("log: entry ", current, " does not parse"));
        return absl::OkStatus();
      }
      return CheckEntry(current, e, &last_revision, &last_micros);
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto k = key::ParseLog(std::string_view(it->key().data(), it->key().size()));
      if (!k) {
        Problem("log: a key is not position(8) | part(4)");
        continue;
      }
      if (k->position != current) {
        if (current != 0) RETURN_IF_ERROR(check());
        if (k->position != expected)
          Problem(absl::StrCat("log: entry ", k->position, " where entry ", expected, " was expected (a gap or a "
                               "stray entry)"));
        expected = k->position + 1;
        current = k->position;
        bytes.clear();
      }
      bytes.append(it->value().data(), it->value().size());
    }
    RETURN_IF_ERROR(FromRocks(it->status()));
    if (current != 0) RETURN_IF_ERROR(check());
    if (expected - 1 != report_.position && !(current == 0 && report_.position < log_start_))
      Problem(absl::StrCat("log: the last entry is ", expected - 1, " but meta position is ", report_.position));
    return absl::OkStatus();
  }

  absl::Status CheckEntry(int64_t position, const LogEntry& e, int64_t* last_revision, int64_t* last_micros) {
    const std::string where = absl::StrCat("log: entry ", position);
    if (e.position() != position) Problem(absl::StrCat(where, " says it is entry ", e.position()));
    if (e.format() == 0 || e.format() > kLogEntryFormat)
      Problem(absl::StrCat(where, " is in entry format ", e.format(), ", which this build cannot read"));
    if (e.recorded_at_micros() <= *last_micros)
      Problem(absl::StrCat(where, " was recorded no later than the entry before it"));
    *last_micros = e.recorded_at_micros();
    if (e.revision() == 0) return absl::OkStatus();
    if (*last_revision != 0 && e.revision() != *last_revision + 1)
      Problem(absl::StrCat(where, " wrote revision ", e.revision(), " after an entry that wrote ", *last_revision));
    *last_revision = e.revision();
    if (e.revision() <= report_.pruned_through) return absl::OkStatus();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kChanges), key::Change(e.revision()), &value);
    if (s.IsNotFound()) {
      Problem(absl::StrCat(where, " wrote revision ", e.revision(), ", which has no change record"));
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(FromRocks(s));
    ChangeRecord change;
    if (!change.ParseFromString(value)) return absl::OkStatus();  // reported by CheckChanges
    if (change.position() != position)
      Problem(absl::StrCat(where, ": the change record of revision ", e.revision(), " names entry ", change.position()));
    if (change.request_id() != e.request_id())
      Problem(absl::StrCat(where, ": request id ", Quoted(e.request_id()), " but revision ", e.revision(),
                           " records ", Quoted(change.request_id())));
    // What the entry says was written, against what is stored at that revision.
    std::map<std::pair<int, std::string>, std::string> items;  // (kind, id) -> canonical content or reason
    for (const auto& d : e.documents()) items[{ChangeEntry::DOCUMENT_PUT, d.id()}] = Content(d);
    for (const auto& x : e.entities()) items[{ChangeEntry::ENTITY_UPSERTED, x.id()}] = Content(x);
    for (auto r : e.relations()) {
      r.set_retracted(false);
      r.clear_retraction_reason();
      items[{ChangeEntry::RELATION_PUT, r.id()}] = Content(r);
    }
    for (const auto& r : e.retractions()) items[{ChangeEntry::RELATION_RETRACTED, r.id()}] = r.reason();
    for (const auto& d : e.deletions())
      items[{d.kind() == DeletionItem::ENTITY ? ChangeEntry::ENTITY_DELETED : ChangeEntry::DOCUMENT_DELETED, d.id()}] =
          "deleted";
    for (const auto& m : e.merges())
      items[{m.into().empty() ? ChangeEntry::ENTITY_UNMERGED : ChangeEntry::ENTITY_MERGED, m.id()}] = m.into();
    for (const ChangeEntry& c : change.changes()) {
      auto item = items.find({c.kind(), c.id()});
      if (item == items.end()) {
        Problem(absl::StrCat(where, " holds no item for ", ChangeEntry::Kind_Name(c.kind()), " ", Quoted(c.id()),
                             " of revision ", e.revision()));
        continue;
      }
      std::string stored;
      bool found = false;
      if (c.kind() == ChangeEntry::DOCUMENT_PUT) {
        Found<DocumentRecord> f;
        RETURN_IF_ERROR(Lookup(Cf::kDocuments, c.id(), e.revision(), &f));
        found = f.parsed, stored = Content(f.record);
      } else if (c.kind() == ChangeEntry::ENTITY_UPSERTED) {
        Found<EntityRecord> f;
        RETURN_IF_ERROR(Lookup(Cf::kEntities, c.id(), e.revision(), &f));
        found = f.parsed, stored = Content(f.record);
      } else if (c.kind() == ChangeEntry::ENTITY_MERGED || c.kind() == ChangeEntry::ENTITY_UNMERGED) {
        Found<EntityRecord> f;
        RETURN_IF_ERROR(Lookup(Cf::kEntities, c.id(), e.revision(), &f));
        found = f.parsed, stored = f.record.merged_into();
      } else if (c.kind() == ChangeEntry::ENTITY_DELETED || c.kind() == ChangeEntry::DOCUMENT_DELETED) {
        found = false;  // the tombstone itself is checked with the change log
      } else {
        Found<RelationRecord> f;
        RETURN_IF_ERROR(Lookup(Cf::kRelations, c.id(), e.revision(), &f));
        found = f.parsed;
        stored = c.kind() == ChangeEntry::RELATION_RETRACTED ? f.record.retraction_reason() : Content(f.record);
      }
      if (found && stored != item->second)
        Problem(absl::StrCat(where, ": ", ChangeEntry::Kind_Name(c.kind()), " ", Quoted(c.id()), " at revision ",
                             e.revision(), " differs from the entry's item"));
    }
    return absl::OkStatus();
  }

  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  VerifyOptions options_;
  int64_t log_start_ = 1;
  VerifyReport report_;
  absl::flat_hash_set<std::string> changed_;  // (family, id, rev) of every change-log entry
  // Per id, the revision ranges [tombstone, next version) it did not exist in.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> deleted_entities_, deleted_documents_;
  int64_t max_version_rev_ = 0;
  // Redirect keys the entity versions call for (NoteRedirect), by key: the target or "".
  std::map<std::string, std::string> expected_redirects_;
  bool newer_merged_ = false;  // the version NoteRedirect saw last had merged_into set
};

}  // namespace

std::string VerifyReport::Summary() const {
  std::string out;
  if (ok()) {
    absl::StrAppend(&out, "verify: OK: revision ", revision);
    if (pruned_through > 0) absl::StrAppend(&out, " (change log from ", pruned_through + 1, ")");
  } else {
    absl::StrAppend(&out, "verify: FAILED: ", problem_count, " problem(s) at revision ", revision);
  }
  absl::StrAppend(&out, "; ", entity_versions, " entity, ", document_versions, " document and ", relation_versions,
                  " relation versions, ", index_entries, " index entries, ", name_entries, " name entries, ",
                  change_records, " change records, ", request_records, " request records, ", log_entries,
                  " log entries (position ", position, ")\n");
  for (const auto& p : problems) absl::StrAppend(&out, "  ", p, "\n");
  if (problem_count > static_cast<int64_t>(problems.size()))
    absl::StrAppend(&out, "  ... and ", problem_count - static_cast<int64_t>(problems.size()), " more\n");
  return out;
}

absl::StatusOr<VerifyReport> VerifyDatabase(const std::string& path, const VerifyOptions& options) {
  rocksdb::Options db_options;
  std::vector<std::string> existing;
  if (auto s = rocksdb::DB::ListColumnFamilies(db_options, path, &existing); !s.ok())
    return absl::NotFoundError(absl::StrCat(path, ": not a database (", s.ToString(), ")"));
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const char* name = CfName(static_cast<Cf>(i));
    if (std::find(existing.begin(), existing.end(), name) == existing.end())
      return absl::FailedPreconditionError(
          static_cast<Cf>(i) == Cf::kLog
              ? absl::StrCat(path, ": an Annals database of format 1, before the commit log: start annalsd on it "
                                   "once (it upgrades it) and verify again")
              : absl::StrCat(path, ": not an Annals database (no column family '", name, "')"));
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  if (auto s = rocksdb::DB::OpenForReadOnly(db_options, path, families, &handles, &raw); !s.ok())
    return FromRocks(s);
  std::unique_ptr<rocksdb::DB> db(raw);
  Verifier verifier(db.get(), handles, options);
  auto report = verifier.Run();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  return report;
}

}  // namespace annals::storage
