// Operating the server through real annalsd servers on 127.0.0.1:0: AdminService.Backup
// and restoring from a backup, the Prometheus endpoint, and health during start-up and
// drain.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "annals/v1/admin.grpc.pb.h"
#include "annals/v1/diff.grpc.pb.h"
#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "service/admin_service.h"
#include "service/server.h"
#include "tests/support/api_records.h"
#include "tests/support/health.grpc.pb.h"
#include "tests/support/health_watch.h"
#include "tests/support/temp_dir.h"

namespace annals {
namespace {

namespace fs = std::filesystem;
using annals::testing::TempDir;
using grpc::health::v1::HealthCheckResponse;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

// One server and stubs for it.
struct Running {
  std::unique_ptr<service::AnnalsServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::IngestService::Stub> ingest;
  std::unique_ptr<v1::QueryService::Stub> query;
  std::unique_ptr<v1::AdminService::Stub> admin;

  static Running Start(service::ServerConfig config) {
    Running r;
    std::ostringstream log;
    auto server = service::AnnalsServer::Start(config, log);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return r;
    r.server = std::move(*server);
    r.channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(r.server->port()), grpc::InsecureChannelCredentials());
    r.ingest = v1::IngestService::NewStub(r.channel);
    r.query = v1::QueryService::NewStub(r.channel);
    r.admin = v1::AdminService::NewStub(r.channel);
    return r;
  }

