#include "service/server.h"
#include "absl/strings/str_join.h"
#include <unistd.h>
#include <iostream>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <filesystem>

#include <algorithm>
#include <climits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/admin_service.h"
#include "service/ingest_service.h"
#include "service/jsonl_load.h"
#include "service/query_service.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

void AddKeepalive(grpc::ServerBuilder& builder, const KeepalivePolicy& k) {
  auto ms = [](absl::Duration d) { return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX)); };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(k.time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(k.timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, k.permit_without_calls ? 1 : 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, ms(k.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, k.max_ping_strikes);
  // gRPC stops keepalive pings after 2 without data in between by default; a Watch stream
  // can be quiet for hours, and its peer must still be found dead.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

std::string TokenSummary(const TokenTable& tokens) {
  return absl::StrCat(tokens.size(), " token(s): ", tokens.Count(Scope::kRead), " read, ", tokens.Count(Scope::kWrite),
                      " write, ", tokens.Count(Scope::kAdmin), " admin");
}

}  // namespace

AnnalsServer::AnnalsServer() = default;

int AnnalsServer::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

void AnnalsServer::SetServing(bool serving) {
  if (server_) SetHealthStatus(server_->GetHealthCheckService(), serving);
  if (health_port_) health_port_->SetServing(serving);
}

absl::Status AnnalsServer::ReloadTokens() {
  if (!authorizer_) return absl::FailedPreconditionError("no --tokens-file to reload");
  auto tokens = TokenTable::Load(config_.tokens_file);
  if (!tokens.ok()) return tokens.status();
  authorizer_->Replace(std::move(*tokens));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AnnalsServer>> AnnalsServer::Start(const ServerConfig& config, std::ostream& log) {
  std::unique_ptr<AnnalsServer> self(new AnnalsServer());
  self->config_ = config;
  if (config.max_message_bytes <= 0 || config.max_concurrent_streams <= 0)
    return absl::InvalidArgumentError("the message size and stream limits must be positive");
  if (config.call_budget.default_deadline > absl::ZeroDuration() &&
      config.call_budget.max_deadline > absl::ZeroDuration() &&
      config.call_budget.default_deadline > config.call_budget.max_deadline)
    return absl::InvalidArgumentError("--default-deadline-seconds must not exceed --max-deadline-seconds");
  if (!config.tokens_file.empty()) {
    auto tokens = TokenTable::Load(config.tokens_file);
    if (!tokens.ok()) return tokens.status();
    log << "annalsd: bearer tokens required: " << TokenSummary(*tokens) << " from " << config.tokens_file << "\n";
    if (!config.tls.enabled())
      log << "annalsd: warning: bearer tokens on a plaintext port can be read on the network path; use "
             "--tls-cert/--tls-key unless a mesh encrypts the connection\n";
    self->authorizer_ = std::make_shared<Authorizer>(std::move(*tokens));
  }
  if (config.cluster.enabled() && (config.store.retain_revisions || config.store.request_id_ttl))
    return absl::InvalidArgumentError(
        "--retain-revisions and --request-id-ttl-hours are database settings recorded in the commit log; a "
        "cluster member cannot change them alone (set them on the single node before it becomes the first "
        "member; changing them through the cluster is not supported yet)");
  auto credentials = MakeServerCredentials(config.tls, self->authorizer_);
  if (!credentials.ok()) return credentials.status();
  if (!config.backup_root.empty()) {
    // Created up front so that a fresh volume takes backups at once (their parent must exist).
    std::error_code ec;
    std::filesystem::create_directories(config.backup_root, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("--backup-root ", config.backup_root, ": ", ec.message()));
  }
  if (!config.health_listen.empty()) {
    auto health = HealthPort::Start(config.health_listen);
    if (!health.ok()) return health.status();
    self->health_port_ = std::move(*health);
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
  self->admin_ = std::make_unique<AdminServiceImpl>(&self->slot_, config.db_path, config.backup_root,
                                                    std::move(on_backup));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &self->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  AddKeepalive(builder, config.keepalive);
  builder.RegisterService(self->ingest_.get());
  builder.RegisterService(self->query_.get());
  builder.RegisterService(self->diff_.get());
  builder.RegisterService(self->admin_.get());
  if (config.cluster.enabled()) {
    self->replication_ = std::make_unique<cluster::ReplicationService>();
    builder.RegisterService(self->replication_.get());
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // The budget first: it may replace the status that the metrics interceptor then records.
  if (config.call_budget.enabled()) interceptors.push_back(CallBudgetInterceptorFactory(config.call_budget));
  if (metrics != nullptr) interceptors.push_back(metrics->InterceptorFactory());
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));
  self->server_ = builder.BuildAndStart();
  if (!self->server_ || self->port_ == 0) {
    if (config.tls.enabled())
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", config.listen,
          " with TLS (is the address free, and are --tls-cert and --tls-key a certificate and its private key?)"));
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  self->SetServing(false);
  if (metrics != nullptr) metrics->SetWatchHub(self->hub_.get());
  if (config.before_open) config.before_open(self->port_);

  // A replica with an empty volume joining a running cluster starts from a member's copy.
  if (config.cluster.enabled()) {
    if (auto s = self->BootstrapIfEmpty(log); !s.ok()) {
      self->server_->Shutdown();
      return s;
    }
  }
  auto store = storage::Store::Open(config.db_path, config.store);
  if (!store.ok()) {
    self->server_->Shutdown();
    return store.status();
  }
  self->store_ = std::move(*store);
  self->store_->SetCommitListener([hub = self->hub_.get()](int64_t rev) { hub->OnCommit(rev); });
  if (metrics != nullptr) metrics->SetStore(self->store_.get());  // counts rows from here on, --load included
  cluster::Committer* committer = nullptr;
  cluster::ReadBarrier* barrier = nullptr;
  if (config.cluster.enabled()) {
    absl::Status started = self->StartReplica(log);
    if (started.code() == absl::StatusCode::kFailedPrecondition &&
        absl::StrContains(started.message(), "no longer holds entry")) {
      // The log was trimmed past this database (it was away too long): replace it with a
      // member's copy. The old one is kept beside it, once, for an operator to look at.
      log << "annalsd: " << started.message() << "; replacing the database with a peer's copy\n";
      if (metrics != nullptr) metrics->SetStore(nullptr);  // a scrape must not read the closed store
      self->store_->SetCommitListener(nullptr);
      self->store_.reset();
      started = self->ReplaceWithPeerCopy(log);
    }
    if (auto s = started; !s.ok()) {
      if (metrics != nullptr) metrics->SetStore(nullptr);
      self->server_->Shutdown();
      return s;
    }
    committer = self->replica_.get();
    barrier = self->replica_.get();
  } else {
    self->local_committer_ = std::make_unique<cluster::LocalCommitter>(self->store_.get());
    self->local_barrier_ = std::make_unique<cluster::LocalReadBarrier>(self->store_.get());
    committer = self->local_committer_.get();
    barrier = self->local_barrier_.get();
  }
  if (!config.load_paths.empty()) {
    if (auto s = LoadJsonlPaths(*committer, config.load_paths, log); !s.ok()) {
      if (metrics != nullptr) metrics->SetStore(nullptr);
      self->server_->Shutdown();
      return s;
    }
  }
  self->slot_.Set(self->store_.get(), committer, barrier);
  self->SetServing(true);
  if (metrics != nullptr) metrics->SetServing(true);
  return self;
}

void AnnalsServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  // The health follower first: it must not say SERVING again once the drain has begun.
  replica_watch_stop_.store(true);
  if (replica_watch_.joinable()) replica_watch_.join();
  if (!server_) return;  // Start failed before the server was built
  if (metrics_) metrics_->SetServing(false);
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();  // NOT_SERVING from now on
  if (health_port_) health_port_->SetServing(false);  // the probes' port too, until it stops below
  // Watch streams never end on their own: end them first, telling each where to resume.
  hub_->Shutdown(std::chrono::milliseconds(std::min<int64_t>(2000, absl::ToInt64Milliseconds(config_.drain_timeout))));
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(config_.drain_timeout)));
  server_->Wait();
  slot_.Set(nullptr, nullptr, nullptr);
  if (replication_) replication_->SetReplica(nullptr);
  if (metrics_) metrics_->SetReplica(nullptr);
  if (admin_) admin_->SetReplica(nullptr);
  replica_.reset();  // stops following and gives the leadership up, before the store closes
  if (metrics_) {
    metrics_->SetStore(nullptr);
    metrics_->SetWatchHub(nullptr);
  }
  if (store_) store_->SetCommitListener(nullptr);
  store_.reset();  // flushes the WAL and closes RocksDB
  if (health_port_) health_port_->Shutdown();
}

