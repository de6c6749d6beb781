// What every handler needs: the store (once open), call checks, and the reply helper.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "service/grpc_status.h"
#include "cluster/committer.h"
#include "cluster/read_barrier.h"
#include "storage/store.h"

namespace annals::service {

// The store the handlers serve from. The gRPC server starts before the database opens
// (so health can answer NOT_SERVING meanwhile); until Set, calls get UNAVAILABLE.
class StoreSlot {
 public:
  // The store reads go to, the committer writes go through (cluster/committer.h: the
  // store itself on a single node, the replicated log in a cluster), and what reads wait
  // for to be as fresh as they ask (cluster/read_barrier.h).
  void Set(storage::Store* store, cluster::Committer* committer, cluster::ReadBarrier* barrier) {
    committer_.store(committer, std::memory_order_release);
    barrier_.store(barrier, std::memory_order_release);
    store_.store(store, std::memory_order_release);
  }
  absl::StatusOr<storage::Store*> Get() const {
    storage::Store* store = store_.load(std::memory_order_acquire);
    if (store == nullptr) return absl::UnavailableError("the database is still opening; retry");
    return store;
  }
  absl::StatusOr<cluster::Committer*> Writer() const {
    cluster::Committer* committer = committer_.load(std::memory_order_acquire);
    if (committer == nullptr) return absl::UnavailableError("the database is still opening; retry");
    return committer;
  }
  absl::StatusOr<cluster::ReadBarrier*> Barrier() const {
    cluster::ReadBarrier* barrier = barrier_.load(std::memory_order_acquire);
    if (barrier == nullptr) return absl::UnavailableError("the database is still opening; retry");
    return barrier;
  }

 private:
  std::atomic<storage::Store*> store_{nullptr};
  std::atomic<cluster::Committer*> committer_{nullptr};
  std::atomic<cluster::ReadBarrier*> barrier_{nullptr};
};

// Refuses work whose caller has already given up (deadline passed or call cancelled).
inline absl::Status CheckCallAlive(grpc::CallbackServerContext* ctx) {
  if (ctx->IsCancelled()) return absl::CancelledError("the call was cancelled");
  if (ctx->deadline() < std::chrono::system_clock::now())
    return absl::DeadlineExceededError("the call's deadline passed before it was served");
  return absl::OkStatus();
}

// Runs `body` (returning absl::Status) and finishes the unary call with its status.
template <typename Body>
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx, Body&& body) {
  auto* reactor = ctx->DefaultReactor();
  absl::Status status = CheckCallAlive(ctx);
  if (status.ok()) status = body();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// Reads report the revision they answered at in this trailing metadata key, too.
inline constexpr char kRevisionTrailer[] = "annals-revision";

}  // namespace annals::service
