#include "service/query_service.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/page_token.h"
#include "service/read_point.h"
#include "service/record_convert.h"
#include "service/relation_filter_parse.h"
#include "service/request_validation.h"
#include "service/write_path.h"
#include "storage/index_summary.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

constexpr int kDefaultSearchPage = 50;
constexpr int kDefaultListPage = 100;
constexpr int kDefaultNeighbors = 100;
constexpr int kMaxBatchGet = 1000;

void ReportRevision(grpc::CallbackServerContext* ctx, int64_t rev) {
  ctx->AddTrailingMetadata(kRevisionTrailer, std::to_string(rev));
}

// What a page token must match of its request: everything but the paging itself (and
// Neighbors' `limit`, the old name of page_size), how fresh the replica must be (a listing
// may go on from another replica, or with another mode), and the view (it changes what is
// said of each item, not which items or their order).
std::string PagedRequestDigest(const google::protobuf::Message& request) {
  return Fingerprint(request, {"page_token", "page_size", "limit", "consistency", "view"});
}

// The revision a paged read answers at: the token's when continuing (waited for, like
// as_of_revision: it was made by some replica of the cluster), else as_of_revision.
template <typename Request>
absl::StatusOr<PageToken> StartPage(const StoreSlot& slot, const grpc::CallbackServerContext& ctx,
                                    const Request& request) {
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(PageToken token, DecodePageToken(request.page_token(), PagedRequestDigest(request)));
    RETURN_IF_ERROR(AwaitConsistency(slot, ctx, request.consistency()));
    RETURN_IF_ERROR(AwaitRevision(slot, ctx, token.revision, "page_token"));
    ASSIGN_OR_RETURN(storage::Store * store, slot.Get());
    if (auto rev = store->ResolveRevision(token.revision); !rev.ok())
      return storage::FieldFailure(rev.status().code(), "page_token",
                                   absl::StrCat("made at revision ", token.revision, ", which cannot be read now (",
                                                rev.status().message(), "); start the listing again"));
    return token;
  }
  PageToken first;
  ASSIGN_OR_RETURN(first.revision, ReadRevision(slot, ctx, request.consistency(), request.as_of_revision()));
  return first;
}

// A storage listing's complaint about its cursor is about the request's page_token.
template <typename T>
absl::StatusOr<T> FromCursor(absl::StatusOr<T> listed) {
  if (!listed.ok()) return storage::RenameField(listed.status(), "cursor", "page_token");
  return listed;
}

std::string NextPageToken(const google::protobuf::Message& request, int64_t rev, const std::string& cursor) {
  if (cursor.empty()) return "";
  return EncodePageToken({rev, cursor}, PagedRequestDigest(request));
}

