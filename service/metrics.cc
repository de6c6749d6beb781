#include "service/metrics.h"

#include "cluster/replica.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cmath>
#include <exception>

#include "absl/strings/str_cat.h"
#include "service/change_stream.h"

namespace annals::service {

namespace {

const char* CodeName(grpc::StatusCode code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",        "CANCELLED",        "UNKNOWN",        "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",     "UNIMPLEMENTED",  "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(kNames.size()) ? kNames[i] : "UNKNOWN";
}

prometheus::MetricFamily Family(const std::string& name, const std::string& help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

prometheus::MetricFamily Gauge(const std::string& name, const std::string& help, double value) {
  auto f = Family(name, help, prometheus::MetricType::Gauge);
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(m);
  return f;
}

prometheus::MetricFamily Counter(const std::string& name, const std::string& help, double value) {
  auto f = Family(name, help, prometheus::MetricType::Counter);
  prometheus::ClientMetric m;
  m.counter.value = value;
  f.metric.push_back(m);
  return f;
}

// Times one call from the moment the server matched it to the moment it sent its status.
class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(Metrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics), method_(info->method() ? info->method() : ""), start_(std::chrono::steady_clock::now()) {}
  ~CallInterceptor() override {
    // Ended without a status sent by this server (the client went away first).
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!recorded_ &&
        methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS))
      Record(methods->GetSendStatus().error_code());
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
    metrics_->RecordCall(method_, code, took.count());
  }
  Metrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_, info);
  }

 private:
  Metrics* metrics_;
};

}  // namespace

// The figures read when Prometheus scrapes.
class LiveCollector final : public prometheus::Collectable {
 public:
  void SetStore(storage::Store* store) {
    std::lock_guard<std::mutex> lock(mu_);
    store_ = store;
    if (store != nullptr && !counting_) {
      counted_through_ = store->LatestRevision();
      counting_ = true;
    }
  }
  void SetWatchHub(WatchHub* hub) {
    std::lock_guard<std::mutex> lock(mu_);
    hub_ = hub;
  }
  void SetServing(bool serving) { serving_.store(serving); }
  void SetReplica(const cluster::Replica* replica) {
    std::lock_guard<std::mutex> lock(mu_);
    replica_ = replica;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    out.push_back(Gauge("annals_serving", "1 while health reports SERVING (database open, not draining), else 0",
                        serving_.load() ? 1 : 0));
    if (hub_ != nullptr)
      out.push_back(Gauge("annals_watch_streams_open", "Watch streams currently open", hub_->open_streams()));
    if (replica_ != nullptr) CollectCluster(replica_->State(), &out);
    if (store_ == nullptr) return out;

    CountNewRows();
    out.push_back(Gauge("annals_revision", "the latest committed revision", store_->LatestRevision()));
    out.push_back(Gauge("annals_oldest_revision", "the oldest revision still readable (0: all history kept)",
                        store_->OldestRevision()));
    out.push_back(Counter("annals_commits_total", "revisions committed by this process", commits_));
    auto rows = Family("annals_rows_written_total",
                       "records written by this process (new versions; unchanged upserts are not counted), by kind",
                       prometheus::MetricType::Counter);
    static constexpr const char* kKinds[] = {"other",      "entity",          "document",
                                             "relation",   "retraction",      "entity_deletion",
                                             "document_deletion", "entity_merge",    "entity_unmerge"};
    for (int k = 1; k < 9; ++k) {
      prometheus::ClientMetric m;
      m.label.push_back({"kind", kKinds[k]});
      m.counter.value = static_cast<double>(rows_[k]);
      rows.metric.push_back(m);
    }
    out.push_back(rows);
    if (uncounted_revisions_ > 0)
      out.push_back(Counter("annals_rows_uncounted_revisions_total",
                            "revisions whose change-log records were pruned (--retain-revisions) before a scrape "
                            "could count their rows",
                            static_cast<double>(uncounted_revisions_)));

    const storage::Store::Figures f = store_->Properties();
    out.push_back(Gauge("annals_rocksdb_live_sst_bytes", "bytes in live SST files (rocksdb.live-sst-files-size)",
                        static_cast<double>(f.live_sst_bytes)));
    out.push_back(Gauge("annals_rocksdb_memtable_bytes", "bytes in all memtables (rocksdb.cur-size-all-mem-tables)",
                        static_cast<double>(f.memtable_bytes)));
    out.push_back(Gauge("annals_rocksdb_estimated_keys", "estimated keys in all column families (rocksdb.estimate-num-keys)",
                        static_cast<double>(f.estimated_keys)));
    out.push_back(Gauge("annals_rocksdb_table_readers_bytes",
                        "index and filter blocks held by open table files, outside the block cache "
                        "(rocksdb.estimate-table-readers-mem)",
                        static_cast<double>(f.table_reader_bytes)));
    out.push_back(Gauge("annals_rocksdb_block_cache_usage_bytes", "bytes held by the block cache",
                        static_cast<double>(f.block_cache_usage)));
    out.push_back(Gauge("annals_rocksdb_block_cache_capacity_bytes", "block cache capacity",
                        static_cast<double>(f.block_cache_capacity)));
    if (f.has_statistics) {
      out.push_back(Counter("annals_rocksdb_block_cache_hits_total", "block cache hits since the database opened",
                            static_cast<double>(f.block_cache_hits)));
      out.push_back(Counter("annals_rocksdb_block_cache_misses_total", "block cache misses since the database opened",
                            static_cast<double>(f.block_cache_misses)));
      const double lookups = static_cast<double>(f.block_cache_hits + f.block_cache_misses);
      if (lookups > 0)
        out.push_back(Gauge("annals_rocksdb_block_cache_hit_ratio",
                            "hits / (hits + misses) since the database opened (absent before the first lookup); "
                            "for a recent ratio use rate() of the two counters",
                            static_cast<double>(f.block_cache_hits) / lookups));
    }
    return out;
  }