AnnalsServer::~AnnalsServer() { Shutdown(); }

absl::StatusOr<cluster::ReplicaOptions> AnnalsServer::ReplicaOptionsFromConfig() const {
  const ClusterConfig& c = config_.cluster;
  cluster::ReplicaOptions o;
  o.etcd.endpoints = c.etcd_endpoints;
  o.cluster = c.name;
  o.node_id = c.node_id;
  if (o.node_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    o.node_id = host;
  }
  o.advertise = c.advertise;
  if (o.advertise.empty()) {
    const size_t colon = config_.listen.rfind(':');
    o.advertise = absl::StrCat(config_.listen.substr(0, colon), ":", port_);
  }
  o.lease_ttl = c.lease_ttl;
  o.retain_entries = c.retain_entries;
  o.retain_age = c.retain_age;
  o.peer_token = c.peer_token;
  if (config_.tls.enabled()) {
    auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
      std::ifstream in(path);
      if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read"));
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    grpc::SslCredentialsOptions ssl;
    const std::string ca = !c.peer_ca.empty() ? c.peer_ca : config_.tls.client_ca_file;
    if (!ca.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, read(ca));
    }
    if (!config_.tls.client_ca_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, read(config_.tls.cert_file));
      ASSIGN_OR_RETURN(ssl.pem_private_key, read(config_.tls.key_file));
    }
    o.peer_credentials = grpc::SslCredentials(ssl);
  }
  return o;
}

