// Security and limits through real servers on 127.0.0.1:0 (issue #9): TLS and mutual TLS
// with certificates made here by the openssl command, bearer tokens and their scopes on
// plaintext and TLS ports, the plaintext health port, the tokens file's errors, the
// message-size limit, the time budget of unary calls, and the `annals` CLI against a
// secured server.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <grpcpp/grpcpp.h>
#include <google/protobuf/descriptor.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "annals/v1/admin.grpc.pb.h"
#include "annals/v1/diff.grpc.pb.h"
#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "service/auth.h"
#include "service/call_budget.h"
#include "service/server.h"
#include "service/tokens.h"
#include "tests/support/api_records.h"
#include "tests/support/health.grpc.pb.h"
#include "tests/support/health_watch.h"
#include "tests/support/temp_dir.h"

namespace annals {
namespace {

using annals::testing::TempDir;
using grpc::StatusCode;
using grpc::health::v1::HealthCheckResponse;
using service::Scope;

constexpr char kReadToken[] = "r3ad-0123456789abcdef";
constexpr char kWriteToken[] = "wr1te-0123456789abcdef";
constexpr char kAdminToken[] = "adm1n-0123456789abcdef";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Runs `command` through the shell; returns its exit code, its output in *output.
int Run(const std::string& command, std::string* output = nullptr) {
  std::string text;
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) text.append(buf, n);
  const int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A CA, a server certificate for IP 127.0.0.1 and DNS localhost, a client certificate, and
// a second CA with a client certificate of its own (which the server must not accept).
struct Certs {
  std::string dir;
  std::string ca, server_cert, server_key, client_cert, client_key, other_client_cert, other_client_key;

