// AnnalsServer: the gRPC server around one Store, with health and reflection.
//
// Start-up order matters to probes: the gRPC server starts first with health NOT_SERVING,
// then the database opens (and --load files commit), then health turns SERVING.
// Shutdown reverses it: NOT_SERVING, stop accepting, let in-flight calls finish up to the
// drain deadline, then flush and close the database.
//
// With `metrics_listen` set, a Prometheus endpoint (service/metrics.h) serves on its own
// port from before the database opens to the end of Shutdown.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/call_support.h"
#include "service/change_stream.h"
#include "service/diff_service.h"
#include "service/metrics.h"
#include "service/query_service.h"
#include "storage/store.h"

namespace annals::service {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string db_path = "./var/annals";
  std::vector<std::string> load_paths;
  storage::StoreOptions store;
  absl::Duration drain_timeout = absl::Seconds(20);
  DiffLimits diff;
  QueryLimits query;
  int max_message_bytes = 64 << 20;
  // Prometheus endpoint, "host:port" (port 0 picks a free one); empty: no metrics.
  std::string metrics_listen;
  // When the metrics address cannot be bound: false fails Start, true logs a warning and
  // serves without metrics (annalsd uses that for its default address only).
  bool metrics_optional = false;
  // Backup targets must lie inside this directory; empty: any absolute path.
  std::string backup_root;
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
  storage::Store* store() { return store_.get(); }
  // Drains and stops; idempotent.
  void Shutdown();

 private:
  AnnalsServer();
  ServerConfig config_;
  std::unique_ptr<Metrics> metrics_;  // outlives the gRPC server (its interceptors use it)
  StoreSlot slot_;
  std::unique_ptr<WatchHub> hub_;  // before the services: they hold a pointer to it
  std::unique_ptr<grpc::Service> ingest_, query_, diff_, admin_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<storage::Store> store_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace annals::service
