// AnnalsServer: the gRPC server around one Store, with health and reflection.
//
// Start-up order matters to probes: the gRPC server starts first with health NOT_SERVING,
// then the database opens (and --load files commit), then health turns SERVING.
// Shutdown reverses it: NOT_SERVING, stop accepting, let in-flight calls finish up to the
// drain deadline, then flush and close the database.
//
// With `metrics_listen` set, a Prometheus endpoint (service/metrics.h) serves on its own
// port from before the database opens to the end of Shutdown. With `health_listen` set, a
// plaintext port serves grpc.health.v1 alone (service/health_port.h), with the same status.
//
// Security and limits (docs/security.md): TLS or mutual TLS on the serving port
// (service/server_credentials.h), bearer tokens with scopes (service/auth.h), message
// size, streams per connection, keepalive, and the time budget of unary calls
// (service/call_budget.h).
#pragma once

#include <atomic>
#include <thread>

#include "cluster/bootstrap.h"
#include "cluster/replica.h"
#include "cluster/replication_service.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/admin_service.h"
#include "service/auth.h"
#include "service/call_budget.h"
#include "service/call_support.h"
#include "service/change_stream.h"
#include "service/diff_service.h"
#include "service/health_port.h"
#include "service/metrics.h"
#include "service/query_service.h"
#include "service/server_credentials.h"
#include "storage/store.h"

namespace annals::service {

// HTTP/2 keepalive of the serving port (gRPC's keepalive channel arguments).
struct KeepalivePolicy {
  // Ping a connection that has been quiet this long (finds dead peers of idle Watch streams).
  absl::Duration time = absl::Seconds(120);
  // Close the connection when a ping is not answered within this.
  absl::Duration timeout = absl::Seconds(20);
  // Clients may ping at most this often; each ping sooner is a strike.
  absl::Duration min_client_ping_interval = absl::Seconds(30);
  // Accept (and send) keepalive pings on connections with no call in progress.
  bool permit_without_calls = true;
  // Strikes before the connection is closed with GOAWAY "too_many_pings" (0: no limit).
  int max_ping_strikes = 2;
};

// Cluster mode (docs/cluster.md): set `etcd_endpoints` and the server is one replica of a
// cluster whose commit log lives in etcd; empty, it is a single node as before.
struct ClusterConfig {
  std::vector<std::string> etcd_endpoints;
  std::string name = "annals";   // the etcd key prefix /annals/<name>/
  std::string node_id;           // unique in the cluster; empty: the host name
  std::string advertise;         // where the other replicas reach this one; empty: the listen host and port
  absl::Duration lease_ttl = absl::Seconds(2);
  // The log's retention floor (docs/cluster.md "A bounded log"): the leader keeps at least
  // this many entries, and every entry younger than this, beyond what every member needs.
  int64_t retain_entries = 1000;
  absl::Duration retain_age = absl::Minutes(5);
  // Health answers SERVING only while this replica is at most this many entries behind
  // the log's head (and has not stopped applying it).
  int64_t max_serving_lag = 1000;
  // What this replica forwards writes to the leader with: a bearer token of write scope
  // (when the servers require tokens) and, when they serve TLS, a PEM CA bundle to check the
  // leader's certificate with (empty: --tls-client-ca); with mutual TLS the replica's own
  // --tls-cert/--tls-key are its client certificate.
  std::string peer_token;
  std::string peer_ca;
  bool enabled() const { return !etcd_endpoints.empty(); }
};

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string db_path = "./var/annals";
  std::vector<std::string> load_paths;
  storage::StoreOptions store;
  absl::Duration drain_timeout = absl::Seconds(20);
  DiffLimits diff;
  QueryLimits query;
  // Largest message received or sent; a bigger one fails the call with RESOURCE_EXHAUSTED.
  int max_message_bytes = 64 << 20;
  // Concurrent calls (HTTP/2 streams) per client connection; clients queue the rest.
  int max_concurrent_streams = 100;
  KeepalivePolicy keepalive;
  // Server-side deadline of unary calls (service/call_budget.h).
  CallBudget call_budget;
  // TLS on the serving port; all empty: plaintext.
  TlsFiles tls;
  // Bearer tokens (service/tokens.h); empty: no token needed.
  std::string tokens_file;
  // Plaintext grpc.health.v1-only port, "host:port" (port 0 picks one); empty: none.
  std::string health_listen;
  // Prometheus endpoint, "host:port" (port 0 picks a free one); empty: no metrics.
  std::string metrics_listen;
  // When the metrics address cannot be bound: false fails Start, true logs a warning and
  // serves without metrics (annalsd uses that for its default address only).
  bool metrics_optional = false;
  // Backup targets must lie inside this directory; empty: any absolute path.
  std::string backup_root;
  ClusterConfig cluster;
  // Called once the gRPC server listens (health NOT_SERVING) and before the database
  // opens, with the bound port. Tests use it to watch start-up.
  std::function<void(int port)> before_open;
};

