#include "service/ingest_service.h"

#include "absl/strings/str_cat.h"
#include "service/ingest_stream.h"
#include "service/record_convert.h"
#include "service/write_path.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

template <typename Repeated>
absl::Status RequireItems(const Repeated& items, const char* field) {
  if (items.empty()) return BadField(field, "at least one is required");
  return absl::OkStatus();
}

// Codes that describe the request rather than the server: an Ingest ack reports them and
// the stream goes on.
bool IsRequestError(absl::StatusCode code) {
  return code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kAlreadyExists ||
         code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

absl::StatusOr<v1::IngestResponse> CommitIngestBatch(cluster::Committer& committer,
                                                     const v1::IngestRequest& batch,
                                                     int64_t batch_index) {
  v1::IngestResponse ack;
  ack.set_batch_index(batch_index);
  WriteOutcome outcome;
  if (batch.entities().empty() && batch.documents().empty() && batch.relations().empty()) {
    outcome.status = BadField("request", "the batch is empty");
  } else {
    outcome = CommitItems(committer, batch, batch.request_id(), batch.entities(), batch.documents(),
                          batch.relations());
  }
  if (!outcome.status.ok()) {
    if (!IsRequestError(outcome.status.code())) return outcome.status;
    for (const auto& e : ViolationsOf(outcome.status)) {
      auto* error = ack.add_errors();
      error->set_field(e.field);
      error->set_description(e.description);
    }
    return ack;
  }
  const storage::CommitResult& r = outcome.result;
  ack.set_revision(r.revision);
  ack.set_entities_written(r.entities_written);
  ack.set_documents_written(r.documents_written);
  ack.set_relations_written(r.relations_written);
  ack.set_unchanged_count(r.unchanged_count);
  ack.set_replayed(r.replayed);
  for (const auto& id : r.relation_ids) ack.add_relation_ids(id);
  return ack;
}

grpc::ServerUnaryReactor* IngestServiceImpl::UpsertEntities(grpc::CallbackServerContext* ctx,
                                                            const v1::UpsertEntitiesRequest* request,
                                                            v1::UpsertEntitiesResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    ASSIGN_OR_RETURN(cluster::Committer * writer, slot_->Writer());
    RETURN_IF_ERROR(RequireItems(request->entities(), "entities"));
    WriteOutcome w = CommitItems(*writer, *request, request->request_id(), request->entities(), {}, {});
    RETURN_IF_ERROR(w.status);
    response->set_revision(w.result.revision);
    response->set_written_count(w.result.written_count());
    response->set_unchanged_count(w.result.unchanged_count);
    for (const auto& id : w.result.entity_ids) {
      ASSIGN_OR_RETURN(auto entity, store->GetEntity(id, w.result.revision));
      if (entity) *response->add_entities() = ToApi(*entity);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IngestServiceImpl::PutDocuments(grpc::CallbackServerContext* ctx,
                                                          const v1::PutDocumentsRequest* request,
                                                          v1::PutDocumentsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    ASSIGN_OR_RETURN(cluster::Committer * writer, slot_->Writer());
    RETURN_IF_ERROR(RequireItems(request->documents(), "documents"));
    WriteOutcome w = CommitItems(*writer, *request, request->request_id(), {}, request->documents(), {});
    RETURN_IF_ERROR(w.status);
    response->set_revision(w.result.revision);
    response->set_written_count(w.result.written_count());
    response->set_unchanged_count(w.result.unchanged_count);
    for (const auto& id : w.result.document_ids) {
      ASSIGN_OR_RETURN(auto document, store->GetDocument(id, w.result.revision));
      if (document) *response->add_documents() = ToApi(*document);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IngestServiceImpl::PutRelations(grpc::CallbackServerContext* ctx,
                                                          const v1::PutRelationsRequest* request,
                                                          v1::PutRelationsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    ASSIGN_OR_RETURN(cluster::Committer * writer, slot_->Writer());
    RETURN_IF_ERROR(RequireItems(request->relations(), "relations"));
    WriteOutcome w = CommitItems(*writer, *request, request->request_id(), {}, {}, request->relations());
    RETURN_IF_ERROR(w.status);
    response->set_revision(w.result.revision);
    response->set_written_count(w.result.written_count());
    response->set_unchanged_count(w.result.unchanged_count);
    for (const auto& id : w.result.relation_ids) {
      ASSIGN_OR_RETURN(auto relation, store->GetRelation(id, w.result.revision));
      if (relation) *response->add_relations() = ToApi(*relation);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IngestServiceImpl::RetractRelation(grpc::CallbackServerContext* ctx,
                                                             const v1::RetractRelationRequest* request,
                                                             v1::Relation* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("id", request->id()));
    RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    if (request->reason().size() > kMaxTextBytes)
      return BadField("reason", absl::StrCat("longer than ", kMaxTextBytes, " bytes"));
    storage::WriteSet batch;
    batch.retractions.push_back({request->id(), request->reason()});
    batch.request_id = request->request_id();
    if (!batch.request_id.empty()) batch.fingerprint = Fingerprint(*request, {"request_id"});
    ASSIGN_OR_RETURN(cluster::Committer * writer, slot_->Writer());
    auto committed = writer->Commit(batch);
    if (!committed.ok()) return storage::RenameField(committed.status(), "retractions[0].id", "id");
    const storage::CommitResult& result = *committed;
    ASSIGN_OR_RETURN(auto relation, store->GetRelation(request->id(), result.revision));
    if (!relation) return absl::InternalError("the retracted relation cannot be read back");
    *response = ToApi(*relation);
    return absl::OkStatus();
  });
}

namespace {

// DeleteEntity and DeleteDocument: one deletion, committed alone; the answer sorts the
// relations the cascade touched into retracted and re-written ones.
template <typename Request>
absl::Status CommitDeletion(const StoreSlot& slot, const Request& request, storage::DeletionItem::Kind kind,
                            v1::DeleteResponse* response) {
  ASSIGN_OR_RETURN(storage::Store * store, slot.Get());
  RETURN_IF_ERROR(CheckId("id", request.id()));
  RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  storage::WriteSet batch;
  batch.deletions.push_back({kind, request.id(), request.cascade()});
  batch.request_id = request.request_id();
  if (!batch.request_id.empty()) batch.fingerprint = Fingerprint(request, {"request_id"});
  ASSIGN_OR_RETURN(cluster::Committer * writer, slot.Writer());
  auto committed = writer->Commit(batch);
  if (!committed.ok()) return storage::RenameField(committed.status(), "deletions[0].id", "id");
  // The tombstone must be among what was written (or replayed): a leader of an older build
  // drops a forwarded deletion it does not know and commits nothing, which must not read
  // as success.
  const auto& written = kind == storage::DeletionItem::ENTITY ? committed->entity_ids : committed->document_ids;
  if (std::find(written.begin(), written.end(), request.id()) == written.end())
    return absl::FailedPreconditionError(
        "the cluster's leader did not apply the deletion (an annalsd older than DeleteEntity/DeleteDocument?); "
        "upgrade every member, then retry");
  response->set_revision(committed->revision);
  for (const std::string& id : committed->relation_ids) {
    ASSIGN_OR_RETURN(auto relation, store->GetRelation(id, committed->revision));
    if (!relation) return absl::InternalError(absl::StrCat("relation '", id, "' of the cascade cannot be read back"));
    *(relation->retracted() ? response->add_retracted_relation_ids() : response->add_changed_relation_ids()) = id;
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* IngestServiceImpl::DeleteEntity(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteEntityRequest* request,
                                                          v1::DeleteResponse* response) {
  return Reply(ctx, [&] { return CommitDeletion(*slot_, *request, storage::DeletionItem::ENTITY, response); });
}

grpc::ServerUnaryReactor* IngestServiceImpl::DeleteDocument(grpc::CallbackServerContext* ctx,
                                                            const v1::DeleteDocumentRequest* request,
                                                            v1::DeleteResponse* response) {
  return Reply(ctx, [&] { return CommitDeletion(*slot_, *request, storage::DeletionItem::DOCUMENT, response); });
}

namespace {

// MergeEntities and UnmergeEntity: merges committed alone; the answer is `answer_id` as
// read at the revision written. `fields` names each merge's id in the request.
absl::Status CommitMerges(const StoreSlot& slot, const google::protobuf::Message& request,
                          const std::string& request_id, std::vector<storage::Merge> merges,
                          const std::vector<std::string>& fields, const std::string& answer_id,
                          v1::MergeResponse* response) {
  ASSIGN_OR_RETURN(storage::Store * store, slot.Get());
  RETURN_IF_ERROR(CheckRequestId(request_id));
  storage::WriteSet batch;
  batch.merges = std::move(merges);
  batch.request_id = request_id;
  if (!batch.request_id.empty()) batch.fingerprint = Fingerprint(request, {"request_id"});
  ASSIGN_OR_RETURN(cluster::Committer * writer, slot.Writer());
  auto committed = writer->Commit(batch);
  if (!committed.ok()) {
    absl::Status status = committed.status();
    for (size_t i = 0; i < fields.size(); ++i) {
      status = storage::RenameField(status, absl::StrCat("merges[", i, "].id"), fields[i]);
      status = storage::RenameField(status, absl::StrCat("merges[", i, "].into"), "survivor");
    }
    return status;
  }
  // As for a deletion: a leader of an older build drops merges it does not know.
  if (committed->entity_ids.size() != batch.merges.size())
    return absl::FailedPreconditionError(
        "the cluster's leader did not apply the merge (an annalsd older than MergeEntities?); upgrade every "
        "member, then retry");
  response->set_revision(committed->revision);
  ASSIGN_OR_RETURN(auto entity, store->GetEntity(answer_id, committed->revision));
  if (!entity) return absl::InternalError(absl::StrCat("entity '", answer_id, "' cannot be read back"));
  ToApi(*entity, response->mutable_entity());
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* IngestServiceImpl::MergeEntities(grpc::CallbackServerContext* ctx,
                                                           const v1::MergeEntitiesRequest* request,
                                                           v1::MergeResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckId("survivor", request->survivor()));
    RETURN_IF_ERROR(RequireItems(request->ids(), "ids"));
    std::vector<storage::Merge> merges;
    std::vector<std::string> fields;
    for (int i = 0; i < request->ids_size(); ++i) {
      fields.push_back(absl::StrCat("ids[", i, "]"));
      RETURN_IF_ERROR(CheckId(fields.back(), request->ids(i)));
      merges.push_back({request->ids(i), request->survivor()});
    }
    return CommitMerges(*slot_, *request, request->request_id(), std::move(merges), fields, request->survivor(),
                        response);
  });
}

grpc::ServerUnaryReactor* IngestServiceImpl::UnmergeEntity(grpc::CallbackServerContext* ctx,
                                                           const v1::UnmergeEntityRequest* request,
                                                           v1::MergeResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckId("id", request->id()));
    return CommitMerges(*slot_, *request, request->request_id(), {{request->id(), ""}}, {"id"}, request->id(),
                        response);
  });
}

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* IngestServiceImpl::Ingest(
    grpc::CallbackServerContext* ctx) {
  auto store = slot_->Writer();
  if (!store.ok()) {
    // A reactor that fails at once: the stream ends with UNAVAILABLE.
    class Refuse final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
     public:
      explicit Refuse(absl::Status s) { Finish(ToGrpc(s)); }
      void OnDone() override { delete this; }
    };
    return new Refuse(store.status());
  }
  return IngestStream::Start(*store);
}

}  // namespace annals::service