 private:
  // Reads the change-log records committed since the last scrape. Called with mu_ held.
  void CountNewRows() const {
    const int64_t latest = store_->LatestRevision();
    if (latest <= counted_through_) return;
    const int64_t oldest = store_->OldestRevision();
    if (counted_through_ < oldest) {
      uncounted_revisions_ += oldest - counted_through_;
      commits_ += oldest - counted_through_;
      counted_through_ = oldest;
    }
    int64_t last = counted_through_;
    auto s = store_->ScanChanges(counted_through_, latest, [&](const storage::ChangeRecord& change) {
      for (const auto& c : change.changes()) {
        const int kind = c.kind();
        if (kind >= 1 && kind <= 8) ++rows_[kind];  // storage::ChangeEntry::Kind
      }
      ++commits_;
      last = change.revision();
      return true;
    });
    // On an error (e.g. pruned meanwhile) the next scrape goes on from what was read.
    counted_through_ = s.ok() ? latest : last;
  }

  // The annals_cluster_* gauges and counters, from one snapshot of the replica's state.
  static void CollectCluster(const cluster::ReplicaState& s, std::vector<prometheus::MetricFamily>* out) {
    out->push_back(Gauge("annals_cluster_leader", "1 while this replica leads the cluster, else 0", s.leader ? 1 : 0));
    out->push_back(Gauge("annals_cluster_applied_position", "the last log entry this replica applied", s.applied));
    out->push_back(Gauge("annals_cluster_durable_position",
                         "the last log entry this replica made durable and published", s.durable));
    out->push_back(Gauge("annals_cluster_head_position", "the log's head as this replica last read it", s.head));
    out->push_back(Gauge("annals_cluster_lag_entries", "entries between the head last read and this replica",
                         s.head < 0 ? 0 : std::max<int64_t>(0, s.head - s.applied)));
    out->push_back(Gauge("annals_cluster_log_first_position",
                         "the first entry etcd holds, as this replica last trimmed or read it (0: unknown)", s.log_first));
    out->push_back(Gauge("annals_cluster_log_entries", "entries etcd holds, from the first to the head (0: unknown)",
                         s.log_first > 0 && s.head >= s.log_first ? s.head - s.log_first + 1 : 0));
    out->push_back(Gauge("annals_cluster_etcd_db_bytes",
                         "etcd's database size, as the leader read it at its last trim (0: unknown)", s.etcd_db_bytes));
    out->push_back(Gauge("annals_cluster_failed", "1 when this replica stopped applying the log", s.failure.empty() ? 0 : 1));
    out->push_back(Counter("annals_cluster_trims_total", "trims of the log this replica made as leader", s.trims));
    out->push_back(Counter("annals_cluster_trimmed_entries_total", "entries those trims deleted", s.trimmed_entries));
    out->push_back(Counter("annals_cluster_appends_total", "entries this replica appended as leader", s.appends));
    out->push_back(Counter("annals_cluster_append_seconds_total", "time in etcd Txns of those appends", s.append_seconds));
    out->push_back(Counter("annals_cluster_forwarded_writes_total", "writes this replica forwarded to the leader",
                           s.forwarded));
  }

