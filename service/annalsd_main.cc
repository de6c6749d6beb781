// annalsd: the Annals server. Flags are listed by `annalsd --help`; each also reads an
// ANNALS_* environment variable (flag --db -> ANNALS_DB).
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include <fstream>
#include "service/server.h"

int main(int argc, char** argv) {
  annals::service::ServerConfig config;
  double ttl_hours = 24 * 7, drain_seconds = 20;
  CLI::App app{"annalsd: the Annals temporal knowledge-graph server"};
  app.add_option("--listen", config.listen, "address to serve gRPC on (port 0 picks a free one)")
      ->envname("ANNALS_LISTEN")->capture_default_str();
  app.add_option("--db", config.db_path, "RocksDB directory (created when missing)")
      ->envname("ANNALS_DB")->capture_default_str();
  app.add_option("--load", config.load_paths,
                 "JSON Lines file or directory to commit at start, one commit per file (repeatable)")
      ->envname("ANNALS_LOAD");
  app.add_flag("--sync", config.store.sync, "fsync the WAL on every commit (survives machine crashes)")
      ->envname("ANNALS_SYNC");
  // The two database-wide settings: given, they are proposed to the database at start and
  // recorded in its commit log when they differ (docs/commit-log.md); not given, the
  // database keeps what it has (a new one starts with the defaults shown).
  auto* ttl_option =
      app.add_option("--request-id-ttl-hours", ttl_hours,
                     "database setting: how long request ids are remembered for retries")
          ->envname("ANNALS_REQUEST_ID_TTL_HOURS")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--drain-seconds", drain_seconds, "how long in-flight calls may run after SIGTERM")
      ->envname("ANNALS_DRAIN_SECONDS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--retain-revisions", config.store.retain_revisions,
                 "database setting: revisions of history kept readable for as-of reads, diffs and watches (0: all)")
      ->envname("ANNALS_RETAIN_REVISIONS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--watch-max-lag-revisions", config.diff.watch_max_lag,
                 "end a live Watch that falls this far behind, telling it where to resume (0: never)")
      ->envname("ANNALS_WATCH_MAX_LAG_REVISIONS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--max-diff-relations", config.diff.max_diff_relations,
                 "DiffValidTimes examines at most this many relations per date")
      ->envname("ANNALS_MAX_DIFF_RELATIONS")->check(CLI::PositiveNumber)->capture_default_str();
  double query_deadline_seconds = 10;
  app.add_option("--query-max-depth", config.query.max_depth, "deepest traversal or longest path a query may ask")
      ->envname("ANNALS_QUERY_MAX_DEPTH")->check(CLI::Range(1, 20))->capture_default_str();
  app.add_option("--query-max-fan-out", config.query.max_fan_out, "relations a graph query follows from one entity")
      ->envname("ANNALS_QUERY_MAX_FAN_OUT")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--query-max-results", config.query.max_results, "entities plus relations one graph query returns")
      ->envname("ANNALS_QUERY_MAX_RESULTS")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--query-deadline-seconds", query_deadline_seconds,
                 "a graph query stops (truncated) after this long unless the caller's deadline is sooner")
      ->envname("ANNALS_QUERY_DEADLINE_SECONDS")->check(CLI::PositiveNumber)->capture_default_str();
  size_t block_cache_mb = config.store.block_cache_bytes >> 20;
  app.add_option("--block-cache-mb", block_cache_mb, "RocksDB block cache, MiB (see deploy/README.md for sizing)")
      ->envname("ANNALS_BLOCK_CACHE_MB")->check(CLI::PositiveNumber)->capture_default_str();
  std::string metrics_listen = "127.0.0.1:9464";
  auto* metrics_option =
      app.add_option("--metrics-listen", metrics_listen,
                     "address of the Prometheus endpoint, GET /metrics (port 0 picks a free one; empty: off)")
          ->envname("ANNALS_METRICS_LISTEN")->capture_default_str();
  app.add_option("--backup-root", config.backup_root,
                 "AdminService.Backup writes only inside this directory (empty: any absolute path)")
      ->envname("ANNALS_BACKUP_ROOT");

  // Cluster mode (docs/cluster.md).
  std::string etcd_endpoints, peer_token_file;
  double lease_seconds = 2;
  double log_retain_seconds = 300;
  app.add_option("--etcd-endpoints", etcd_endpoints,
                 "comma-separated etcd client addresses (host:port): run as a replica of a cluster whose commit "
                 "log lives there; empty: a single node")
      ->envname("ANNALS_ETCD_ENDPOINTS");
  app.add_option("--cluster-name", config.cluster.name, "the cluster's name: its etcd keys are under /annals/NAME/")
      ->envname("ANNALS_CLUSTER_NAME")->capture_default_str();
  app.add_option("--node-id", config.cluster.node_id, "this replica's name in the cluster (default: the host name)")
      ->envname("ANNALS_NODE_ID");
  app.add_option("--advertise", config.cluster.advertise,
                 "address the other replicas forward writes to (default: the --listen host and port)")
      ->envname("ANNALS_ADVERTISE");
  app.add_option("--lease-seconds", lease_seconds, "the leader's etcd lease; a dead leader is replaced after about this")
      ->envname("ANNALS_LEASE_SECONDS")->check(CLI::Range(1.0, 60.0))->capture_default_str();
  app.add_option("--max-serving-lag", config.cluster.max_serving_lag,
                 "health is SERVING only while this replica is at most this many log entries behind the head")
      ->envname("ANNALS_MAX_SERVING_LAG")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--log-retain-entries", config.cluster.retain_entries,
                 "the leader keeps at least this many log entries in etcd beyond what every member needs")
      ->envname("ANNALS_LOG_RETAIN_ENTRIES")->check(CLI::Range(int64_t{1}, int64_t{1000000}))->capture_default_str();
  app.add_option("--log-retain-seconds", log_retain_seconds,
                 "and every entry younger than this; a replica away longer may need a copy of a member to rejoin")
      ->envname("ANNALS_LOG_RETAIN_SECONDS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--peer-token-file", peer_token_file,
                 "file holding the bearer token (write scope) this replica forwards writes to the leader with")
      ->envname("ANNALS_PEER_TOKEN_FILE");
  app.add_option("--peer-ca", config.cluster.peer_ca,
                 "PEM CA bundle to check the leader's TLS certificate with (default: --tls-client-ca)")
      ->envname("ANNALS_PEER_CA");

  // Security (docs/security.md).
  app.add_option("--tls-cert", config.tls.cert_file, "PEM certificate chain: serve TLS (with --tls-key)")
      ->envname("ANNALS_TLS_CERT");
  app.add_option("--tls-key", config.tls.key_file, "PEM private key of --tls-cert")->envname("ANNALS_TLS_KEY");
  app.add_option("--tls-client-ca", config.tls.client_ca_file,
                 "PEM CA bundle: require client certificates it signed (mutual TLS)")
      ->envname("ANNALS_TLS_CLIENT_CA");
  app.add_option("--tokens-file", config.tokens_file,
                 "bearer tokens, lines 'read|write|admin TOKEN [NAME]': every call but health and reflection "
                 "needs one (reloaded on SIGHUP)")
      ->envname("ANNALS_TOKENS_FILE");
  app.add_option("--health-listen", config.health_listen,
                 "plaintext address serving only grpc.health.v1, for probes that cannot speak TLS (empty: off)")
      ->envname("ANNALS_HEALTH_LISTEN");

  // Limits (docs/security.md, "Limits").
  int max_message_mb = config.max_message_bytes >> 20;
  app.add_option("--max-message-mb", max_message_mb, "largest request or response message, MiB")
      ->envname("ANNALS_MAX_MESSAGE_MB")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--max-concurrent-streams", config.max_concurrent_streams,
                 "calls in progress per client connection (HTTP/2 streams); further calls wait")
      ->envname("ANNALS_MAX_CONCURRENT_STREAMS")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  double keepalive_time = absl::ToDoubleSeconds(config.keepalive.time);
  double keepalive_timeout = absl::ToDoubleSeconds(config.keepalive.timeout);
  double keepalive_min_ping = absl::ToDoubleSeconds(config.keepalive.min_client_ping_interval);
  app.add_option("--keepalive-time-seconds", keepalive_time, "ping a connection quiet for this long")
      ->envname("ANNALS_KEEPALIVE_TIME_SECONDS")->check(CLI::Range(1.0, 86400.0))->capture_default_str();
  app.add_option("--keepalive-timeout-seconds", keepalive_timeout, "close a connection whose ping is unanswered this long")
      ->envname("ANNALS_KEEPALIVE_TIMEOUT_SECONDS")->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  app.add_option("--keepalive-min-client-ping-seconds", keepalive_min_ping,
                 "clients may send keepalive pings at most this often")
      ->envname("ANNALS_KEEPALIVE_MIN_CLIENT_PING_SECONDS")->check(CLI::Range(1.0, 86400.0))->capture_default_str();
  app.add_option("--keepalive-permit-without-calls", config.keepalive.permit_without_calls,
                 "accept keepalive pings on connections with no call in progress (true/false)")
      ->envname("ANNALS_KEEPALIVE_PERMIT_WITHOUT_CALLS")->capture_default_str();
  app.add_option("--keepalive-max-ping-strikes", config.keepalive.max_ping_strikes,
                 "pings sooner than allowed before the connection is closed (0: no limit)")
      ->envname("ANNALS_KEEPALIVE_MAX_PING_STRIKES")->check(CLI::Range(0, 1000))->capture_default_str();
  double default_deadline = absl::ToDoubleSeconds(config.call_budget.default_deadline);
  double max_deadline = absl::ToDoubleSeconds(config.call_budget.max_deadline);
  app.add_option("--default-deadline-seconds", default_deadline,
                 "server-side deadline of a unary call that sets none (0: none)")
      ->envname("ANNALS_DEFAULT_DEADLINE_SECONDS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--max-deadline-seconds", max_deadline,
                 "a unary call's deadline is cut to this (0: no cap); streams (Ingest, Watch) are exempt")
      ->envname("ANNALS_MAX_DEADLINE_SECONDS")->check(CLI::NonNegativeNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  config.max_message_bytes = max_message_mb << 20;
  config.keepalive.time = absl::Seconds(keepalive_time);
  config.keepalive.timeout = absl::Seconds(keepalive_timeout);
  config.keepalive.min_client_ping_interval = absl::Seconds(keepalive_min_ping);
  config.call_budget.default_deadline = absl::Seconds(default_deadline);
  config.call_budget.max_deadline = absl::Seconds(max_deadline);
  config.store.block_cache_bytes = block_cache_mb << 20;
  config.metrics_listen = metrics_listen;
  // The default address is best effort (a second annalsd on the host still starts, without
  // metrics); an address asked for (flag or ANNALS_METRICS_LISTEN) must bind.
  config.metrics_optional = metrics_option->count() == 0;
  config.query.default_deadline = absl::Seconds(query_deadline_seconds);
  if (ttl_option->count() > 0) config.store.request_id_ttl = absl::Seconds(ttl_hours * 3600);
  for (absl::string_view e : absl::StrSplit(etcd_endpoints, ',', absl::SkipWhitespace()))
    config.cluster.etcd_endpoints.emplace_back(std::string(absl::StripAsciiWhitespace(e)));
  config.cluster.lease_ttl = absl::Seconds(lease_seconds);
  config.cluster.retain_age = absl::Seconds(log_retain_seconds);
  if (!peer_token_file.empty()) {
    std::ifstream in(peer_token_file);
    if (!in) {
      std::cerr << "annalsd: --peer-token-file " << peer_token_file << ": cannot read\n";
      return 2;
    }
    std::getline(in, config.cluster.peer_token);
    config.cluster.peer_token = std::string(absl::StripAsciiWhitespace(config.cluster.peer_token));
  }
  // The writer's name in the log entries it writes: which process wrote what.
  char hostname[256] = {};
  if (gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0] != 0) config.store.writer = std::string("annalsd@") + hostname;
  config.drain_timeout = absl::Seconds(drain_seconds);

  // Block the stop signals in every thread (gRPC's included) and wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reloads --tokens-file
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = annals::service::AnnalsServer::Start(config, std::cerr);
  if (!server.ok()) {
    std::cerr << "annalsd: " << server.status().message() << "\n";
    return 1;
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  std::cout << "annalsd: serving on " << host << ":" << (*server)->port() << " (db " << config.db_path
            << ", revision " << (*server)->store()->LatestRevision() << ")" << std::endl;
  if ((*server)->metrics_port() != 0) {
    const std::string metrics_host = config.metrics_listen.substr(0, config.metrics_listen.rfind(':'));
    std::cout << "annalsd: metrics on http://" << metrics_host << ":" << (*server)->metrics_port() << "/metrics"
              << std::endl;
  }
  if ((*server)->health_port() != 0) {
    const std::string health_host = config.health_listen.substr(0, config.health_listen.rfind(':'));
    std::cout << "annalsd: health on " << health_host << ":" << (*server)->health_port()
              << " (plaintext, grpc.health.v1 only)" << std::endl;
  }
  if (config.tls.enabled()) {
    std::cout << "annalsd: TLS on" << (config.tls.client_ca_file.empty() ? "" : ", client certificates required")
              << std::endl;
  }

  int received = 0;
  for (;;) {
    sigwait(&stop_signals, &received);
    if (received != SIGHUP) break;
    if (config.tokens_file.empty()) {
      std::cerr << "annalsd: SIGHUP ignored (no --tokens-file to reload)\n";
    } else if (auto s = (*server)->ReloadTokens(); s.ok()) {
      std::cerr << "annalsd: SIGHUP: tokens reloaded from " << config.tokens_file << "\n";
    } else {
      std::cerr << "annalsd: SIGHUP: " << s.message() << "; the previous tokens stay in force\n";
    }
  }
  std::cerr << "annalsd: " << (received == SIGTERM ? "SIGTERM" : "SIGINT") << ", draining\n";
  (*server)->Shutdown();
  std::cerr << "annalsd: stopped cleanly\n";
  return 0;
}
