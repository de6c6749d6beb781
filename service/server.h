// AnnalsServer: the gRPC server around one Store, with health and reflection.
//
// Start-up order matters to probes: the gRPC server starts first with health NOT_SERVING,
// then the database opens (and --load files commit), then health turns SERVING.
// Shutdown reverses it: NOT_SERVING, stop accepting, let in-flight calls finish up to the
// drain deadline, then flush and close the database.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/call_support.h"
#include "service/change_stream.h"
#include "service/diff_service.h"
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
};

class AnnalsServer {
 public:
  static absl::StatusOr<std::unique_ptr<AnnalsServer>> Start(const ServerConfig& config, std::ostream& log);
  ~AnnalsServer();

  // The port actually bound (useful with a :0 listen address).
  int port() const { return port_; }
  storage::Store* store() { return store_.get(); }
  // Drains and stops; idempotent.
  void Shutdown();

 private:
  AnnalsServer() = default;
  ServerConfig config_;
  StoreSlot slot_;
  std::unique_ptr<WatchHub> hub_;  // before the services: they hold a pointer to it
  std::unique_ptr<grpc::Service> ingest_, query_, diff_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<storage::Store> store_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace annals::service
