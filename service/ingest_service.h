// IngestService: the write RPCs of proto/annals/v1/ingest.proto.
#pragma once

#include "annals/v1/ingest.grpc.pb.h"
#include "service/call_support.h"

namespace annals::service {

class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  explicit IngestServiceImpl(const StoreSlot* slot) : slot_(slot) {}

  grpc::ServerUnaryReactor* UpsertEntities(grpc::CallbackServerContext* ctx,
                                           const v1::UpsertEntitiesRequest* request,
                                           v1::UpsertEntitiesResponse* response) override;
  grpc::ServerUnaryReactor* PutDocuments(grpc::CallbackServerContext* ctx,
                                         const v1::PutDocumentsRequest* request,
                                         v1::PutDocumentsResponse* response) override;
  grpc::ServerUnaryReactor* PutRelations(grpc::CallbackServerContext* ctx,
                                         const v1::PutRelationsRequest* request,
                                         v1::PutRelationsResponse* response) override;
  grpc::ServerUnaryReactor* RetractRelation(grpc::CallbackServerContext* ctx,
                                            const v1::RetractRelationRequest* request,
                                            v1::Relation* response) override;
  grpc::ServerUnaryReactor* DeleteEntity(grpc::CallbackServerContext* ctx, const v1::DeleteEntityRequest* request,
                                         v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* DeleteDocument(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteDocumentRequest* request,
                                           v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* MergeEntities(grpc::CallbackServerContext* ctx,
                                          const v1::MergeEntitiesRequest* request,
                                          v1::MergeResponse* response) override;
  grpc::ServerUnaryReactor* UnmergeEntity(grpc::CallbackServerContext* ctx,
                                          const v1::UnmergeEntityRequest* request,
                                          v1::MergeResponse* response) override;
  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* Ingest(
      grpc::CallbackServerContext* ctx) override;

 private:
  const StoreSlot* slot_;
};

// Commits one Ingest batch and builds its acknowledgement. A rejected batch gets an ack
// with errors; a failure of the store itself is returned as an error status.
absl::StatusOr<v1::IngestResponse> CommitIngestBatch(cluster::Committer& committer,
                                                     const v1::IngestRequest& batch,
                                                     int64_t batch_index);

}  // namespace annals::service
