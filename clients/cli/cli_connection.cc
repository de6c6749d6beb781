// The connection the commands share, and how they report failure.
#include <grpcpp/support/client_interceptor.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "clients/cli/cli_commands.h"

namespace annals::cli {
namespace {

// Ends the process like any usage error (exit code 2).
[[noreturn]] void UsageExit(const std::string& message) { std::exit(Usage(message)); }

std::string ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UsageExit(flag + " " + path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Adds "authorization: Bearer TOKEN" to every call on the channel, whichever command makes
// it and however (unary, Ingest, Watch).
class BearerToken final : public grpc::experimental::Interceptor {
 public:
  explicit BearerToken(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      methods->GetSendInitialMetadata()->insert({"authorization", *value_});
    methods->Proceed();
  }

 private:
  const std::string* value_;
};

class BearerTokenFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(std::string token) : value_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new BearerToken(&value_);
  }

 private:
  const std::string value_;  // the factory lives as long as the channel
};

std::string TokenOf(const ConnectionSecurity& s) {
  std::string token = s.token;
  if (!s.token_file.empty()) {  // wins over --token / ANNALS_TOKEN
    std::istringstream text(ReadFile("--token-file", s.token_file));
    std::getline(text, token);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.empty()) UsageExit("--token-file " + s.token_file + ": the first line is empty");
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) UsageExit("the token must be printable ASCII without spaces");
  }
  return token;
}

}  // namespace

void Connection::Connect() {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (security.UsesTls()) {
    if (security.tls_cert.empty() != security.tls_key.empty())
      UsageExit("--tls-cert and --tls-key go together (a client certificate and its private key)");
    grpc::SslCredentialsOptions ssl;
    if (!security.tls_ca.empty()) ssl.pem_root_certs = ReadFile("--tls-ca", security.tls_ca);
    if (!security.tls_cert.empty()) {
      ssl.pem_cert_chain = ReadFile("--tls-cert", security.tls_cert);
      ssl.pem_private_key = ReadFile("--tls-key", security.tls_key);
    }
    credentials = grpc::SslCredentials(ssl);
    if (!security.tls_server_name.empty()) args.SetSslTargetNameOverride(security.tls_server_name);
  }
  const std::string token = TokenOf(security);
  if (token.empty()) {
    channel = grpc::CreateCustomChannel(addr, credentials, args);
  } else {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<BearerTokenFactory>(token));
    channel = grpc::experimental::CreateCustomChannelWithInterceptors(addr, credentials, args, std::move(interceptors));
  }
  ingest = v1::IngestService::NewStub(channel);
  query = v1::QueryService::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> Connection::Call() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)));
  return ctx;
}

namespace {
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}
}  // namespace

int Fail(const grpc::Status& status) {
  std::cerr << "annals: " << CodeName(status.error_code()) << ": " << status.error_message() << "\n";
  return 1;
}

int Usage(const std::string& message) {
  std::cerr << "annals: " << message << "\n";
  return 2;
}

}  // namespace annals::cli
