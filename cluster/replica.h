// Replica: one Annals store kept in step with a cluster's commit log held by etcd
// (docs/cluster.md). Every replica follows the log; one of them, the leader, appends to it.
//
// etcd keys, under /annals/<cluster>/:
//   head            the position of the last entry appended, as decimal text. Created once
//                   (at the first member's position), never deleted, never trimmed.
//   log/<position>  one LogEntry (storage/record.proto), position as 20 decimal digits so
//                   the keys sort by position.
//   leader          "<node id> <advertise address>", bound to the leader's lease.
//   anchor          "<position> <digest>": the first member's last entry, which etcd does
//                   not hold (it may be a bulk load over etcd's request limit); a database
//                   joining at that position must have the same entry.
//   members/<node>  "<durable> <applied> <advertise address>", bound to the member's own
//                   lease and renewed every `publish_every`: the position it has made
//                   durable (Store::SyncLog), the one it has applied, where to reach it.
//
// Trimming: the leader deletes log/<p> for every p below the smallest durable position of
// the registered members and below the retention floor (at least `retain_entries`
// entries, and every entry younger than `retain_age`), then compacts etcd's history at
// the deletion's revision. A member gone longer than its lease no longer holds trimming
// back; when it returns, its next entry may be gone, and it must start from a copy of a
// member's database.
//
// Appending entry N+1 is one Txn: compare head == N; on success put log/N+1 and head = N+1.
// That compare is what makes two processes that both believe they lead unable to append two
// different entries N+1; the lease only decides who tries. The leader acknowledges a write
// only after its Txn succeeded and its own store applied the entry. A leader whose lease
// lapses stops acknowledging.
//
// Following: a replica applies entries strictly by position (Store::Apply). A watch on the
// log keys only wakes it; it reads what it lacks with Range, and reads the head at least
// every `poll` whatever the watch says, so a lost watch event delays it, never skips.
//
// Thread-safe. Commit calls are serialized.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cluster/cluster_keys.h"
#include "cluster/committer.h"
#include "cluster/etcd_client.h"
#include "cluster/read_barrier.h"
#include <grpcpp/security/credentials.h>

#include "cluster/replication.grpc.pb.h"
#include "storage/store.h"

namespace annals::cluster {

struct ReplicaOptions {
  EtcdOptions etcd;
  std::string cluster = "annals";  // the key prefix /annals/<cluster>/
  std::string node_id;             // unique in the cluster
  std::string advertise;           // where other replicas reach this one (host:port)
  absl::Duration lease_ttl = absl::Seconds(2);
  absl::Duration poll = absl::Milliseconds(200);
  // Entries read per Range while following (at most 64 x 1.4 MB in one answer).
  int fetch_batch = 64;
  // How a follower reaches the leader to forward writes: channel credentials (null:
  // plaintext) and a bearer token of write scope (empty: none), the replica's own.
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials;
  std::string peer_token;
  absl::Duration forward_timeout = absl::Seconds(10);
  // The largest entry the leader appends. etcd refuses requests over its
  // --max-request-bytes (1.5 MiB by default); an entry, its key and the head's update must
  // fit in one. A commit whose entry is larger is refused with INVALID_ARGUMENT naming both
  // sizes, and nothing is written: one RPC stays one revision (docs/cluster.md).
  int64_t max_entry_bytes = 1400 * 1024;
  // Membership and trimming (see above).
  absl::Duration member_ttl = absl::Seconds(10);
  absl::Duration publish_every = absl::Seconds(1);
  absl::Duration trim_every = absl::Seconds(10);
  int64_t retain_entries = 1000;
  absl::Duration retain_age = absl::Minutes(5);
};

struct ReplicaState {
  bool leader = false;
  std::string leader_id, leader_address;  // empty when unknown
  int64_t applied = 0;                    // the store's position
  int64_t head = -1;                      // etcd's head as last read (-1: never read)
  std::string failure;                    // non-empty: applying stopped, and why
  int64_t durable = 0;                    // the position last made durable and published
  int64_t log_first = 0;                  // the first entry etcd holds, as last trimmed or read (0: unknown)
  int64_t trims = 0;                      // trims this replica made as leader
  int64_t trimmed_entries = 0;            // entries those trims deleted
  int64_t appends = 0;                    // entries this replica appended as leader
  double append_seconds = 0;              // their etcd Txns' time, summed
  int64_t forwarded = 0;                  // writes this replica forwarded to the leader
  int64_t etcd_db_bytes = 0;              // etcd's database size, as the leader read it at its last trim (0: unknown)
};

// The cluster as one replica sees it (Replica::Describe; `annals cluster status`).
struct EtcdEndpointState {
  std::string endpoint, error, version;
  int64_t db_size = 0, db_size_in_use = 0;
  bool leader = false;
  uint64_t raft_index = 0;
};
struct ClusterView {
  ReplicaState self;
  std::vector<MemberState> members;
  int64_t head = 0, first = 0;          // the log's extent in etcd
  int64_t log_entries = 0;
  std::vector<EtcdEndpointState> etcd;
};

class Replica : public Committer, public ReadBarrier {
 public:
  // Joins the cluster: creates the head key at the store's position when the cluster has
  // none (this store is the first member and its history is the cluster's), then follows
  // and stands for leader. FAILED_PRECONDITION when the store is behind the first entry
  // etcd still holds, or ahead of its head (it belongs to another history).
  static absl::StatusOr<std::unique_ptr<Replica>> Start(storage::Store* store, ReplicaOptions options);
  ~Replica() override;  // stops following; a leader gives up its lease