  static Certs Make(const std::string& dir) {
    Certs c;
    c.dir = dir;
    c.ca = dir + "/ca.pem";
    c.server_cert = dir + "/server.pem";
    c.server_key = dir + "/server.key";
    c.client_cert = dir + "/client.pem";
    c.client_key = dir + "/client.key";
    c.other_client_cert = dir + "/other-client.pem";
    c.other_client_key = dir + "/other-client.key";
    WriteText(dir + "/server.ext",
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    WriteText(dir + "/client.ext",
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto ca = [&](const std::string& name) {
      return "openssl req -x509" + ec + " -keyout " + name + ".key -out " + name + ".pem -days 2 -subj /CN=" + name +
             " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign";
    };
    auto leaf = [&](const std::string& name, const std::string& ca_name, const std::string& ext) {
      return "openssl req" + ec + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + name +
             " && openssl x509 -req -in " + name + ".csr -CA " + ca_name + ".pem -CAkey " + ca_name +
             ".key -CAcreateserial -days 2 -extfile " + ext + " -out " + name + ".pem";
    };
    const std::string script = "cd '" + dir + "' && " + ca("ca") + " && " + ca("other-ca") + " && " +
                               leaf("server", "ca", "server.ext") + " && " + leaf("client", "ca", "client.ext") +
                               " && " + leaf("other-client", "other-ca", "client.ext");
    std::string output;
    const int code = Run(script, &output);
    EXPECT_EQ(code, 0) << "openssl failed:\n" << output;
    return c;
  }
};

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

service::ServerConfig Config(const TempDir& dir) {
  service::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.db_path = dir.Sub("db");
  config.drain_timeout = absl::Seconds(5);
  return config;
}

std::string TokensFile(const TempDir& dir) {
  const std::string path = dir.Sub("tokens");
  WriteText(path, std::string("# test tokens: SCOPE TOKEN [NAME]\n\n") + "read  " + kReadToken + "  reader\n" +
                      "write\t" + kWriteToken + "\twriter\n" + "  admin " + kAdminToken + " operator\n");
  return path;
}

std::unique_ptr<service::AnnalsServer> StartOrFail(const service::ServerConfig& config) {
  std::ostringstream log;
  auto server = service::AnnalsServer::Start(config, log);
  EXPECT_TRUE(server.ok()) << server.status() << "\n" << log.str();
  return server.ok() ? std::move(*server) : nullptr;
}

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

std::shared_ptr<grpc::Channel> Plain(int port) {
  return grpc::CreateChannel(Addr(port), grpc::InsecureChannelCredentials());
}

std::shared_ptr<grpc::Channel> Tls(int port, const std::string& ca, const std::string& cert = "",
                                   const std::string& key = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadText(ca);
  if (!cert.empty()) {
    ssl.pem_cert_chain = ReadText(cert);
    ssl.pem_private_key = ReadText(key);
  }
  return grpc::CreateChannel(Addr(port), grpc::SslCredentials(ssl));
}

grpc::Status PutEntity(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                       const std::string& token = "") {
  v1::UpsertEntitiesRequest req;
  *req.add_entities() = annals::testing::Entity(id, "Entity " + id);
  v1::UpsertEntitiesResponse resp;
  return v1::IngestService::NewStub(channel)->UpsertEntities(Ctx(token).get(), req, &resp);
}

grpc::Status GetEntity(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                       const std::string& token = "") {
  v1::GetEntityRequest req;
  req.set_id(id);
  v1::Entity e;
  return v1::QueryService::NewStub(channel)->GetEntity(Ctx(token).get(), req, &e);
}

grpc::Status PutRelation(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  v1::PutRelationsRequest req;
  auto* r = req.add_relations();
  r->set_subject("a");
  r->set_predicate("knows");
  r->set_object_id("b");
  v1::PutRelationsResponse resp;
  return v1::IngestService::NewStub(channel)->PutRelations(Ctx(token).get(), req, &resp);
}

// One Ingest stream with one batch of entity `id`; the stream's final status.
grpc::Status IngestEntity(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                          const std::string& token) {
  auto ctx = Ctx(token);
  auto stream = v1::IngestService::NewStub(channel)->Ingest(ctx.get());
  v1::IngestRequest req;
  auto* e = req.add_entities();
  e->set_id(id);
  e->set_label("Entity " + id);
  stream->Write(req);
  stream->WritesDone();
  v1::IngestResponse ack;
  while (stream->Read(&ack)) {
  }
  return stream->Finish();
}

// Opens a Watch from revision 0 and reads one change (or the end); the stream's status
// when it ended, OK when a change arrived.
grpc::Status WatchOne(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  auto ctx = Ctx(token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchRequest req;
  auto stream = v1::DiffService::NewStub(channel)->Watch(ctx.get(), req);
  v1::Change change;
  if (stream->Read(&change)) {
    ctx->TryCancel();
    stream->Finish();
    return grpc::Status::OK;
  }
  return stream->Finish();
}

grpc::Status Backup(const std::shared_ptr<grpc::Channel>& channel, const std::string& dir, const std::string& token) {
  v1::BackupRequest req;
  req.set_target_dir(dir);
  v1::BackupResponse resp;
  return v1::AdminService::NewStub(channel)->Backup(Ctx(token).get(), req, &resp);
}

HealthCheckResponse::ServingStatus Health(const std::shared_ptr<grpc::Channel>& channel, grpc::Status* status = nullptr) {
  grpc::health::v1::HealthCheckRequest req;
  HealthCheckResponse resp;
  grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(Ctx().get(), req, &resp);
  if (status) *status = s;
  EXPECT_TRUE(s.ok() || status) << s.error_code() << " " << s.error_message();
  return resp.status();
}

// ---- the method -> scope table ----

TEST(ScopeTableTest, EveryMethodOfEveryServiceHasItsScope) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  // Linking the generated code registers the descriptors.
  (void)v1::IngestService::service_full_name();
  (void)v1::QueryService::service_full_name();
  (void)v1::DiffService::service_full_name();
  (void)v1::AdminService::service_full_name();
  const std::pair<const char*, Scope> services[] = {{"annals.v1.IngestService", Scope::kWrite},
                                                    {"annals.v1.QueryService", Scope::kRead},
                                                    {"annals.v1.DiffService", Scope::kRead},
                                                    {"annals.v1.AdminService", Scope::kAdmin}};
  int methods = 0;
  for (const auto& [name, scope] : services) {
    const auto* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i, ++methods) {
      const std::string path = "/" + std::string(name) + "/" + service->method(i)->name();
      const service::MethodAccess access = service::RequiredAccess(path);
      EXPECT_FALSE(access.open) << path;
      ASSERT_TRUE(access.scope.has_value()) << path;
      EXPECT_EQ(*access.scope, scope) << path;
    }
  }
  EXPECT_GE(methods, 20);
  EXPECT_TRUE(service::RequiredAccess("/grpc.health.v1.Health/Check").open);
  EXPECT_TRUE(service::RequiredAccess("/grpc.health.v1.Health/Watch").open);
  EXPECT_TRUE(service::RequiredAccess("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo").open);
  // Unknown methods, and names that only look like the open ones, need a token.
  for (const char* path : {"/grpc.health.v1.Health/", "/grpc.health.v1.HealthX/Check", "/annals.v1.Other/Get", "",
                           "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    EXPECT_FALSE(service::RequiredAccess(path).open) << path;
    EXPECT_FALSE(service::RequiredAccess(path).scope.has_value()) << path;
  }
  EXPECT_TRUE(service::Grants(Scope::kAdmin, Scope::kWrite));
  EXPECT_TRUE(service::Grants(Scope::kWrite, Scope::kRead));
  EXPECT_FALSE(service::Grants(Scope::kRead, Scope::kWrite));
  EXPECT_FALSE(service::Grants(Scope::kWrite, Scope::kAdmin));
}

// ---- the tokens file ----

TEST(TokensFileTest, MalformedLinesAreNamedAndNeverQuoteTheToken) {
  struct Case {
    std::string text;
    std::string expected;  // the message starts with "tokens:LINE: " and contains this
  };
  const std::string secret = "s3cret-value-0123456789";
  for (const Case& c : std::vector<Case>{
           {"# comment\nreed " + secret + "\n", "tokens:2: the scope must be read, write or admin"},
           {"read " + secret + "\nwrite short\n", "tokens:2: the token must be 16 to 4096 characters long"},
           {"\n\nread\n", "tokens:3: expected 'SCOPE TOKEN [NAME]', found 1 field(s)"},
           {"read " + secret + " name extra\n", "tokens:1: expected 'SCOPE TOKEN [NAME]', found 4 field(s)"},
           {"read " + secret + " bad/name\n", "tokens:1: the name must be"},
           {"read " + secret + "\x01x\n", "tokens:1: the token must be printable ASCII"},
           {"read " + secret + "\n# x\nadmin " + secret + "\n", "tokens:3: the same token as line 1"},
           {"# only comments\n\n", "tokens: no tokens"},
       }) {
    auto table = service::TokenTable::Parse(c.text, "tokens");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(table.status().message());
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

TEST(TokensFileTest, ParsesScopesNamesCommentsAndFindsTokens) {
  auto table = service::TokenTable::Parse(
      std::string("# header\r\n  \n\tREAD ") + kReadToken + "\r\nwrite " + kWriteToken + " ci-loader\n  # indented\nadmin " +
          kAdminToken,
      "t");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 3u);
  EXPECT_EQ(table->Count(Scope::kRead), 1u);
  const auto* read = table->Find(kReadToken);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->scope, Scope::kRead);
  EXPECT_EQ(read->name, "line 3");
  ASSERT_NE(table->Find(kWriteToken), nullptr);
  EXPECT_EQ(table->Find(kWriteToken)->name, "ci-loader");
  EXPECT_EQ(table->Find(kAdminToken)->scope, Scope::kAdmin);
  EXPECT_EQ(table->Find(std::string(kReadToken) + "x"), nullptr);
  EXPECT_EQ(table->Find(std::string(kReadToken).substr(1)), nullptr);
  EXPECT_EQ(table->Find(""), nullptr);
}

TEST(TokensFileTest, ABadFileRefusesToStartNamingTheLine) {
  TempDir dir;
  auto config = Config(dir);
  config.tokens_file = dir.Sub("tokens");
  WriteText(config.tokens_file, std::string("read ") + kReadToken + "\nwrite\n");
  std::ostringstream log;
  auto server = service::AnnalsServer::Start(config, log);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(std::string(server.status().message()), config.tokens_file + ":2: expected 'SCOPE TOKEN [NAME]', found 1 field(s)");
  config.tokens_file = dir.Sub("missing");
  server = service::AnnalsServer::Start(config, log);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(std::string(server.status().message()).find("cannot open the tokens file"), std::string::npos);
}

// ---- bearer tokens ----

class TokenTest : public ::testing::TestWithParam<bool> {  // the parameter: TLS on
 protected:
  void SetUp() override {
    auto config = Config(dir_);
    config.tokens_file = TokensFile(dir_);
    config.backup_root = dir_.Sub("backups");
    if (GetParam()) {
      certs_ = Certs::Make(dir_.path());
      config.tls = {certs_.server_cert, certs_.server_key, ""};
    }
    server_ = StartOrFail(config);
    ASSERT_TRUE(server_);
    channel_ = GetParam() ? Tls(server_->port(), certs_.ca) : Plain(server_->port());
  }
  int64_t Revision() { return server_->store()->LatestRevision(); }

  TempDir dir_;
  Certs certs_;
  std::unique_ptr<service::AnnalsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(TokenTest, NoTokenIsUnauthenticatedOnEveryKindOfCall) {
  for (const grpc::Status& s : {PutEntity(channel_, "a"), GetEntity(channel_, "a"), IngestEntity(channel_, "a", ""),
                                WatchOne(channel_, ""), Backup(channel_, dir_.Sub("backups/b1"), "")}) {
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_NE(s.error_message().find("authorization: Bearer"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(Revision(), 0);
}

TEST_P(TokenTest, BadOrMalformedTokensAreUnauthenticated) {
  const std::string wrong = std::string(kWriteToken) + "x";
  EXPECT_EQ(PutEntity(channel_, "a", wrong).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(IngestEntity(channel_, "a", wrong).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetEntity(channel_, "a", "short").error_code(), StatusCode::UNAUTHENTICATED);
  for (const std::string& value : {std::string("Basic ") + kWriteToken, std::string(kWriteToken), std::string("Bearer")}) {
    auto ctx = Ctx();
    ctx->AddMetadata("authorization", value);
    v1::GetEntityRequest req;
    req.set_id("a");
    v1::Entity e;
    grpc::Status s = v1::QueryService::NewStub(channel_)->GetEntity(ctx.get(), req, &e);
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << value;
    EXPECT_EQ(s.error_message().find(kWriteToken), std::string::npos) << s.error_message();
  }
  {  // two values: refused even when one is good
    auto ctx = Ctx(kWriteToken);
    ctx->AddMetadata("authorization", std::string("Bearer ") + kReadToken);
    v1::GetEntityRequest req;
    req.set_id("a");
    v1::Entity e;
    EXPECT_EQ(v1::QueryService::NewStub(channel_)->GetEntity(ctx.get(), req, &e).error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(Revision(), 0);
}

TEST_P(TokenTest, ReadTokenCannotWriteAndNothingIsWritten) {
  for (const grpc::Status& s : {PutEntity(channel_, "a", kReadToken), PutRelation(channel_, kReadToken),
                                IngestEntity(channel_, "a", kReadToken)}) {
    EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_NE(s.error_message().find("token 'reader' has scope read"), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find("needs write"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(Revision(), 0);
  EXPECT_EQ(GetEntity(channel_, "a", kReadToken).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(TokenTest, WriteTokenWritesAndReadTokenReads) {
  ASSERT_TRUE(PutEntity(channel_, "a", kWriteToken).ok());
  ASSERT_TRUE(IngestEntity(channel_, "b", kWriteToken).ok());
  EXPECT_EQ(Revision(), 2);
  EXPECT_TRUE(GetEntity(channel_, "a", kReadToken).ok());
  EXPECT_TRUE(GetEntity(channel_, "b", kWriteToken).ok());  // write includes read
  EXPECT_TRUE(WatchOne(channel_, kReadToken).ok());
  // The "Bearer" scheme is case-insensitive.
  auto ctx = Ctx();
  ctx->AddMetadata("authorization", std::string("bearer ") + kReadToken);
  v1::GetEntityRequest req;
  req.set_id("a");
  v1::Entity e;
  EXPECT_TRUE(v1::QueryService::NewStub(channel_)->GetEntity(ctx.get(), req, &e).ok());
}

TEST_P(TokenTest, BackupNeedsTheAdminScope) {
  grpc::Status s = Backup(channel_, dir_.Sub("backups/b1"), kWriteToken);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("backups/b1")));
  s = Backup(channel_, dir_.Sub("backups/b2"), kAdminToken);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("backups/b2")));
}

TEST_P(TokenTest, HealthNeedsNoToken) {
  EXPECT_EQ(Health(channel_), HealthCheckResponse::SERVING);
}

TEST_P(TokenTest, ReloadSwapsTokensAndKeepsThemOnABadFile) {
  ASSERT_TRUE(GetEntity(channel_, "a", kReadToken).error_code() == StatusCode::NOT_FOUND);
  const std::string fresh = "fresh-0123456789abcdef";
  WriteText(dir_.Sub("tokens"), "write " + fresh + "\n");
  ASSERT_TRUE(server_->ReloadTokens().ok());
  EXPECT_EQ(GetEntity(channel_, "a", kReadToken).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(PutEntity(channel_, "a", fresh).ok());
  WriteText(dir_.Sub("tokens"), "write\n");
  absl::Status reload = server_->ReloadTokens();
  EXPECT_FALSE(reload.ok());
  EXPECT_NE(std::string(reload.message()).find(":1: expected"), std::string::npos) << reload;
  EXPECT_TRUE(GetEntity(channel_, "a", fresh).ok());  // the previous table stays
}

INSTANTIATE_TEST_SUITE_P(PlaintextAndTls, TokenTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Tls" : "Plaintext"; });

// ---- TLS and mutual TLS ----

TEST(TlsTest, CallsWorkWithTheCaAndFailWithoutTls) {
  TempDir dir;
  Certs certs = Certs::Make(dir.path());
  auto config = Config(dir);
  config.tls = {certs.server_cert, certs.server_key, ""};
  auto server = StartOrFail(config);
  ASSERT_TRUE(server);
  auto tls = Tls(server->port(), certs.ca);
  grpc::Status s = PutEntity(tls, "a");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(GetEntity(tls, "a").ok());
  // A plaintext client cannot talk to the TLS port.
  s = GetEntity(Plain(server->port()), "a");
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  // Nor a TLS client that does not trust the CA.
  s = GetEntity(Tls(server->port(), certs.dir + "/other-ca.pem"), "a");
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(server->store()->LatestRevision(), 1);
}

TEST(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  TempDir dir;
  Certs certs = Certs::Make(dir.path());
  auto config = Config(dir);
  config.tls = {certs.server_cert, certs.server_key, certs.ca};
  auto server = StartOrFail(config);
  ASSERT_TRUE(server);
  grpc::Status s = PutEntity(Tls(server->port(), certs.ca), "a");
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << "no client certificate: " << s.error_message();
  s = PutEntity(Tls(server->port(), certs.ca, certs.other_client_cert, certs.other_client_key), "a");
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << "a certificate of another CA: " << s.error_message();
  EXPECT_EQ(server->store()->LatestRevision(), 0);
  auto good = Tls(server->port(), certs.ca, certs.client_cert, certs.client_key);
  s = PutEntity(good, "a");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(GetEntity(good, "a").ok());
}

TEST(TlsTest, BadTlsConfigurationRefusesToStart) {
  TempDir dir;
  Certs certs = Certs::Make(dir.path());
  auto config = Config(dir);
  std::ostringstream log;
  struct Case {
    service::TlsFiles tls;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{certs.server_cert, "", ""}, "TLS needs both --tls-cert and --tls-key"},
           {{"", "", certs.ca}, "TLS needs both --tls-cert and --tls-key"},
           {{dir.Sub("none.pem"), certs.server_key, ""}, "--tls-cert " + dir.Sub("none.pem") + ": cannot open"},
           {{certs.server_key, certs.server_key, ""}, "not a PEM file holding 'CERTIFICATE-----'"},
           {{certs.server_cert, certs.server_cert, ""}, "--tls-key"},
           // A key that is not the certificate's.
           {{certs.server_cert, certs.client_key, ""}, "is not the private key of the certificate in --tls-cert"},
       }) {
    config.tls = c.tls;
    auto server = service::AnnalsServer::Start(config, log);
    ASSERT_FALSE(server.ok()) << c.expected;
    EXPECT_NE(std::string(server.status().message()).find(c.expected), std::string::npos) << server.status();
  }
}

// ---- the plaintext health port ----

TEST(HealthPortTest, MirrorsTheServingPortWhileTlsIsOn) {
  TempDir dir;
  Certs certs = Certs::Make(dir.path());
  auto config = Config(dir);
  config.tls = {certs.server_cert, certs.server_key, certs.ca};
  config.tokens_file = TokensFile(dir);
  config.health_listen = "127.0.0.1:0";
  std::unique_ptr<service::AnnalsServer> server = StartOrFail(config);
  ASSERT_TRUE(server);
  ASSERT_NE(server->health_port(), 0);
  ASSERT_NE(server->health_port(), server->port());
  auto health = Plain(server->health_port());
  EXPECT_EQ(Health(health), HealthCheckResponse::SERVING);
  for (const char* name : {"annals.v1.IngestService", "annals.v1.QueryService", "annals.v1.DiffService",
                           "annals.v1.AdminService"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    HealthCheckResponse resp;
    ASSERT_TRUE(grpc::health::v1::Health::NewStub(health)->Check(Ctx().get(), req, &resp).ok()) << name;
    EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING) << name;
  }
  // Only health there: the Annals services are not served on it, even with a token.
  grpc::Status s = GetEntity(health, "a", kReadToken);
  EXPECT_EQ(s.error_code(), StatusCode::UNIMPLEMENTED) << s.error_message();
  // The serving port itself needs TLS and a client certificate, even for health.
  grpc::Status plain_status;
  Health(Plain(server->port()), &plain_status);
  EXPECT_EQ(plain_status.error_code(), StatusCode::UNAVAILABLE);
  // Draining: the health port turns NOT_SERVING with the serving port.
  annals::testing::ExpectNotServingWhenStopped(health, [&] { server->Shutdown(); });
}

TEST(HealthPortTest, NotServingWhileTheDatabaseOpens) {
  TempDir dir;
  auto config = Config(dir);
  // A fixed free port is needed before Start returns: take one from a throwaway server.
  int free_port = 0;
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &free_port);
    grpc::health::v1::Health::CallbackService unused;
    builder.RegisterService(&unused);
    auto probe = builder.BuildAndStart();
    ASSERT_NE(free_port, 0);
    probe->Shutdown();
  }
  config.health_listen = Addr(free_port);
  bool observed = false;
  config.before_open = [&](int) {
    EXPECT_EQ(Health(Plain(free_port)), HealthCheckResponse::NOT_SERVING);
    observed = true;
  };
  auto server = StartOrFail(config);
  ASSERT_TRUE(server);
  EXPECT_TRUE(observed);
  EXPECT_EQ(Health(Plain(free_port)), HealthCheckResponse::SERVING);
}

// ---- limits ----

TEST(LimitsTest, AnOversizedMessageIsResourceExhaustedAndNothingIsWritten) {
  TempDir dir;
  auto config = Config(dir);
  config.max_message_bytes = 64 * 1024;
  auto server = StartOrFail(config);
  ASSERT_TRUE(server);
  auto channel = Plain(server->port());
  v1::UpsertEntitiesRequest req;
  for (int i = 0; i < 3; ++i) {
    auto* e = req.add_entities();
    e->set_id("e" + std::to_string(i));
    e->set_label("Entity");
    e->set_description(std::string(30 * 1024, 'x'));
  }
  ASSERT_GT(req.ByteSizeLong(), 64u * 1024);
  v1::UpsertEntitiesResponse resp;
  grpc::Status s = v1::IngestService::NewStub(channel)->UpsertEntities(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(server->store()->LatestRevision(), 0);
  req.mutable_entities()->DeleteSubrange(1, 2);  // 30 KiB fits
  s = v1::IngestService::NewStub(channel)->UpsertEntities(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// A health service whose calls take `delay`: the budget interceptor on a server of its own.
class SlowHealth final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit SlowHealth(std::chrono::milliseconds delay) : delay_(delay) {}
  ~SlowHealth() override {
    for (auto& t : threads_) t.join();
  }
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const grpc::health::v1::HealthCheckRequest*,
                                  grpc::health::v1::HealthCheckResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    std::lock_guard lock(mu_);
    threads_.emplace_back([this, reactor, resp] {
      std::this_thread::sleep_for(delay_);
      resp->set_status(HealthCheckResponse::SERVING);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }
  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext*,
                                                       const grpc::health::v1::HealthCheckRequest*) override {
    class Writer final : public grpc::ServerWriteReactor<HealthCheckResponse> {
     public:
      Writer(std::chrono::milliseconds delay, std::mutex* mu, std::vector<std::thread>* threads) {
        resp_.set_status(HealthCheckResponse::SERVING);
        std::lock_guard lock(*mu);
        threads->emplace_back([this, delay] {
          std::this_thread::sleep_for(delay);
          StartWriteAndFinish(&resp_, grpc::WriteOptions(), grpc::Status::OK);
        });
      }
      void OnDone() override { delete this; }

     private:
      HealthCheckResponse resp_;
    };
    return new Writer(delay_, &mu_, &threads_);
  }

 private:
  const std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

struct BudgetServer {
  SlowHealth service{std::chrono::milliseconds(1500)};
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  explicit BudgetServer(service::CallBudget budget) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(service::CallBudgetInterceptorFactory(budget));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server = builder.BuildAndStart();
  }
  ~BudgetServer() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5)); }
};

// A Check on `port` with `deadline` (none when zero); its status and how long it took.
std::pair<grpc::Status, double> TimedCheck(int port, std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  if (deadline.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::health::v1::HealthCheckRequest req;
  HealthCheckResponse resp;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = grpc::health::v1::Health::NewStub(Plain(port))->Check(&ctx, req, &resp);
  return {s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

TEST(CallBudgetTest, ACallWithoutDeadlineGetsTheDefault) {
  BudgetServer b({absl::Milliseconds(200), absl::Seconds(100)});
  auto [s, seconds] = TimedCheck(b.port, std::chrono::milliseconds(0));
  EXPECT_EQ(s.error_code(), StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_NE(s.error_message().find("the call set no deadline"), std::string::npos) << s.error_message();
  EXPECT_LT(seconds, 1.2);  // ended at the budget, not when the handler finished (1.5 s)
}

TEST(CallBudgetTest, AFarDeadlineIsCutToTheMaximum) {
  BudgetServer b({absl::Seconds(100), absl::Milliseconds(200)});
  auto [s, seconds] = TimedCheck(b.port, std::chrono::seconds(60));
  EXPECT_EQ(s.error_code(), StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_NE(s.error_message().find("further away than the server's maximum"), std::string::npos) << s.error_message();
  EXPECT_LT(seconds, 1.2);
}

TEST(CallBudgetTest, CallsWithinBudgetAndStreamsAreUntouched) {
  BudgetServer b({absl::Seconds(5), absl::Seconds(5)});
  auto [s, seconds] = TimedCheck(b.port, std::chrono::seconds(4));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_GE(seconds, 1.4);
  // A server-streaming call with no deadline outlives a budget it would have exceeded.
  BudgetServer tight({absl::Milliseconds(200), absl::Milliseconds(200)});
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  auto watch = grpc::health::v1::Health::NewStub(Plain(tight.port))->Watch(&ctx, req);
  HealthCheckResponse resp;
  EXPECT_TRUE(watch->Read(&resp));
  EXPECT_TRUE(watch->Finish().ok());
  // And a budget of zero is off.
  BudgetServer off({absl::ZeroDuration(), absl::ZeroDuration()});
  EXPECT_TRUE(TimedCheck(off.port, std::chrono::milliseconds(0)).first.ok());
}

// ---- the annals CLI and annalsd, as built ----

// Runs a binary with a clean environment plus `env` ("K=V ..."), output captured.
int RunClean(const std::string& env, const std::string& command, std::string* output) {
  return Run("env -i PATH=/usr/bin:/bin " + env + " " + command, output);
}

TEST(CliTest, TalksToATlsServerWithATokenAndAClientCertificate) {
  TempDir dir;
  Certs certs = Certs::Make(dir.path());
  auto config = Config(dir);
  config.tls = {certs.server_cert, certs.server_key, certs.ca};
  config.tokens_file = TokensFile(dir);
  auto server = StartOrFail(config);
  ASSERT_TRUE(server);
  const std::string cli = std::string(ANNALS_CLI) + " --addr " + Addr(server->port());
  const std::string mtls = " --tls-ca " + certs.ca + " --tls-cert " + certs.client_cert + " --tls-key " + certs.client_key;
  WriteText(dir.Sub("write-token"), std::string(kWriteToken) + "\n");
  std::string out;
  EXPECT_EQ(RunClean("", cli + mtls + " --token-file " + dir.Sub("write-token") + " entity put russia --label Russia", &out), 0)
      << out;
  EXPECT_NE(out.find("written at revision 1"), std::string::npos) << out;
  // ANNALS_TOKEN and the client certificate through the environment.
  EXPECT_EQ(RunClean(std::string("ANNALS_TOKEN=") + kReadToken + " ANNALS_TLS_CA=" + certs.ca + " ANNALS_CLIENT_CERT=" +
                         certs.client_cert + " ANNALS_CLIENT_KEY=" + certs.client_key,
                     cli + " --json entity get russia", &out),
            0)
      << out;
  EXPECT_NE(out.find("\"label\":\"Russia\""), std::string::npos) << out;
  // Wrong scope, no token, no TLS: exit 1 with the code.
  EXPECT_EQ(RunClean("", cli + mtls + " --token " + kReadToken + " entity put x --label X", &out), 1) << out;
  EXPECT_NE(out.find("PERMISSION_DENIED"), std::string::npos) << out;
  EXPECT_EQ(RunClean("", cli + mtls + " entity get russia", &out), 1) << out;
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_EQ(RunClean("", cli + " --timeout 5 --token " + std::string(kReadToken) + " entity get russia", &out), 1) << out;
  EXPECT_NE(out.find("UNAVAILABLE"), std::string::npos) << out;
  // Unreadable files are usage errors.
  EXPECT_EQ(RunClean("", cli + " --tls-ca " + dir.Sub("none") + " entity get russia", &out), 2) << out;
  EXPECT_NE(out.find("--tls-ca " + dir.Sub("none") + ": cannot open"), std::string::npos) << out;
  // Watch (a stream opened outside Connection::Call) carries the token too.
  EXPECT_EQ(RunClean("", "timeout -s INT 3 " + cli + mtls + " --token " + kReadToken + " --json watch", &out), 124) << out;
  EXPECT_NE(out.find("russia"), std::string::npos) << out;
  EXPECT_EQ(server->store()->LatestRevision(), 1);
}

TEST(AnnalsdTest, RefusesABadTokensFileNamingTheLine) {
  TempDir dir;
  WriteText(dir.Sub("tokens"), std::string("read ") + kReadToken + "\nwrite t00-sh0rt\n");
  std::string out;
  const int code = RunClean("ANNALS_TOKENS_FILE=" + dir.Sub("tokens"),
                            std::string(ANNALSD) + " --listen 127.0.0.1:0 --metrics-listen '' --db " + dir.Sub("db"), &out);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(dir.Sub("tokens") + ":2: the token must be 16 to 4096 characters long"), std::string::npos) << out;
  EXPECT_EQ(out.find("t00-sh0rt"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("db")));
}

}  // namespace
}  // namespace annals
