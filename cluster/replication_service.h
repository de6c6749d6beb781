// The leader's side of Replication (cluster/replication.proto): commits a follower's
// forwarded write through the replica, and answers with Store::Commit's result. A replica
// that does not lead answers UNAVAILABLE in the outcome, naming the leader it knows; the
// follower then tries again or gives the client UNAVAILABLE.
#pragma once

#include "cluster/replica.h"
#include "cluster/replication.grpc.pb.h"

namespace annals::cluster {

class ReplicationService final : public v1::Replication::CallbackService {
 public:
  // The server registers the service before the database opens; the replica comes later.
  void SetReplica(Replica* replica) { replica_.store(replica, std::memory_order_release); }
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx, const v1::ForwardedCommit* request,
                                   v1::CommitOutcome* response) override;

 private:
  std::atomic<Replica*> replica_{nullptr};
};

// The WriteSet a forwarded proposal carries, and back.
v1::ForwardedCommit ToForwarded(const storage::WriteSet& batch);
storage::WriteSet FromForwarded(const v1::ForwardedCommit& forwarded);

}  // namespace annals::cluster
