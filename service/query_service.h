// QueryService: the read RPCs of proto/annals/v1/query.proto.
#pragma once

#include "annals/v1/query.grpc.pb.h"
#include "absl/time/time.h"
#include "service/arena_messages.h"
#include "service/call_support.h"

namespace annals::service {

// Server-side bounds of the graph queries (flags --query-*).
struct QueryLimits {
  int max_depth = 6;
  int max_fan_out = 1000;
  int max_results = 10'000;
  int64_t max_steps = 2'000'000;
  // Applied when the caller's deadline is later, or absent.
  absl::Duration default_deadline = absl::Seconds(10);
};

class QueryServiceImpl final : public v1::QueryService::CallbackService {
 public:
  explicit QueryServiceImpl(const StoreSlot* slot, QueryLimits limits = {}) : slot_(slot), limits_(limits) {
    // The list reads build hundreds of small messages per call: on an arena (arena_messages.h).
    SetMessageAllocatorFor_Neighbors(&neighbors_messages_);
    SetMessageAllocatorFor_ListRelations(&list_relations_messages_);
    SetMessageAllocatorFor_Traverse(&traverse_messages_);
  }

  grpc::ServerUnaryReactor* GetEntity(grpc::CallbackServerContext* ctx,
                                      const v1::GetEntityRequest* request,
                                      v1::Entity* response) override;
  grpc::ServerUnaryReactor* BatchGetEntities(grpc::CallbackServerContext* ctx,
                                             const v1::BatchGetEntitiesRequest* request,
                                             v1::BatchGetEntitiesResponse* response) override;
  grpc::ServerUnaryReactor* SearchEntities(grpc::CallbackServerContext* ctx,
                                           const v1::SearchEntitiesRequest* request,
                                           v1::SearchEntitiesResponse* response) override;
  grpc::ServerUnaryReactor* GetRelation(grpc::CallbackServerContext* ctx,
                                        const v1::GetRelationRequest* request,
                                        v1::Relation* response) override;
  grpc::ServerUnaryReactor* GetDocument(grpc::CallbackServerContext* ctx, const v1::GetDocumentRequest* request,
                                        v1::Document* response) override;
  grpc::ServerUnaryReactor* ListDocuments(grpc::CallbackServerContext* ctx, const v1::ListDocumentsRequest* request,
                                          v1::ListDocumentsResponse* response) override;
  grpc::ServerUnaryReactor* ListRelations(grpc::CallbackServerContext* ctx,
                                          const v1::ListRelationsRequest* request,
                                          v1::ListRelationsResponse* response) override;
  grpc::ServerUnaryReactor* Neighbors(grpc::CallbackServerContext* ctx,
                                      const v1::NeighborsRequest* request,
                                      v1::NeighborsResponse* response) override;

  // Graph queries: service/graph_query_service.cc.
  grpc::ServerUnaryReactor* Traverse(grpc::CallbackServerContext* ctx, const v1::TraverseRequest* request,
                                     v1::TraverseResponse* response) override;
  grpc::ServerUnaryReactor* FindPaths(grpc::CallbackServerContext* ctx, const v1::FindPathsRequest* request,
                                      v1::FindPathsResponse* response) override;
  grpc::ServerUnaryReactor* Timeline(grpc::CallbackServerContext* ctx, const v1::TimelineRequest* request,
                                     v1::TimelineResponse* response) override;
  grpc::ServerUnaryReactor* Aggregate(grpc::CallbackServerContext* ctx, const v1::AggregateRequest* request,
                                      v1::AggregateResponse* response) override;
  grpc::ServerUnaryReactor* Conflicts(grpc::CallbackServerContext* ctx, const v1::ConflictsRequest* request,
                                      v1::ConflictsResponse* response) override;

 private:
  ArenaMessages<v1::NeighborsRequest, v1::NeighborsResponse> neighbors_messages_;
  ArenaMessages<v1::ListRelationsRequest, v1::ListRelationsResponse> list_relations_messages_;
  ArenaMessages<v1::TraverseRequest, v1::TraverseResponse> traverse_messages_;
  const StoreSlot* slot_;
  QueryLimits limits_;
};

}  // namespace annals::service
