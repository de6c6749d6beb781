// Reads through merges (issue #21; storage/redirects.h): which entity an id stands for at a
// revision, what a survivor shows of the entities merged into it, and a relation's ends as
// a resolving read shows them. Merges are resolved when read, never by rewriting what was
// written: docs/api.md ("Merging entities") says why.
#include <rocksdb/db.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "storage/index_entries.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {

std::string Store::ResolveEntityId(std::string_view id, int64_t rev) const {
  if (redirects_.empty()) return std::string(id);
  return redirects_.Resolve(id, rev);
}

std::vector<std::string> Store::MergedInto(std::string_view survivor, int64_t rev) const {
  if (redirects_.empty()) return {};
  return redirects_.Members(survivor, rev);
}

void Store::ResolveEnds(int64_t rev, RelationRecord* relation) const {
  if (redirects_.empty()) return;
  std::string subject = redirects_.Resolve(relation->subject(), rev);
  if (subject != relation->subject()) {
    relation->set_written_subject(relation->subject());
    relation->set_subject(std::move(subject));
  }
  if (relation->object_case() != RelationRecord::kObjectId) return;
  std::string object = redirects_.Resolve(relation->object_id(), rev);
  if (object != relation->object_id()) {
    relation->set_written_object(relation->object_id());
    relation->set_object_id(std::move(object));
  }
}

absl::StatusOr<std::optional<EntityRecord>> Store::LoadEntityAsWritten(std::string_view id, int64_t rev) {
  EntityRecord rec;
  ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kEntities, id, rev, &rec));
  return found && !rec.deleted() ? std::optional<EntityRecord>(std::move(rec)) : std::nullopt;
}

absl::Status Store::AddMergedNames(EntityRecord* survivor, int64_t rev) {
  const std::vector<std::string> members = redirects_.Members(survivor->id(), rev);
  if (members.empty()) return absl::OkStatus();
  absl::flat_hash_set<std::string> names(survivor->aliases().begin(), survivor->aliases().end());
  names.insert(survivor->label());
  const auto add = [&](const std::string& name) {
    if (!name.empty() && names.insert(name).second) survivor->add_aliases(name);
  };
  for (const std::string& member : members) {
    survivor->add_merged_ids(member);
    EntityRecord rec;
    ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kEntities, member, rev, &rec));
    if (!found || rec.deleted())  // a merged entity cannot be deleted (store_commit.cc)
      return absl::DataLossError(absl::StrCat("entity '", member, "' is merged into '", survivor->id(),
                                              "' but has no version at revision ", rev));
    add(rec.label());
    for (const std::string& alias : rec.aliases()) add(alias);
  }
  return absl::OkStatus();
}

absl::Status Store::LoadRedirects() {
  redirects_.Clear();
  rocksdb::ReadOptions ro = TotalOrderRead();
  const std::string until = key::PrefixEnd(key::kRedirectPrefix);
  rocksdb::Slice upper(until);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kMeta)));
  // Keys come by id, then revision ascending: the order Redirects::Record needs.
  for (it->Seek(key::kRedirectPrefix); it->Valid(); it->Next()) {
    const auto parsed = key::ParseRedirect(std::string_view(it->key().data(), it->key().size()));
    if (!parsed) return absl::DataLossError("malformed redirect key in meta");
    redirects_.Record(std::string(parsed->entity_id), parsed->rev, it->value().ToString());
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::string> Store::FirstWithTerm(const EntityRecord& survivor, const std::string& term,
                                                int64_t rev) {
  std::vector<std::string> group(survivor.merged_ids().begin(), survivor.merged_ids().end());
  group.push_back(survivor.id());
  std::sort(group.begin(), group.end());
  for (const std::string& id : group) {
    EntityRecord rec;
    ASSIGN_OR_RETURN(bool found, LoadVersion(Cf::kEntities, id, rev, &rec));
    if (!found) continue;
    if (EntityTerms(rec).contains(term)) return id;
  }
  return survivor.id();
}

}  // namespace annals::storage