class AnnalsServer {
 public:
  static absl::StatusOr<std::unique_ptr<AnnalsServer>> Start(const ServerConfig& config, std::ostream& log);
  ~AnnalsServer();

  // The port actually bound (useful with a :0 listen address).
  int port() const { return port_; }
  // The metrics port, 0 when metrics are off.
  int metrics_port() const;
  // The plaintext health port, 0 when --health-listen is off.
  int health_port() const { return health_port_ ? health_port_->port() : 0; }
  // The token table in force; null when no tokens file is configured.
  std::shared_ptr<const TokenTable> tokens() const { return authorizer_ ? authorizer_->tokens() : nullptr; }
  // Reads the tokens file again and swaps it in (annalsd does on SIGHUP). On an error
  // (FAILED_PRECONDITION without a tokens file, else the file's problem) the old tokens stay.
  absl::Status ReloadTokens();
  storage::Store* store() { return store_.get(); }
  // The replica in cluster mode; null on a single node.
  cluster::Replica* replica() { return replica_.get(); }
  // Drains and stops; idempotent.
  void Shutdown();

 private:
  AnnalsServer();
  ServerConfig config_;
  void SetServing(bool serving);
  std::unique_ptr<Metrics> metrics_;  // outlives the gRPC server (its interceptors use it)
  std::shared_ptr<Authorizer> authorizer_;  // null: no tokens file
  std::unique_ptr<HealthPort> health_port_;
  StoreSlot slot_;
  std::unique_ptr<WatchHub> hub_;  // before the services: they hold a pointer to it
  std::unique_ptr<grpc::Service> ingest_, query_, diff_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<cluster::ReplicationService> replication_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<storage::Store> store_;
  // Writes go through one of these (cluster/committer.h); the replica also follows the log.
  std::unique_ptr<cluster::LocalCommitter> local_committer_;
  std::unique_ptr<cluster::LocalReadBarrier> local_barrier_;
  std::unique_ptr<cluster::Replica> replica_;
  // In cluster mode: turns health NOT_SERVING when the replica stops applying the log.
  std::thread replica_watch_;
  std::atomic<bool> replica_watch_stop_{false};
  absl::Status StartReplica(std::ostream& log);
  absl::StatusOr<cluster::ReplicaOptions> ReplicaOptionsFromConfig() const;
  // Joining from a peer (cluster/bootstrap.h): installs a member's copy at db_path.
  absl::StatusOr<cluster::BootstrapResult> Bootstrap(const cluster::ReplicaOptions& options, std::ostream& log);
  // Before the store opens: an empty (or missing) database directory joins from a peer,
  // unless the cluster is new.
  absl::Status BootstrapIfEmpty(std::ostream& log);
  // The store was closed because the log no longer holds its next entry: move it aside,
  // install a peer's copy, open it and start the replica on it.
  absl::Status ReplaceWithPeerCopy(std::ostream& log);
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace annals::service