  // Writes entity `id` alone as one commit; returns its revision.
  int64_t Put(const std::string& id) {
    v1::UpsertEntitiesRequest req;
    *req.add_entities() = annals::testing::Entity(id, "Entity " + id);
    v1::UpsertEntitiesResponse resp;
    grpc::Status s = ingest->UpsertEntities(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.revision();
  }
  bool Has(const std::string& id) {
    v1::GetEntityRequest req;
    req.set_id(id);
    v1::Entity e;
    grpc::Status s = query->GetEntity(Ctx().get(), req, &e);
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) << s.error_message();
    return s.ok();
  }
  grpc::Status Backup(const std::string& dir, v1::BackupResponse* resp = nullptr) {
    v1::BackupRequest req;
    req.set_target_dir(dir);
    v1::BackupResponse ignored;
    return admin->Backup(Ctx().get(), req, resp ? resp : &ignored);
  }
};

service::ServerConfig Config(const std::string& db) {
  service::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.db_path = db;
  config.drain_timeout = absl::Seconds(5);
  return config;
}

// A restore as deploy/README.md describes it: a copy of the backup directory.
std::string CopyOf(const std::string& backup, const std::string& to) {
  fs::copy(backup, to, fs::copy_options::recursive);
  return to;
}

TEST(AdminBackupTest, RefusesBadTargetsNamingTheField) {
  TempDir dir;
  auto r = Running::Start(Config(dir.Sub("db")));
  ASSERT_TRUE(r.server);
  struct Case {
    std::string target;
    grpc::StatusCode code;
  };
  fs::create_directories(dir.Sub("taken"));
  for (const Case& c : std::vector<Case>{
           {"", grpc::StatusCode::INVALID_ARGUMENT},
           {"relative/backup", grpc::StatusCode::INVALID_ARGUMENT},
           {dir.Sub("x/../escape"), grpc::StatusCode::INVALID_ARGUMENT},
           {dir.Sub("taken"), grpc::StatusCode::ALREADY_EXISTS},
           {dir.Sub("db"), grpc::StatusCode::ALREADY_EXISTS},
           {dir.Sub("no/such/parent"), grpc::StatusCode::FAILED_PRECONDITION},
       }) {
    grpc::Status s = r.Backup(c.target);
    EXPECT_EQ(s.error_code(), c.code) << "'" << c.target << "': " << s.error_message();
    EXPECT_EQ(s.error_message().rfind("target_dir: ", 0), 0u) << s.error_message();
  }
  EXPECT_FALSE(fs::exists(dir.Sub("escape")));
  EXPECT_FALSE(fs::exists(dir.Sub("no")));
}

TEST(AdminBackupTest, BackupRootConfinesTargets) {
  TempDir dir;
  fs::create_directories(dir.Sub("backups"));
  auto config = Config(dir.Sub("db"));
  config.backup_root = dir.Sub("backups");
  auto r = Running::Start(config);
  ASSERT_TRUE(r.server);
  grpc::Status outside = r.Backup(dir.Sub("elsewhere"));
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << outside.error_message();
  EXPECT_NE(outside.error_message().find("--backup-root"), std::string::npos) << outside.error_message();
  EXPECT_EQ(r.Backup(dir.Sub("backups")).error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // the root itself
  EXPECT_TRUE(r.Backup(dir.Sub("backups/one")).ok());
  EXPECT_TRUE(fs::exists(dir.Sub("backups/one/CURRENT")));
  // The same rule as a function, for the lexical cases.
  EXPECT_TRUE(service::ValidateBackupDir("/b/x", "/b").ok());
  EXPECT_TRUE(service::ValidateBackupDir("/b/x", "/b/").ok());
  EXPECT_FALSE(service::ValidateBackupDir("/bx/y", "/b").ok());
  EXPECT_FALSE(service::ValidateBackupDir("/b/../c", "/b").ok());
}

// Write, back up, write more, restore a copy of the backup into a new server: exactly the
// backed-up revision's data is there, the later writes are not, and the restored server
// takes writes again from the next revision.
TEST(AdminBackupTest, RestoreFromBackupHasExactlyTheBackedUpRevision) {
  TempDir dir;
  auto r = Running::Start(Config(dir.Sub("db")));
  ASSERT_TRUE(r.server);
  ASSERT_EQ(r.Put("before-1"), 1);
  ASSERT_EQ(r.Put("before-2"), 2);
  v1::BackupResponse backup;
  ASSERT_TRUE(r.Backup(dir.Sub("backup"), &backup).ok());
  EXPECT_EQ(backup.revision(), 2);
  EXPECT_EQ(backup.target_dir(), dir.Sub("backup"));
  EXPECT_GT(backup.size_bytes(), 0);
  EXPECT_GT(backup.taken_at().seconds(), 0);
  ASSERT_EQ(r.Put("after-1"), 3);
  ASSERT_EQ(r.Put("after-2"), 4);
  r.server.reset();

  auto restored = Running::Start(Config(CopyOf(dir.Sub("backup"), dir.Sub("restored"))));
  ASSERT_TRUE(restored.server);
  EXPECT_EQ(restored.server->store()->LatestRevision(), 2);
  EXPECT_TRUE(restored.Has("before-1"));
  EXPECT_TRUE(restored.Has("before-2"));
  EXPECT_FALSE(restored.Has("after-1"));
  EXPECT_FALSE(restored.Has("after-2"));
  EXPECT_EQ(restored.Put("restored-1"), 3);
  // The backup itself was not touched by the restored server.
  restored.server.reset();
  auto original = Running::Start(Config(dir.Sub("backup")));
  ASSERT_TRUE(original.server);
  EXPECT_EQ(original.server->store()->LatestRevision(), 2);
}

// A backup cut while a client commits continuously holds every commit up to the revision
// it reports and none after it.
TEST(AdminBackupTest, BackupUnderConcurrentWritesIsExactlyOneRevision) {
  TempDir dir;
  auto r = Running::Start(Config(dir.Sub("db")));
  ASSERT_TRUE(r.server);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int64_t, std::string> written;  // revision -> entity id
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      const std::string id = "w-" + std::to_string(i);
      const int64_t rev = r.Put(id);
      std::lock_guard<std::mutex> lock(mu);
      written[rev] = id;
    }
  });
  auto wait_for = [&](size_t n) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (written.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  wait_for(50);
  v1::BackupResponse backup;
  ASSERT_TRUE(r.Backup(dir.Sub("backup"), &backup).ok());
  size_t at_backup;
  {
    std::lock_guard<std::mutex> lock(mu);
    at_backup = written.size();
  }
  wait_for(at_backup + 50);  // writes go on after the backup
  stop = true;
  writer.join();
  r.server.reset();

  auto restored = Running::Start(Config(CopyOf(dir.Sub("backup"), dir.Sub("restored"))));
  ASSERT_TRUE(restored.server);
  EXPECT_EQ(restored.server->store()->LatestRevision(), backup.revision());
  int present = 0, absent = 0;
  for (const auto& [rev, id] : written) {
    const bool has = restored.Has(id);
    EXPECT_EQ(has, rev <= backup.revision()) << id << " written at revision " << rev << ", backup at "
                                             << backup.revision();
    (has ? present : absent)++;
  }
  EXPECT_GE(present, 50);
  EXPECT_GE(absent, 50);
}

