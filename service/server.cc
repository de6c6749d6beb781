#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "service/ingest_service.h"
#include "service/jsonl_load.h"
#include "service/query_service.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

constexpr const char* kServiceNames[] = {"annals.v1.IngestService", "annals.v1.QueryService",
                                         "annals.v1.DiffService"};

void SetHealth(grpc::Server* server, bool serving) {
  auto* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  for (const char* name : kServiceNames) health->SetServingStatus(name, serving);
  health->SetServingStatus(serving);  // "" (the whole server) and every name above
}

}  // namespace

absl::StatusOr<std::unique_ptr<AnnalsServer>> AnnalsServer::Start(const ServerConfig& config, std::ostream& log) {
  std::unique_ptr<AnnalsServer> self(new AnnalsServer());
  self->config_ = config;
  self->ingest_ = std::make_unique<IngestServiceImpl>(&self->slot_);
  self->query_ = std::make_unique<QueryServiceImpl>(&self->slot_, config.query);
  self->hub_ = std::make_unique<WatchHub>();
  self->diff_ = std::make_unique<DiffServiceImpl>(&self->slot_, self->hub_.get(), config.diff);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &self->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.RegisterService(self->ingest_.get());
  builder.RegisterService(self->query_.get());
  builder.RegisterService(self->diff_.get());
  self->server_ = builder.BuildAndStart();
  if (!self->server_ || self->port_ == 0)
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  SetHealth(self->server_.get(), false);

  auto store = storage::Store::Open(config.db_path, config.store);
  if (!store.ok()) {
    self->server_->Shutdown();
    return store.status();
  }
  self->store_ = std::move(*store);
  self->store_->SetCommitListener([hub = self->hub_.get()](int64_t rev) { hub->OnCommit(rev); });
  if (!config.load_paths.empty()) {
    if (auto s = LoadJsonlPaths(*self->store_, config.load_paths, log); !s.ok()) {
      self->server_->Shutdown();
      return s;
    }
  }
  self->slot_.Set(self->store_.get());
  SetHealth(self->server_.get(), true);
  return self;
}

void AnnalsServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();  // NOT_SERVING from now on
  // Watch streams never end on their own: end them first, telling each where to resume.
  hub_->Shutdown(std::chrono::milliseconds(std::min<int64_t>(2000, absl::ToInt64Milliseconds(config_.drain_timeout))));
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(config_.drain_timeout)));
  server_->Wait();
  slot_.Set(nullptr);
  if (store_) store_->SetCommitListener(nullptr);
  store_.reset();  // flushes the WAL and closes RocksDB
}

AnnalsServer::~AnnalsServer() { Shutdown(); }

}  // namespace annals::service