  mutable std::mutex mu_;
  const cluster::Replica* replica_ = nullptr;
  storage::Store* store_ = nullptr;
  WatchHub* hub_ = nullptr;
  std::atomic<bool> serving_{false};
  bool counting_ = false;
  mutable int64_t counted_through_ = 0;
  mutable uint64_t rows_[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  mutable uint64_t commits_ = 0;
  mutable uint64_t uncounted_revisions_ = 0;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;  // the Exposer stops serving first (declared last)

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen) {
  std::unique_ptr<Metrics> self(new Metrics());
  self->registry_ = std::make_shared<prometheus::Registry>();
  self->live_ = std::make_shared<LiveCollector>();
  self->handled_ = &prometheus::BuildCounter()
                        .Name("annals_grpc_server_handled_total")
                        .Help("gRPC calls completed, by service, method and status code")
                        .Register(*self->registry_);
  self->handling_seconds_ = &prometheus::BuildHistogram()
                                 .Name("annals_grpc_server_handling_seconds")
                                 .Help("time from a call's arrival to its status, by service, method and status "
                                       "code (streams: their whole life)")
                                 .Register(*self->registry_);
  self->backups_ = &prometheus::BuildCounter()
                        .Name("annals_backups_total")
                        .Help("Backup calls that reached the database, by result (ok, failed)")
                        .Register(*self->registry_);
  auto& last = prometheus::BuildGauge()
                   .Name("annals_backup_last_success_timestamp_seconds")
                   .Help("Unix time of the last successful backup (0: none since start)")
                   .Register(*self->registry_);
  self->last_backup_time_ = &last.Add({});
  auto& last_rev = prometheus::BuildGauge()
                       .Name("annals_backup_last_success_revision")
                       .Help("revision held by the last successful backup (0: none since start)")
                       .Register(*self->registry_);
  self->last_backup_revision_ = &last_rev.Add({});
  self->bootstraps_ = &prometheus::BuildCounter()
                           .Name("annals_cluster_bootstraps_total")
                           .Help("databases this process installed from a peer's copy (cluster/bootstrap.h)")
                           .Register(*self->registry_)
                           .Add({});
  self->last_bootstrap_seconds_ = &prometheus::BuildGauge()
                                       .Name("annals_cluster_last_bootstrap_seconds")
                                       .Help("how long the last copy from a peer took (0: none since start)")
                                       .Register(*self->registry_)
                                       .Add({});
  try {
    self->exposer_ = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  const auto ports = self->exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen));
  self->port_ = ports.front();
  self->exposer_->RegisterCollectable(self->registry_);
  self->exposer_->RegisterCollectable(self->live_);
  return self;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Metrics::InterceptorFactory() {
  return std::make_unique<annals::service::InterceptorFactory>(this);
}

void Metrics::SetStore(storage::Store* store) { live_->SetStore(store); }
void Metrics::SetReplica(const cluster::Replica* replica) { live_->SetReplica(replica); }
void Metrics::RecordBootstrap(double seconds) {
  bootstraps_->Increment();
  last_bootstrap_seconds_->Set(seconds);
}
void Metrics::SetWatchHub(WatchHub* hub) { live_->SetWatchHub(hub); }
void Metrics::SetServing(bool serving) { live_->SetServing(serving); }

void Metrics::RecordBackup(int64_t revision, bool ok) {
  backups_->Add({{"result", ok ? "ok" : "failed"}}).Increment();
  if (!ok) return;
  last_backup_time_->Set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  last_backup_revision_->Set(static_cast<double>(revision));
}

void Metrics::RecordCall(const std::string& full_method, grpc::StatusCode code, double seconds) {
  // "/annals.v1.IngestService/PutRelations" -> service, method.
  std::string service = "unknown", method = full_method;
  if (const size_t slash = full_method.rfind('/'); slash != std::string::npos && slash > 0) {
    service = full_method.substr(full_method[0] == '/' ? 1 : 0, slash - (full_method[0] == '/' ? 1 : 0));
    method = full_method.substr(slash + 1);
  }
  const prometheus::Labels labels = {{"grpc_service", service}, {"grpc_method", method}, {"grpc_code", CodeName(code)}};
  handled_->Add(labels).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  handling_seconds_->Add(labels, kBuckets).Observe(seconds);
}

}  // namespace annals::service
