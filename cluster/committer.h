// Committer: where the service's writes go. On a single node, straight into the store
// (LocalCommitter); in a cluster, through the replicated log (cluster/replica.h: the leader
// appends, a follower forwards to the leader). The service validates requests the same way
// before either.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace annals::cluster {

class Committer {
 public:
  virtual ~Committer() = default;
  // Commits `batch` (Store::Commit's contract). After it returns OK, reads on this process
  // see the write: a follower waits until it has applied the entry itself.
  virtual absl::StatusOr<storage::CommitResult> Commit(const storage::WriteSet& batch) = 0;
};

class LocalCommitter final : public Committer {
 public:
  explicit LocalCommitter(storage::Store* store) : store_(store) {}
  absl::StatusOr<storage::CommitResult> Commit(const storage::WriteSet& batch) override {
    return store_->Commit(batch);
  }

 private:
  storage::Store* store_;
};

}  // namespace annals::cluster
