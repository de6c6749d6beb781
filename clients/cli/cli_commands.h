// The `annals` commands: each takes its parsed options and a connection, prints a table
// (or JSON with --json), and returns the process exit code (0 ok, 1 failed).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "clients/cli/cli_args.h"

namespace annals::cli {

struct Connection {
  std::string addr = "127.0.0.1:50051";
  double timeout_seconds = 30;
  bool json = false;
  ConnectionSecurity security;  // TLS and bearer token (clients/cli/cli_args.h)
  // How fresh the replica answering a read must be (--min-revision, --linearizable;
  // docs/api.md "Read consistency"): every read request carries it.
  v1::ReadConsistency consistency;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::IngestService::Stub> ingest;
  std::unique_ptr<v1::QueryService::Stub> query;

  // Opens the channel; a security file that cannot be read ends the process with exit code 2.
  void Connect();
  // A context carrying the per-call deadline.
  std::unique_ptr<grpc::ClientContext> Call() const;
};

// Prints "annals: CODE: message" to stderr and returns 1.
int Fail(const grpc::Status& status);
// Prints "annals: message" to stderr and returns 2 (a usage error caught before any call).
int Usage(const std::string& message);

// Valid-time options shared by relation put (a range) and the readers (a window).
struct TimeOptions {
  std::string start, start_latest, end, end_latest, on;
  bool start_unknown = false, end_unknown = false;
};
struct WindowOptions {
  std::string from, to, at;
  bool certainly = false;
};

struct EntityPutOptions {
  std::string id, kind, label, description, request_id;
  std::vector<std::string> aliases;
};
struct DocumentPutOptions {
  std::string id, title, uri, publisher, published, request_id;
  std::vector<std::string> authors;
};
struct RelationPutOptions {
  std::string id, subject, predicate, object, text, quantity, date, status, request_id;
  std::optional<double> number, confidence;
  std::vector<std::string> sources;
  TimeOptions time;
};
struct RelationListOptions {
  std::string subject, predicate, object, document, page_token, view = "full";
  std::vector<std::string> statuses;
  WindowOptions window;
  int64_t as_of = 0;
  int page_size = 0;
  bool all_pages = false;
};
struct NeighborsOptions {
  std::string entity, direction = "both", page_token, view = "full";
  std::vector<std::string> predicates, statuses;
  WindowOptions window;
  int64_t as_of = 0;
  int page_size = 0;
  bool all_pages = false;
};
struct ImportOptions {
  std::vector<std::string> files;
  std::string format = "jsonl";
  int batch_size = 1000;
  std::string db = "./var/annals";  // --bulk only: the database directory
};

// --from/--to/--at/--certainly into a Window; false (after a message) on bad input.
bool BuildWindow(const WindowOptions& w, v1::Window* window, bool* has_window);

struct GraphOptions {
  std::vector<std::string> entities, predicates, statuses;
  WindowOptions window;
  std::string direction = "both", by = "year", document, view = "full";
  int depth = 0, fan_out = 0, limit = 0, k = 1;
  int64_t as_of = 0;
  bool time_respecting = false, by_predicate = false;
};

struct DiffOptions {
  std::vector<std::string> entities;  // 0: whole graph, 1: an entity, 2: the pair
  std::vector<std::string> predicates;
  std::string document, at, vs;
  int64_t from_rev = -1, to_rev = 0, as_of = 0;
  bool certainly = false, continued = false;
};

int EntityPut(Connection& c, const EntityPutOptions& o);
int EntityGet(Connection& c, const std::string& id, int64_t as_of);
int DocumentPut(Connection& c, const DocumentPutOptions& o);
int RelationPut(Connection& c, const RelationPutOptions& o);
int RelationGet(Connection& c, const std::string& id, int64_t as_of, bool show_retracted, const std::string& view);
int RelationList(Connection& c, const RelationListOptions& o);
int RelationRetract(Connection& c, const std::string& id, const std::string& reason, const std::string& request_id);

struct DeleteOptions {
  std::string id;
  bool cascade = false;
  std::string request_id;
};
int EntityDelete(Connection& c, const DeleteOptions& o);
int DocumentDelete(Connection& c, const DeleteOptions& o);
// `annals entity merge SURVIVOR ID...` and `annals entity unmerge ID`.
struct MergeOptions {
  std::string survivor;
  std::vector<std::string> ids;
  std::string request_id;
};
int EntityMerge(Connection& c, const MergeOptions& o);
int EntityUnmerge(Connection& c, const std::string& id, const std::string& request_id);
int Search(Connection& c, const std::string& query, const std::string& kind, int page_size, int64_t as_of,
           const std::string& page_token);
int Neighbors(Connection& c, const NeighborsOptions& o);
int Import(Connection& c, const ImportOptions& o);
// `annals import --bulk --db DIR`: straight into a stopped server's database as one revision.
int ImportBulk(const ImportOptions& o, bool json);
int Export(Connection& c, const std::string& path, int64_t as_of);
int Diff(Connection& c, const DiffOptions& o);
int Watch(Connection& c, const DiffOptions& o, const std::string& resume_token);
int History(Connection& c, const std::string& id, const std::string& kind);
int Traverse(Connection& c, const GraphOptions& o);
int Paths(Connection& c, const GraphOptions& o);
int Timeline(Connection& c, const GraphOptions& o);
int Aggregate(Connection& c, const GraphOptions& o);
int Conflicts(Connection& c, const GraphOptions& o);
// `annals admin backup DIR` (clients/cli/cli_admin_commands.cc).
int AdminBackup(Connection& c, const std::string& dir);
// `annals cluster status`: AdminService.GetClusterStatus as a table, or --json.
int ClusterStatus(Connection& c);

// `annals log export|replay` (clients/cli/cli_log_commands.cc): the commit log of a stopped
// server's database to a file, and a file applied to another database; no connection.
struct LogOptions {
  std::string db = "./var/annals";
  std::string file;
  int64_t from = 0, to = 0;  // 0: the first / last entry the log holds
};
int LogExport(const LogOptions& o, bool json);
int LogReplay(const LogOptions& o, bool json);

// `annals verify --db DIR` (clients/cli/cli_verify_command.cc): no connection; 0 consistent,
// 1 problems found (printed), 2 unreadable.
int Verify(const std::string& db, bool json, int max_problems);

}  // namespace annals::cli
