// DiffService: proto/annals/v1/diff.proto. DiffRevisions and Watch stream the change log
// (service/change_stream.h); DiffValidTimes compares two dates; GetHistory lists versions.
#pragma once

#include "annals/v1/diff.grpc.pb.h"
#include "service/call_support.h"
#include "service/change_stream.h"

namespace annals::service {

struct DiffLimits {
  // A live Watch that falls this many revisions behind is ended (0: never).
  int64_t watch_max_lag = 100'000;
  // DiffValidTimes examines at most this many relations per date.
  int max_diff_relations = 100'000;
};

class DiffServiceImpl final : public v1::DiffService::CallbackService {
 public:
  DiffServiceImpl(const StoreSlot* slot, WatchHub* hub, DiffLimits limits)
      : slot_(slot), hub_(hub), limits_(limits) {}

  grpc::ServerWriteReactor<v1::Change>* DiffRevisions(grpc::CallbackServerContext* ctx,
                                                      const v1::DiffRevisionsRequest* request) override;
  grpc::ServerUnaryReactor* DiffValidTimes(grpc::CallbackServerContext* ctx,
                                           const v1::DiffValidTimesRequest* request,
                                           v1::DiffValidTimesResponse* response) override;
  grpc::ServerWriteReactor<v1::Change>* Watch(grpc::CallbackServerContext* ctx,
                                              const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* GetHistory(grpc::CallbackServerContext* ctx, const v1::GetHistoryRequest* request,
                                       v1::GetHistoryResponse* response) override;

 private:
  const StoreSlot* slot_;
  WatchHub* hub_;
  DiffLimits limits_;
};

}  // namespace annals::service
