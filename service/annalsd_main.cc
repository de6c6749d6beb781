// annalsd: the Annals server. Flags are listed by `annalsd --help`; each also reads an
// ANNALS_* environment variable (flag --db -> ANNALS_DB).
#include <signal.h>

#include <iostream>

#include <CLI/CLI.hpp>

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
  app.add_option("--request-id-ttl-hours", ttl_hours, "how long request ids are remembered for retries")
      ->envname("ANNALS_REQUEST_ID_TTL_HOURS")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--drain-seconds", drain_seconds, "how long in-flight calls may run after SIGTERM")
      ->envname("ANNALS_DRAIN_SECONDS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--retain-revisions", config.store.retain_revisions,
                 "revisions of history kept readable for as-of reads, diffs and watches (0: all)")
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
  CLI11_PARSE(app, argc, argv);
  config.store.block_cache_bytes = block_cache_mb << 20;
  config.metrics_listen = metrics_listen;
  // The default address is best effort (a second annalsd on the host still starts, without
  // metrics); an address asked for (flag or ANNALS_METRICS_LISTEN) must bind.
  config.metrics_optional = metrics_option->count() == 0;
  config.query.default_deadline = absl::Seconds(query_deadline_seconds);
  config.store.request_id_ttl = absl::Seconds(ttl_hours * 3600);
  config.drain_timeout = absl::Seconds(drain_seconds);

  // Block the stop signals in every thread (gRPC's included) and wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
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

  int received = 0;
  sigwait(&stop_signals, &received);
  std::cerr << "annalsd: " << (received == SIGTERM ? "SIGTERM" : "SIGINT") << ", draining\n";
  (*server)->Shutdown();
  std::cerr << "annalsd: stopped cleanly\n";
  return 0;
}
