// QueryService: the read RPCs of proto/annals/v1/query.proto.
#pragma once

#include "annals/v1/query.grpc.pb.h"
#include "service/call_support.h"

namespace annals::service {

class QueryServiceImpl final : public v1::QueryService::CallbackService {
 public:
  explicit QueryServiceImpl(const StoreSlot* slot) : slot_(slot) {}

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
  grpc::ServerUnaryReactor* ListRelations(grpc::CallbackServerContext* ctx,
                                          const v1::ListRelationsRequest* request,
                                          v1::ListRelationsResponse* response) override;
  grpc::ServerUnaryReactor* Neighbors(grpc::CallbackServerContext* ctx,
                                      const v1::NeighborsRequest* request,
                                      v1::NeighborsResponse* response) override;

 private:
  const StoreSlot* slot_;
};

}  // namespace annals::service
