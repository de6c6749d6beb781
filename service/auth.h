// Who may call what: the scope each RPC needs, and the check of a call's bearer token.
//
// The one method -> scope table is RequiredScope() below (docs/security.md has it as a
// table). The check runs inside gRPC's transport, before any handler or interceptor sees
// the call (service/server_credentials.h), so it covers every RPC, streaming ones included.
#pragma once

#include <grpcpp/support/status.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "service/tokens.h"

namespace annals::service {

// What a method needs.
struct MethodAccess {
  bool open = false;                  // no token needed (health checks, reflection)
  std::optional<Scope> scope;         // the scope needed when not open
};

// The scope of every RPC, by full method path ("/annals.v1.IngestService/Ingest"):
//   annals.v1.IngestService/*                     write
//   annals.v1.QueryService/*, annals.v1.DiffService/*  read
//   annals.v1.AdminService/*                      admin
//   grpc.health.v1.Health/*, grpc.reflection.v1alpha.ServerReflection/*  open
//   anything else                                 any valid token (then UNIMPLEMENTED)
MethodAccess RequiredAccess(std::string_view method);

// Checks bearer tokens against a TokenTable, which can be replaced while serving.
class Authorizer {
 public:
  explicit Authorizer(TokenTable tokens);

  // OK, or UNAUTHENTICATED (no token, several authorization values, not "Bearer TOKEN",
  // unknown token) or PERMISSION_DENIED (a known token whose scope is too small).
  // `authorization` holds the call's values of the `authorization` metadata key.
  grpc::Status Check(std::string_view method, const std::vector<std::string_view>& authorization) const;

  // Swaps in a new table; calls already checked are not affected.
  void Replace(TokenTable tokens);
  std::shared_ptr<const TokenTable> tokens() const { return tokens_.load(); }

 private:
  std::atomic<std::shared_ptr<const TokenTable>> tokens_;
};

}  // namespace annals::service
