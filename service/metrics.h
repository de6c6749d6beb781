// Metrics: the Prometheus endpoint of annalsd (--metrics-listen), on its own port.
//
// Three sources:
//   - a gRPC server interceptor counts every call and times it, by service, method and
//     status code (InterceptorFactory);
//   - rows written are counted from the change log at scrape time, so every writer (the
//     unary RPCs, the Ingest stream, --load) is counted the same way without touching
//     the write path, and an idle endpoint costs nothing;
//   - gauges (revision, open watch streams, RocksDB figures) are read at scrape time.
// Every metric is listed in deploy/README.md.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace prometheus {
class Exposer;
class Registry;
template <typename T> class Family;
class Counter;
class Histogram;
class Gauge;
class Counter;
}  // namespace prometheus

namespace annals::cluster {
class Replica;
}  // namespace annals::cluster

namespace annals::service {

class WatchHub;
class LiveCollector;

class Metrics {
 public:
  // Serves GET /metrics on `listen` ("host:port"; port 0 picks a free one).
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& listen);
  ~Metrics();

  // The port actually bound.
  int port() const { return port_; }

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators. This object must
  // outlive the gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // Where the scrape-time figures come from; nullptr while the database is not open (or
  // no longer). Rows are counted from the store's revision at SetStore on.
  void SetStore(storage::Store* store);
  void SetWatchHub(WatchHub* hub);
  void SetServing(bool serving);
  void RecordBackup(int64_t revision, bool ok);
  // In a cluster: the replica whose state the annals_cluster_* figures show (nullptr: none).
  void SetReplica(const cluster::Replica* replica);
  // A database installed from a peer's copy, and how long the copy took.
  void RecordBootstrap(double seconds);

  // One finished call; `full_method` is "/package.Service/Method".
  void RecordCall(const std::string& full_method, grpc::StatusCode code, double seconds);

 private:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<LiveCollector> live_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* handled_ = nullptr;
  prometheus::Family<prometheus::Histogram>* handling_seconds_ = nullptr;
  prometheus::Family<prometheus::Counter>* backups_ = nullptr;
  prometheus::Gauge* last_backup_time_ = nullptr;
  prometheus::Gauge* last_backup_revision_ = nullptr;
  prometheus::Counter* bootstraps_ = nullptr;
  prometheus::Gauge* last_bootstrap_seconds_ = nullptr;
  int port_ = 0;
};

}  // namespace annals::service
