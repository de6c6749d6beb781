// EtcdClient: a small synchronous client for etcd v3's gRPC API (the subset in
// cluster/etcd/rpc.proto). Debian ships no C++ etcd client; this is ours.
//
// It talks to one endpoint at a time and moves to the next on UNAVAILABLE (the member is
// down or partitioned); a call is tried once on each endpoint at most. etcd serves
// linearizable reads and writes from any member (a follower forwards to the raft leader),
// so which member answers does not change the answer. Each call has its own deadline.
//
// A write whose call fails with UNAVAILABLE or DEADLINE_EXCEEDED may or may not have been
// applied: the caller must find out (cluster/replica.cc reads the head back).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cluster/etcd/rpc.grpc.pb.h"

namespace annals::cluster {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // host:port, plaintext
  absl::Duration call_timeout = absl::Seconds(3);
};

class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions options);
  ~EtcdClient();

  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);
  absl::StatusOr<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& request);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(const etcdserverpb::DeleteRangeRequest& request);
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(int64_t revision);
  // A lease of `ttl` (whole seconds, at least 1): its id and the TTL etcd granted.
  struct Lease {
    int64_t id = 0;
    absl::Duration ttl;
  };
  absl::StatusOr<Lease> LeaseGrant(absl::Duration ttl);
  absl::Status LeaseRevoke(int64_t lease);
  // Renews `lease` once; its remaining TTL in seconds, NOT_FOUND when it has expired.
  absl::StatusOr<int64_t> LeaseKeepAlive(int64_t lease);
  // The status of one endpoint (index into the endpoints), for `annals cluster status`.
  absl::StatusOr<etcdserverpb::StatusResponse> Status(size_t endpoint);

  // Blocks until a key in [key, range_end) changes at an etcd revision >= start_revision,
  // or `timeout` passes, or Cancel(); true when something changed. Only a wake-up: the
  // caller reads what changed with Range (watch events can be missed around compactions
  // and restarts in etcd 3.4, so nothing may depend on each one arriving).
  bool WaitForChange(const std::string& key, const std::string& range_end, int64_t start_revision,
                     absl::Duration timeout);
  // Ends a WaitForChange in progress (from another thread) and every later one.
  void Cancel();

  const std::vector<std::string>& endpoints() const { return options_.endpoints; }

 private:
  struct Endpoint;
  // Runs `call` against endpoints from the current one on, moving on after UNAVAILABLE.
  template <typename Call>
  absl::Status WithFailover(Call&& call);
  // One unary call with failover: `call(endpoint, ctx, &response)` returns its grpc::Status.
  template <typename Response, typename Call>
  absl::StatusOr<Response> Unary(Call&& call);

  EtcdOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};
  std::atomic<bool> cancelled_{false};
  std::mutex watch_mu_;
  std::shared_ptr<grpc::ClientContext> watch_context_;  // the WaitForChange in progress
};

// "key" | 0xff...: the range_end that covers every key starting with `prefix`.
std::string PrefixEnd(const std::string& prefix);

}  // namespace annals::cluster
