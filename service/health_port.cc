#include "service/health_port.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>

#include "absl/strings/str_cat.h"

namespace annals::service {
namespace {

constexpr const char* kServiceNames[] = {"annals.v1.IngestService", "annals.v1.QueryService",
                                         "annals.v1.DiffService", "annals.v1.AdminService"};

// Drops the builder plugins registered process-wide (the reflection plugin AnnalsServer
// installs): the health port serves grpc.health.v1 and nothing else.
class NoPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override { plugins->clear(); }
};

// Every method but grpc.health.v1's: UNIMPLEMENTED. (A server whose only service is the
// built-in health service does not start in gRPC 1.51: it needs a callback service of its
// own to drive its completion queue.)
class Unimplemented final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this port serves grpc.health.v1 only")); }
      void OnDone() override { delete this; }
    };
    return new Reactor();
  }
};

}  // namespace

void SetHealthStatus(grpc::HealthCheckServiceInterface* health, bool serving) {
  if (health == nullptr) return;
  for (const char* name : kServiceNames) health->SetServingStatus(name, serving);
  health->SetServingStatus(serving);  // "" (the whole server) and every name above
}

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(const std::string& listen) {
  std::unique_ptr<HealthPort> self(new HealthPort());
  self->unimplemented_ = std::make_unique<Unimplemented>();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<NoPlugins>());
  builder.RegisterCallbackGenericService(self->unimplemented_.get());
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &self->port_);
  // Probes send tiny messages; keep what a stranger can make this port buffer small.
  builder.SetMaxReceiveMessageSize(4096);
  self->server_ = builder.BuildAndStart();
  if (!self->server_ || self->port_ == 0)
    return absl::UnavailableError(absl::StrCat("--health-listen: cannot listen on ", listen));
  self->SetServing(false);
  return self;
}

void HealthPort::SetServing(bool serving) {
  if (server_ && !stopped_) SetHealthStatus(server_->GetHealthCheckService(), serving);
}

void HealthPort::Shutdown() {
  if (stopped_ || !server_) return;
  stopped_ = true;
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

HealthPort::~HealthPort() { Shutdown(); }

}  // namespace annals::service
