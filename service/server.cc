#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "service/admin_service.h"
#include "service/ingest_service.h"
#include "service/jsonl_load.h"
#include "service/query_service.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

constexpr const char* kServiceNames[] = {"annals.v1.IngestService", "annals.v1.QueryService",
                                         "annals.v1.DiffService", "annals.v1.AdminService"};

void SetHealth(grpc::Server* server, bool serving) {
  auto* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  for (const char* name : kServiceNames) health->SetServingStatus(name, serving);
  health->SetServingStatus(serving);  // "" (the whole server) and every name above
}

}  // namespace

AnnalsServer::AnnalsServer() = default;

int AnnalsServer::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

absl::StatusOr<std::unique_ptr<AnnalsServer>> AnnalsServer::Start(const ServerConfig& config, std::ostream& log) {
  std::unique_ptr<AnnalsServer> self(new AnnalsServer());
  self->config_ = config;
  if (!config.backup_root.empty()) {
    // Created up front so that a fresh volume takes backups at once (their parent must exist).
    std::error_code ec;
    std::filesystem::create_directories(config.backup_root, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("--backup-root ", config.backup_root, ": ", ec.message()));
  }
  if (!config.metrics_listen.empty()) {
    auto metrics = Metrics::Start(config.metrics_listen);
    if (metrics.ok()) {
      self->metrics_ = std::move(*metrics);
    } else if (config.metrics_optional) {
      log << "annalsd: warning: " << metrics.status().message() << "; serving without metrics\n";
    } else {
      return metrics.status();
    }
  }
  Metrics* metrics = self->metrics_.get();
  self->ingest_ = std::make_unique<IngestServiceImpl>(&self->slot_);
  self->query_ = std::make_unique<QueryServiceImpl>(&self->slot_, config.query);
  self->hub_ = std::make_unique<WatchHub>();
  self->diff_ = std::make_unique<DiffServiceImpl>(&self->slot_, self->hub_.get(), config.diff);
  std::function<void(int64_t, bool)> on_backup;
  if (metrics != nullptr) on_backup = [metrics](int64_t rev, bool ok) { metrics->RecordBackup(rev, ok); };
  self->admin_ = std::make_unique<AdminServiceImpl>(&self->slot_, config.backup_root, std::move(on_backup));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &self->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.RegisterService(self->ingest_.get());
  builder.RegisterService(self->query_.get());
  builder.RegisterService(self->diff_.get());
  builder.RegisterService(self->admin_.get());
  if (metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(metrics->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  self->server_ = builder.BuildAndStart();
  if (!self->server_ || self->port_ == 0)
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  SetHealth(self->server_.get(), false);
  if (metrics != nullptr) metrics->SetWatchHub(self->hub_.get());
  if (config.before_open) config.before_open(self->port_);

  auto store = storage::Store::Open(config.db_path, config.store);
  if (!store.ok()) {
    self->server_->Shutdown();
    return store.status();
  }
  self->store_ = std::move(*store);
  self->store_->SetCommitListener([hub = self->hub_.get()](int64_t rev) { hub->OnCommit(rev); });
  if (metrics != nullptr) metrics->SetStore(self->store_.get());  // counts rows from here on, --load included
  if (!config.load_paths.empty()) {
    if (auto s = LoadJsonlPaths(*self->store_, config.load_paths, log); !s.ok()) {
      if (metrics != nullptr) metrics->SetStore(nullptr);
      self->server_->Shutdown();
      return s;
    }
  }
  self->slot_.Set(self->store_.get());
  SetHealth(self->server_.get(), true);
  if (metrics != nullptr) metrics->SetServing(true);
  return self;
}

void AnnalsServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (!server_) return;  // Start failed before the server was built
  if (metrics_) metrics_->SetServing(false);
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();  // NOT_SERVING from now on
  // Watch streams never end on their own: end them first, telling each where to resume.
  hub_->Shutdown(std::chrono::milliseconds(std::min<int64_t>(2000, absl::ToInt64Milliseconds(config_.drain_timeout))));
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(config_.drain_timeout)));
  server_->Wait();
  slot_.Set(nullptr);
  if (metrics_) {
    metrics_->SetStore(nullptr);
    metrics_->SetWatchHub(nullptr);
  }
  if (store_) store_->SetCommitListener(nullptr);
  store_.reset();  // flushes the WAL and closes RocksDB
}

AnnalsServer::~AnnalsServer() { Shutdown(); }

}  // namespace annals::service