absl::StatusOr<cluster::BootstrapResult> AnnalsServer::Bootstrap(const cluster::ReplicaOptions& o, std::ostream& log) {
  cluster::BootstrapOptions b;
  b.etcd = o.etcd;
  b.cluster = o.cluster;
  b.node_id = o.node_id;
  b.peer_credentials = o.peer_credentials;
  b.peer_token = o.peer_token;
  log << "annalsd: cluster " << o.cluster << ": copying the database from a peer into " << config_.db_path << "\n";
  auto got = cluster::BootstrapFromPeer(b, config_.db_path);
  if (!got.ok()) return absl::Status(got.status().code(), absl::StrCat("cluster: joining from a peer: ", got.status().message()));
  log << "annalsd: cluster " << o.cluster << ": copied " << got->bytes << " bytes from " << got->peer << " (position "
      << got->position << ", revision " << got->revision << ", format " << got->format_version << ") in "
      << absl::FormatDuration(got->took) << "\n";
  if (metrics_) metrics_->RecordBootstrap(absl::ToDoubleSeconds(got->took));
  return got;
}

absl::Status AnnalsServer::BootstrapIfEmpty(std::ostream& log) {
  namespace fs = std::filesystem;
  if (!cluster::HoldsNoDatabase(config_.db_path)) return absl::OkStatus();
  ASSIGN_OR_RETURN(cluster::ReplicaOptions o, ReplicaOptionsFromConfig());
  cluster::BootstrapOptions probe;
  probe.etcd = o.etcd;
  probe.cluster = o.cluster;
  probe.node_id = o.node_id;
  auto peer = cluster::PeerToCopyFrom(probe);
  if (!peer.ok()) return absl::Status(peer.status().code(), absl::StrCat("cluster: ", peer.status().message()));
  if (!*peer) return absl::OkStatus();  // a new cluster: start empty and follow the log
  return Bootstrap(o, log).status();
}

absl::Status AnnalsServer::ReplaceWithPeerCopy(std::ostream& log) {
  namespace fs = std::filesystem;
  // Every replaced database is kept, under the time it was replaced: an operator deletes it.
  const std::string old = absl::StrCat(config_.db_path, ".replaced-", absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()));
  std::error_code ec;
  fs::rename(config_.db_path, old, ec);
  if (ec) return absl::InternalError(absl::StrCat("moving ", config_.db_path, " aside: ", ec.message()));
  ASSIGN_OR_RETURN(cluster::ReplicaOptions o, ReplicaOptionsFromConfig());
  RETURN_IF_ERROR(Bootstrap(o, log).status());
  ASSIGN_OR_RETURN(store_, storage::Store::Open(config_.db_path, config_.store));
  store_->SetCommitListener([hub = hub_.get()](int64_t rev) { hub->OnCommit(rev); });
  if (metrics_) metrics_->SetStore(store_.get());
  return StartReplica(log);
}

absl::Status AnnalsServer::StartReplica(std::ostream& log) {
  const ClusterConfig& c = config_.cluster;
  ASSIGN_OR_RETURN(cluster::ReplicaOptions o, ReplicaOptionsFromConfig());
  auto replica = cluster::Replica::Start(store_.get(), o);
  if (!replica.ok())
    return absl::Status(replica.status().code(), absl::StrCat("cluster: ", replica.status().message()));
  replica_ = std::move(*replica);
  replication_->SetReplica(replica_.get());
  log << "annalsd: cluster " << c.name << ": node " << o.node_id << " at " << o.advertise << ", log position "
      << store_->LastPosition() << ", etcd " << absl::StrJoin(c.etcd_endpoints, ",") << "\n";
  // --load goes through the log too: wait for a leader to forward to (or to be it).
  if (!config_.load_paths.empty()) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (replica_->State().leader_address.empty() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
  }
  if (metrics_) metrics_->SetReplica(replica_.get());
  admin_->SetReplica(replica_.get());
  // Health follows the replica: NOT_SERVING while it lags the head by more than
  // --max-serving-lag entries (a load balancer sends reads elsewhere), and for good once it
  // stopped applying the log.
  replica_watch_ = std::thread([this] {
    bool reported = false;
    while (!replica_watch_stop_.load()) {
      const cluster::ReplicaState s = replica_->State();
      if (!s.failure.empty() && !reported) {
        std::cerr << "annalsd: cluster: stopped applying the log: " << s.failure << "\n";
        reported = true;
      }
      const bool fresh = s.failure.empty() && (s.head < 0 || s.head - s.applied <= config_.cluster.max_serving_lag);
      // Said every turn (it is idempotent), so it also overrides Start's SERVING when the
      // replica is still catching up.
      if (!stopped_.load() && slot_.Get().ok()) {
        SetServing(fresh);
        if (metrics_) metrics_->SetServing(fresh);
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  return absl::OkStatus();
}

}  // namespace annals::service