// ---- health ----

HealthCheckResponse::ServingStatus Health(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  grpc::Status s = stub->Check(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.status();
}

TEST(HealthTest, NotServingWhileTheDatabaseOpensThenServing) {
  TempDir dir;
  auto config = Config(dir.Sub("db"));
  bool observed = false;
  config.before_open = [&](int port) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    for (const char* name : {"", "annals.v1.IngestService", "annals.v1.QueryService", "annals.v1.AdminService"})
      EXPECT_EQ(Health(channel, name), HealthCheckResponse::NOT_SERVING) << name;
    // And the services answer UNAVAILABLE (retryable) rather than anything else.
    v1::GetEntityRequest req;
    req.set_id("x");
    v1::Entity e;
    grpc::Status s = v1::QueryService::NewStub(channel)->GetEntity(Ctx().get(), req, &e);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    observed = true;
  };
  auto r = Running::Start(config);
  ASSERT_TRUE(r.server);
  EXPECT_TRUE(observed);
  for (const char* name : {"", "annals.v1.IngestService", "annals.v1.QueryService", "annals.v1.DiffService",
                           "annals.v1.AdminService"})
    EXPECT_EQ(Health(r.channel, name), HealthCheckResponse::SERVING) << name;
}

TEST(HealthTest, TurnsNotServingWhenDrainingBegins) {
  TempDir dir;
  auto r = Running::Start(Config(dir.Sub("db")));
  ASSERT_TRUE(r.server);
  annals::testing::ExpectNotServingWhenStopped(r.channel, [&] { r.server->Shutdown(); });
}

// ---- metrics ----