  // Any replica's commit: the leader commits (CommitAsLeader); a follower forwards the
  // write to the leader (Replication.Commit) and, once it is committed, waits until it has
  // applied it itself, so reads here see it. UNAVAILABLE when no leader answers; a write
  // that got UNAVAILABLE may have been committed, so retries carry a request id.
  absl::StatusOr<storage::CommitResult> Commit(const storage::WriteSet& batch) override;
  // The leader's commit: Prepare on the store at the head, append to etcd, apply, answer.
  // UNAVAILABLE when this replica is not the leader (the message names the leader when it
  // is known), has lost its lease, or etcd cannot be reached.
  absl::StatusOr<storage::CommitResult> CommitAsLeader(const storage::WriteSet& batch);
  // Waits until the store has applied `revision` (or the deadline).
  absl::Status WaitForRevision(int64_t revision, absl::Time deadline, const std::function<bool()>& cancelled = nullptr);

  // Waits until the store has applied `position` (or the deadline); DEADLINE_EXCEEDED then.
  absl::Status WaitForPosition(int64_t position, absl::Time deadline, const std::function<bool()>& cancelled = nullptr);
  // Waits until the store has applied etcd's head as read now: a linearizable read point.
  absl::Status CatchUpToHead(absl::Time deadline, const std::function<bool()>& cancelled = nullptr);

  // ReadBarrier. A revision not applied within a moment is checked against etcd's head
  // (a revision never exceeds its entry's position), so one the cluster never reached is
  // OUT_OF_RANGE at once rather than after the whole deadline.
  absl::Status AwaitRevision(int64_t revision, absl::Time deadline,
                             const std::function<bool()>& cancelled = nullptr) override;
  absl::Status AwaitLogHead(absl::Time deadline, const std::function<bool()>& cancelled = nullptr) override;

  ReplicaState State() const;
  // Reads the cluster's state from etcd now (members, the log's extent, every endpoint's
  // status); an endpoint that does not answer is reported, not an error.
  absl::StatusOr<ClusterView> Describe();
  // The registered members, read from etcd now.
  absl::StatusOr<std::vector<MemberState>> Members();
  // The leader's trim, once, now (the member loop runs it every `trim_every`): the first
  // position etcd holds afterwards. UNAVAILABLE when not the leader.
  absl::StatusOr<int64_t> TrimNow();
  const ReplicaOptions& options() const { return options_; }

 private:
  Replica(storage::Store* store, ReplicaOptions options);
  // The head; `etcd_revision`, when given, gets the etcd revision it was read at.
  absl::StatusOr<int64_t> ReadHead(int64_t* etcd_revision = nullptr);
  // Applies entries up to `head` (at most fetch_batch per read); stops at the first error.
  absl::Status ApplyUpTo(int64_t head);
  void FollowLoop();
  void LeaseLoop();
  // Publishes this replica's durable position under its member lease; on the leader, trims.
  void MemberLoop();
  // The first position the trim keeps; `head` is the log's head.
  absl::StatusOr<int64_t> TrimPoint(int64_t head);
  void StepDown(const std::string& why);
  absl::Status Append(const storage::LogEntry& entry);

  storage::Store* store_;
  ReplicaOptions options_;
  ClusterKeys keys_;
  EtcdClient etcd_;
  std::atomic<bool> stop_{false};
  std::mutex commit_mu_;  // one Commit at a time, and no following while it runs
  mutable std::mutex mu_;
  std::condition_variable applied_cv_;  // under mu_: the store applied more
  std::condition_variable stop_cv_;
  ReplicaState state_;     // under mu_
  int64_t head_read_at_ = 0;  // under mu_: the etcd revision of the last head read
  int64_t lease_ = 0;      // under mu_; 0 when not leading
  absl::Time lease_ok_until_;  // under mu_: renewals seen until then
  std::thread follower_, leaser_, member_;
  int64_t member_lease_ = 0;  // member loop only
  std::mutex forward_mu_;  // the channel to the leader, remade when the leader moves
  std::string forward_address_;
  std::shared_ptr<v1::Replication::Stub> forward_stub_;  // shared: a call in flight keeps it
};

}  // namespace annals::cluster
