// grpc.health.v1 status shared by the serving port and the optional plaintext health port
// (annalsd --health-listen).
//
// Kubelet's native gRPC probe cannot speak TLS, so with TLS on the probes need a plaintext
// port. HealthPort is a second, small grpc::Server with nothing but grpc.health.v1 (no
// reflection, no Annals service, no token check). AnnalsServer sets both ports' status
// together: NOT_SERVING until the database is open and from the start of shutdown.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace annals::service {

// Sets the status of the whole server ("") and of every Annals service name.
void SetHealthStatus(grpc::HealthCheckServiceInterface* health, bool serving);

class HealthPort {
 public:
  // Listens on `listen` ("host:port", port 0 picks one), NOT_SERVING until SetServing(true).
  static absl::StatusOr<std::unique_ptr<HealthPort>> Start(const std::string& listen);
  ~HealthPort();

  int port() const { return port_; }
  void SetServing(bool serving);
  // NOT_SERVING for good (watchers are told), then stops; idempotent.
  void Shutdown();

 private:
  HealthPort() = default;
  std::unique_ptr<grpc::CallbackGenericService> unimplemented_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace annals::service
