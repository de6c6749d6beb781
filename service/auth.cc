#include "service/auth.h"

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"

namespace annals::service {
namespace {

struct ServiceRule {
  std::string_view prefix;  // "/package.Service/"
  MethodAccess access;
};

// THE table. Keep docs/security.md ("Scopes") in step with it.
constexpr ServiceRule kRules[] = {
    {"/annals.v1.IngestService/", {false, Scope::kWrite}},
    {"/annals.v1.QueryService/", {false, Scope::kRead}},
    {"/annals.v1.DiffService/", {false, Scope::kRead}},
    {"/annals.v1.AdminService/", {false, Scope::kAdmin}},
    // A follower forwarding a client's write to the leader (docs/cluster.md).
    {"/annals.cluster.v1.Replication/", {false, Scope::kWrite}},
    {"/grpc.health.v1.Health/", {true, std::nullopt}},
    {"/grpc.reflection.v1alpha.ServerReflection/", {true, std::nullopt}},
};

// "Bearer" compared without regard to case (RFC 7235: the scheme is case-insensitive).
bool StartsWithBearer(std::string_view value) {
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  return true;
}

}  // namespace

MethodAccess RequiredAccess(std::string_view method) {
  for (const ServiceRule& rule : kRules) {
    if (method.substr(0, rule.prefix.size()) == rule.prefix && method.size() > rule.prefix.size())
      return rule.access;
  }
  return MethodAccess{false, std::nullopt};
}

Authorizer::Authorizer(TokenTable tokens) : tokens_(std::make_shared<const TokenTable>(std::move(tokens))) {}

void Authorizer::Replace(TokenTable tokens) { tokens_.store(std::make_shared<const TokenTable>(std::move(tokens))); }

grpc::Status Authorizer::Check(std::string_view method, const std::vector<std::string_view>& authorization) const {
  const MethodAccess access = RequiredAccess(method);
  if (access.open) return grpc::Status::OK;
  if (authorization.empty())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this server requires a bearer token: send metadata 'authorization: Bearer TOKEN'");
  if (authorization.size() > 1)
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "more than one 'authorization' metadata value");
  std::string_view value = authorization.front();
  if (!StartsWithBearer(value))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the 'authorization' metadata must be 'Bearer TOKEN'");
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  const std::shared_ptr<const TokenTable> tokens = tokens_.load();
  const TokenTable::Entry* entry = tokens->Find(value);
  if (entry == nullptr) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown bearer token");
  if (access.scope && !Grants(entry->scope, *access.scope)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("token '", entry->name, "' has scope ", std::string(ScopeName(entry->scope)), "; ",
                                     std::string(method), " needs ", std::string(ScopeName(*access.scope))));
  }
  return grpc::Status::OK;
}

}  // namespace annals::service
