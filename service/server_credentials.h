// The serving port's transport: TLS (mutual TLS when a client CA is given) or plaintext,
// and on either the bearer-token check of service/auth.h.
//
// gRPC 1.51's C++ InsecureServerCredentials() cannot take an AuthMetadataProcessor (it
// asserts), yet tokens must also work on a plaintext port (behind a mesh that encrypts).
// So the port is added through gRPC's C API, which accepts a metadata processor on
// insecure and TLS credentials alike. gRPC's server-auth filter runs it on every call's
// initial metadata before the call reaches the server: a refused call never reaches an
// interceptor or a handler, whatever its kind (unary or streaming). The processor runs
// inline (it only hashes and compares), and removes the `authorization` value from the
// metadata handlers can see.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/auth.h"

namespace annals::service {

struct TlsFiles {
  std::string cert_file;       // PEM certificate chain of the server
  std::string key_file;        // its PEM private key
  std::string client_ca_file;  // PEM CA bundle; when set, clients must present a certificate it signed
  bool enabled() const { return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty(); }
};

// Reads the PEM files (errors name the flag and the file) and returns the credentials for
// ServerBuilder::AddListeningPort. `authorizer` may be null: no token check. Bad
// certificates or a key that does not match surface when the port is added (Start fails).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& tls, std::shared_ptr<const Authorizer> authorizer);

}  // namespace annals::service