absl::Status CheckText(std::string_view field, const std::string& text) {
  if (text.size() > kMaxNameBytes)
    return BadField(field, absl::StrCat("longer than ", kMaxNameBytes, " bytes"));
  if (text.find('\0') != std::string::npos)
    return BadField(field, absl::StrCat("contains a NUL byte"));
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::GetEntity(grpc::CallbackServerContext* ctx,
                                                      const v1::GetEntityRequest* request,
                                                      v1::Entity* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("id", request->id()));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    ASSIGN_OR_RETURN(auto entity, store->GetEntity(request->id(), rev));
    if (!entity)
      return absl::NotFoundError(absl::StrCat("id: entity '", request->id(), "' does not exist at revision ", rev));
    *response = ToApi(*entity);
    ReportRevision(ctx, rev);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::BatchGetEntities(grpc::CallbackServerContext* ctx,
                                                             const v1::BatchGetEntitiesRequest* request,
                                                             v1::BatchGetEntitiesResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (request->ids_size() > kMaxBatchGet)
      return BadField("ids", absl::StrCat("at most ", kMaxBatchGet));
    for (int i = 0; i < request->ids_size(); ++i)
      RETURN_IF_ERROR(CheckId(absl::StrCat("ids[", i, "]"), request->ids(i)));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    std::vector<std::string> missing;
    for (const auto& id : request->ids()) {
      ASSIGN_OR_RETURN(auto entity, store->GetEntity(id, rev));
      if (entity)
        ToApi(*entity, response->add_entities());
      else
        missing.push_back(id);
    }
    if (!missing.empty())
      return absl::NotFoundError(absl::StrCat("ids: no entity ", absl::StrJoin(missing, ", "), " at revision ", rev));
    response->set_revision(rev);
    ReportRevision(ctx, rev);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::SearchEntities(grpc::CallbackServerContext* ctx,
                                                           const v1::SearchEntitiesRequest* request,
                                                           v1::SearchEntitiesResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckText("query", request->query()));
    RETURN_IF_ERROR(CheckText("kind", request->kind()));
    ASSIGN_OR_RETURN(int size, PageSize("page_size", request->page_size(), kDefaultSearchPage));
    ASSIGN_OR_RETURN(PageToken page, StartPage(*slot_, *ctx, *request));
    ASSIGN_OR_RETURN(storage::EntityPage found,
                     FromCursor(store->SearchEntities(request->query(), request->kind(), page.revision, page.cursor, size)));
    for (const auto& e : found.entities) ToApi(e, response->add_entities());
    response->set_next_page_token(NextPageToken(*request, page.revision, found.next_cursor));
    response->set_revision(page.revision);
    ReportRevision(ctx, page.revision);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetRelation(grpc::CallbackServerContext* ctx,
                                                        const v1::GetRelationRequest* request,
                                                        v1::Relation* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("id", request->id()));
    ASSIGN_OR_RETURN(storage::View view, ViewOf("view", request->view()));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    ASSIGN_OR_RETURN(auto relation, store->GetRelation(request->id(), rev));
    if (!relation)
      return absl::NotFoundError(absl::StrCat("id: relation '", request->id(), "' does not exist at revision ", rev));
    if (relation->retracted() && !request->show_retracted())
      return absl::NotFoundError(absl::StrCat("id: relation '", request->id(), "' was retracted at revision ",
                                              relation->revision(), " (show_retracted returns it)"));
    if (view == storage::View::kBasic) storage::ToBasic(&*relation);
    store->ResolveEnds(rev, &*relation);  // as every relation read shows it (store.h)
    *response = ToApi(*relation);
    ReportRevision(ctx, rev);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetDocument(grpc::CallbackServerContext* ctx,
                                                        const v1::GetDocumentRequest* request,
                                                        v1::Document* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("id", request->id()));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    ASSIGN_OR_RETURN(auto doc, store->GetDocument(request->id(), rev));
    if (!doc)
      return absl::NotFoundError(absl::StrCat("id: document '", request->id(), "' does not exist at revision ", rev));
    *response = ToApi(*doc);
    ReportRevision(ctx, rev);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListDocuments(grpc::CallbackServerContext* ctx,
                                                          const v1::ListDocumentsRequest* request,
                                                          v1::ListDocumentsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    ASSIGN_OR_RETURN(int size, PageSize("page_size", request->page_size(), kDefaultListPage));
    ASSIGN_OR_RETURN(PageToken page, StartPage(*slot_, *ctx, *request));
    ASSIGN_OR_RETURN(auto found, FromCursor(store->ListDocuments(page.revision, page.cursor, size)));
    for (const auto& d : found.first) ToApi(d, response->add_documents());
    response->set_next_page_token(NextPageToken(*request, page.revision, found.second));
    response->set_revision(page.revision);
    ReportRevision(ctx, page.revision);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListRelations(grpc::CallbackServerContext* ctx,
                                                          const v1::ListRelationsRequest* request,
                                                          v1::ListRelationsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
    ASSIGN_OR_RETURN(int size, PageSize("page_size", request->page_size(), kDefaultListPage));
    ASSIGN_OR_RETURN(storage::View view, ViewOf("view", request->view()));
    ASSIGN_OR_RETURN(PageToken page, StartPage(*slot_, *ctx, *request));
    ASSIGN_OR_RETURN(storage::RelationPage found, FromCursor(store->FindRelations(filter, page.revision, page.cursor, size, view)));
    for (const auto& hit : found.hits) ToApi(hit.relation, response->add_relations());
    response->set_next_page_token(NextPageToken(*request, page.revision, found.next_cursor));
    response->set_revision(page.revision);
    ReportRevision(ctx, page.revision);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::Neighbors(grpc::CallbackServerContext* ctx,
                                                      const v1::NeighborsRequest* request,
                                                      v1::NeighborsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("entity_id", request->entity_id()));
    ASSIGN_OR_RETURN(storage::RelationFilter query, RelationFilterOf(*request));
    if (request->limit() != 0 && request->page_size() != 0 && request->limit() != request->page_size())
      return BadField("limit", absl::StrCat("the old name of page_size; ", request->limit(),
                                                     " disagrees with page_size ", request->page_size()));
    ASSIGN_OR_RETURN(int size, request->page_size() != 0
                                   ? PageSize("page_size", request->page_size(), kDefaultNeighbors)
                                   : PageSize("limit", request->limit(), kDefaultNeighbors));
    ASSIGN_OR_RETURN(storage::View view, ViewOf("view", request->view()));
    ASSIGN_OR_RETURN(PageToken token, StartPage(*slot_, *ctx, *request));
    const int64_t rev = token.revision;
    ASSIGN_OR_RETURN(storage::RelationPage page, FromCursor(store->FindRelations(query, rev, token.cursor, size, view)));
    // The entity itself and each neighbour entity, each once, in one pass over the store
    // (one iterator: creating it cost as much as a seek). The entity's own existence is
    // checked here too, after the scan: at a fixed revision the order does not matter.
    absl::flat_hash_map<std::string, size_t> slot_of;
    std::vector<std::string> others = {query.entity_id};
    slot_of.emplace(query.entity_id, 0);
    bool self_is_neighbor = false;  // a relation from the entity to itself
    for (const auto& hit : page.hits) {
      const std::string& other = hit.outgoing ? hit.relation.object_id() : hit.relation.subject();
      self_is_neighbor |= other == query.entity_id;
      if (!other.empty() && slot_of.emplace(other, others.size()).second) others.push_back(other);
    }
    // FULL: whole entities. BASIC: the id, label and kind only, mostly from the label cache.
    std::vector<v1::Entity> entities(others.size());
    bool exists = false;
    if (view == storage::View::kFull) {
      ASSIGN_OR_RETURN(auto loaded, store->GetEntities(others, rev));
      exists = loaded[0].has_value();
      for (size_t i = 0; i < loaded.size(); ++i)
        if (loaded[i] && (i > 0 || self_is_neighbor)) ToApi(*loaded[i], &entities[i]);
    } else {
      ASSIGN_OR_RETURN(auto labels, store->GetLabels(others, rev));
      exists = labels[0].has_value();
      for (size_t i = 0; i < labels.size(); ++i) {
        if (!labels[i]) continue;
        entities[i].set_id(others[i]);
        entities[i].set_label(labels[i]->label);
        entities[i].set_kind(labels[i]->kind);
      }
    }
    if (!exists)
      return absl::NotFoundError(absl::StrCat("entity_id: entity '", query.entity_id, "' does not exist at revision ", rev));
    for (const auto& hit : page.hits) {
      auto* n = response->add_neighbors();
      ToApi(hit.relation, n->mutable_relation());
      n->set_direction(hit.outgoing ? v1::OUT : v1::IN);
      const std::string& other = hit.outgoing ? hit.relation.object_id() : hit.relation.subject();
      if (other.empty()) continue;  // a literal-valued relation has no entity at its far end
      *n->mutable_neighbor() = entities[slot_of.at(other)];
    }
    response->set_next_page_token(NextPageToken(*request, rev, page.next_cursor));
    response->set_revision(rev);
    response->set_truncated(!page.next_cursor.empty());
    ReportRevision(ctx, rev);
    return absl::OkStatus();
  });
}

}  // namespace annals::service