// GET http://127.0.0.1:port/metrics, the body.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    ADD_FAILURE() << "cannot connect to the metrics port " << port;
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample line starting with `series` ("name{labels}" exactly as
// exposed), or -1 when there is none.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

TEST(MetricsTest, CountsCallsRowsAndReportsStoreFigures) {
  TempDir dir;
  auto config = Config(dir.Sub("db"));
  config.metrics_listen = "127.0.0.1:0";
  auto r = Running::Start(config);
  ASSERT_TRUE(r.server);
  const int port = r.server->metrics_port();
  ASSERT_GT(port, 0);

  r.Put("pakistan");
  r.Put("russia");
  v1::PutRelationsRequest rels;
  for (int i = 0; i < 3; ++i) {
    auto* rel = rels.add_relations();
    rel->set_subject("russia");
    rel->set_predicate("p" + std::to_string(i));
    rel->set_object_id("pakistan");
  }
  v1::PutRelationsResponse rels_resp;
  ASSERT_TRUE(r.ingest->PutRelations(Ctx().get(), rels, &rels_resp).ok());
  v1::PutRelationsRequest bad;
  bad.add_relations()->set_subject("russia");  // no predicate
  EXPECT_EQ(r.ingest->PutRelations(Ctx().get(), bad, &rels_resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(r.Has("russia"));
  ASSERT_TRUE(r.Backup(dir.Sub("backup")).ok());

  // A Watch open while scraping.
  auto diff = v1::DiffService::NewStub(r.channel);
  grpc::ClientContext watch_ctx;
  v1::WatchRequest watch_req;
  watch_req.set_from_revision(3);
  auto watch = diff->Watch(&watch_ctx, watch_req);
  // Wait until the server has the stream (it is counted when the handler ran).
  std::string text;
  for (int i = 0; i < 500; ++i) {
    text = Scrape(port);
    if (Sample(text, "annals_watch_streams_open") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Sample(text, "annals_watch_streams_open"), 1) << text;

  const std::string ingest = "grpc_service=\"annals.v1.IngestService\"";
  EXPECT_EQ(Sample(text, "annals_grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"UpsertEntities\"," + ingest + "}"), 2)
      << text;
  EXPECT_EQ(Sample(text, "annals_grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"PutRelations\"," + ingest + "}"), 1);
  EXPECT_EQ(Sample(text, "annals_grpc_server_handled_total{grpc_code=\"INVALID_ARGUMENT\",grpc_method=\"PutRelations\"," +
                             ingest + "}"),
            1);
  EXPECT_EQ(Sample(text, "annals_grpc_server_handling_seconds_count{grpc_code=\"OK\",grpc_method=\"PutRelations\"," +
                             ingest + "}"),
            1);
  EXPECT_EQ(Sample(text, "annals_grpc_server_handling_seconds_bucket{grpc_code=\"OK\",grpc_method=\"PutRelations\"," +
                             ingest + ",le=\"+Inf\"}"),
            1);
  EXPECT_EQ(Sample(text, "annals_rows_written_total{kind=\"entity\"}"), 2);
  EXPECT_EQ(Sample(text, "annals_rows_written_total{kind=\"relation\"}"), 3);
  EXPECT_EQ(Sample(text, "annals_rows_written_total{kind=\"document\"}"), 0);
  EXPECT_EQ(Sample(text, "annals_commits_total"), 3);
  EXPECT_EQ(Sample(text, "annals_revision"), 3);
  EXPECT_EQ(Sample(text, "annals_serving"), 1);
  EXPECT_EQ(Sample(text, "annals_backups_total{result=\"ok\"}"), 1);
  EXPECT_EQ(Sample(text, "annals_backup_last_success_revision"), 3);
  // The backup flushed the memtables: table files exist now.
  EXPECT_GT(Sample(text, "annals_rocksdb_live_sst_bytes"), 0);
  EXPECT_GE(Sample(text, "annals_rocksdb_memtable_bytes"), 0);
  EXPECT_GT(Sample(text, "annals_rocksdb_table_readers_bytes"), 0);
  EXPECT_GT(Sample(text, "annals_rocksdb_block_cache_capacity_bytes"), 0);
  EXPECT_GE(Sample(text, "annals_rocksdb_block_cache_hits_total"), 0);
  EXPECT_GE(Sample(text, "annals_rocksdb_block_cache_misses_total"), 0);

  watch_ctx.TryCancel();
  v1::Change change;
  while (watch->Read(&change)) {
  }
  watch->Finish();
}

TEST(MetricsTest, AnAddressInUseFailsStartUnlessOptional) {
  TempDir dir;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto config = Config(dir.Sub("db"));
  config.metrics_listen = taken;
  std::ostringstream log;
  auto failed = service::AnnalsServer::Start(config, log);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(std::string(failed.status().message()).find("metrics"), std::string::npos) << failed.status();

  config.metrics_optional = true;
  auto started = service::AnnalsServer::Start(config, log);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ((*started)->metrics_port(), 0);
  EXPECT_NE(log.str().find("serving without metrics"), std::string::npos) << log.str();
  close(fd);
}

}  // namespace
}  // namespace annals
