// annals: the command-line client. `annals --help` and `annals COMMAND --help` list it all.
#include <iostream>

#include <CLI/CLI.hpp>

#include "clients/cli/cli_commands.h"

namespace {

using namespace annals::cli;

void AddWindow(CLI::App* cmd, WindowOptions* w) {
  cmd->add_option("--from", w->from, "window start: YYYY, YYYY-MM or YYYY-MM-DD");
  cmd->add_option("--to", w->to, "window end (inclusive, its whole span: --to 2012 is to 2012-12-31)");
  cmd->add_option("--at", w->at, "a one-date window: --at 2011 is all of 2011");
  cmd->add_flag("--certainly", w->certainly, "only what certainly held in the window (default: possibly)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"annals: command-line client of the Annals temporal knowledge graph"};
  app.require_subcommand(1);
  Connection conn;
  app.add_option("--addr", conn.addr, "annalsd address")->envname("ANNALS_ADDR")->capture_default_str();
  app.add_option("--timeout", conn.timeout_seconds, "per-call deadline, seconds")->capture_default_str();
  app.add_flag("--json", conn.json, "print JSON (one object per call) instead of tables");
  // Reaching a secured annalsd (docs/security.md). The client's certificate variables are
  // ANNALS_CLIENT_*: annalsd's own ANNALS_TLS_CERT/KEY may be set where both run.
  ConnectionSecurity& sec = conn.security;
  app.add_flag("--tls", sec.tls, "connect with TLS, trusting the system's CAs (implied by the other --tls-* flags)")
      ->envname("ANNALS_TLS");
  app.add_option("--tls-ca", sec.tls_ca, "connect with TLS, trusting this PEM CA bundle")->envname("ANNALS_TLS_CA");
  app.add_option("--tls-cert", sec.tls_cert, "PEM client certificate, for servers that require one (mutual TLS)")
      ->envname("ANNALS_CLIENT_CERT");
  app.add_option("--tls-key", sec.tls_key, "PEM private key of --tls-cert")->envname("ANNALS_CLIENT_KEY");
  app.add_option("--tls-server-name", sec.tls_server_name,
                 "the name the server's certificate must carry, when --addr is not it (port-forwards, IPs)")
      ->envname("ANNALS_TLS_SERVER_NAME");
  app.add_option("--token", sec.token, "bearer token sent with every call (prefer ANNALS_TOKEN or --token-file: "
                                       "command lines are visible to other users)")
      ->envname("ANNALS_TOKEN");
  app.add_option("--token-file", sec.token_file, "read the bearer token from this file's first line")
      ->envname("ANNALS_TOKEN_FILE");
  // Reading from a cluster (docs/cluster.md "Reads"); a single node needs neither.
  int64_t min_revision = 0;
  bool linearizable = false;
  app.add_option("--min-revision", min_revision,
                 "reads wait until the replica answering has applied this revision (read-your-writes)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--linearizable", linearizable,
               "reads wait until the replica answering has applied every write acknowledged before them");
  app.parse_complete_callback([&] {
    conn.consistency.set_min_revision(min_revision);
    if (linearizable) conn.consistency.set_mode(annals::v1::ReadConsistency::LINEARIZABLE);
  });
  int code = 0;

  // entity put|get|delete|merge|unmerge
  auto* entity = app.add_subcommand("entity", "create, replace, read or delete entities")->require_subcommand(1);
  EntityPutOptions ep;
  auto* entity_put = entity->add_subcommand("put", "create or replace an entity (the whole record)");
  entity_put->add_option("id", ep.id, "entity id, e.g. russia")->required();
  entity_put->add_option("--label", ep.label, "display name")->required();
  entity_put->add_option("--kind", ep.kind, "person, state, organization, project, event, ...");
  entity_put->add_option("--alias", ep.aliases, "another name (repeatable)");
  entity_put->add_option("--description", ep.description, "one line in your words");
  entity_put->add_option("--request-id", ep.request_id, "idempotency key for safe retries");
  entity_put->callback([&] { conn.Connect(); code = EntityPut(conn, ep); });
  std::string get_id;
  int64_t as_of = 0;
  auto* entity_get = entity->add_subcommand("get", "read an entity");
  entity_get->add_option("id", get_id)->required();
  entity_get->add_option("--as-of", as_of, "answer as of this revision (0 = latest)");
  entity_get->callback([&] { conn.Connect(); code = EntityGet(conn, get_id, as_of); });
  DeleteOptions del;
  auto* entity_delete = entity->add_subcommand("delete", "delete an entity (reads as of earlier revisions still see it)");
  entity_delete->add_option("id", del.id)->required();
  entity_delete->add_flag("--cascade", del.cascade, "also retract every relation that names it");
  entity_delete->add_option("--request-id", del.request_id, "idempotency key for safe retries");
  entity_delete->callback([&] { conn.Connect(); code = EntityDelete(conn, del); });
  MergeOptions merge;
  auto* entity_merge = entity->add_subcommand(
      "merge", "merge entities into a survivor: reads resolve them to it from now on (unmerge undoes it)");
  entity_merge->add_option("survivor", merge.survivor, "the entity that stays")->required();
  entity_merge->add_option("ids", merge.ids, "the entities merged into it")->required();
  entity_merge->add_option("--request-id", merge.request_id, "idempotency key for safe retries");
  entity_merge->callback([&] { conn.Connect(); code = EntityMerge(conn, merge); });
  std::string unmerge_id, unmerge_request_id;
  auto* entity_unmerge = entity->add_subcommand("unmerge", "undo the merge of one entity: it is itself again");
  entity_unmerge->add_option("id", unmerge_id)->required();
  entity_unmerge->add_option("--request-id", unmerge_request_id, "idempotency key for safe retries");
  entity_unmerge->callback([&] { conn.Connect(); code = EntityUnmerge(conn, unmerge_id, unmerge_request_id); });

  // document put|delete
  auto* document = app.add_subcommand("document", "record or delete source documents")->require_subcommand(1);
  DocumentPutOptions dp;
  auto* document_put = document->add_subcommand("put", "create or replace a document");
  document_put->add_option("id", dp.id)->required();
  document_put->add_option("--title", dp.title);
  document_put->add_option("--uri", dp.uri);
  document_put->add_option("--publisher", dp.publisher);
  document_put->add_option("--author", dp.authors, "(repeatable)");
  document_put->add_option("--published", dp.published, "YYYY, YYYY-MM or YYYY-MM-DD");
  document_put->add_option("--request-id", dp.request_id);
  document_put->callback([&] { conn.Connect(); code = DocumentPut(conn, dp); });
  auto* document_delete = document->add_subcommand("delete", "delete a document (reads as of earlier revisions still see it)");
  document_delete->add_option("id", del.id)->required();
  document_delete->add_flag("--cascade", del.cascade,
                            "also take it out of the sources of the relations citing it (retracting those it alone supports)");
  document_delete->add_option("--request-id", del.request_id, "idempotency key for safe retries");
  document_delete->callback([&] { conn.Connect(); code = DocumentDelete(conn, del); });

  // relation put|get|list|retract
  auto* relation = app.add_subcommand("relation", "record, read, list and retract dated relations")->require_subcommand(1);
  RelationPutOptions rp;
  auto* relation_put = relation->add_subcommand("put", "add a relation, or a new version of one (--id)");
  relation_put->add_option("subject", rp.subject, "subject entity id")->required();
  relation_put->add_option("predicate", rp.predicate, "e.g. visited, member_of")->required();
  relation_put->add_option("object", rp.object, "object entity id (or give --text/--number/--quantity/--date)");
  relation_put->add_option("--id", rp.id, "relation id; an existing one gets a new version");
  relation_put->add_option("--text", rp.text, "a text value as the object");
  relation_put->add_option("--number", rp.number, "a number as the object");
  relation_put->add_option("--quantity", rp.quantity, "a quantity as the object: '630e6 USD'");
  relation_put->add_option("--date", rp.date, "a date as the object");
  relation_put->add_option("--on", rp.time.on, "a point event: start = end = this date");
  relation_put->add_option("--start", rp.time.start, "valid from (YYYY, YYYY-MM, YYYY-MM-DD)");
  relation_put->add_option("--start-latest", rp.time.start_latest, "the start fell no later than this");
  relation_put->add_flag("--start-unknown", rp.time.start_unknown, "it started at an unknown time");
  relation_put->add_option("--end", rp.time.end, "valid until, inclusive (unset: still holds)");
  relation_put->add_option("--end-latest", rp.time.end_latest, "the end fell no later than this");
  relation_put->add_flag("--end-unknown", rp.time.end_unknown, "it ended at an unknown time");
  relation_put->add_option("--status", rp.status, "asserted (default), planned, postponed, cancelled, denied");
  relation_put->add_option("--source", rp.sources, "DOC:BEGIN-END[:note], code points (repeatable)");
  relation_put->add_option("--confidence", rp.confidence, "0..1");
  relation_put->add_option("--request-id", rp.request_id);
  relation_put->callback([&] { conn.Connect(); code = RelationPut(conn, rp); });
  bool show_retracted = false;
  auto* relation_get = relation->add_subcommand("get", "read a relation");
  relation_get->add_option("id", get_id)->required();
  relation_get->add_option("--as-of", as_of, "answer as of this revision (0 = latest)");
  relation_get->add_flag("--show-retracted", show_retracted, "show it even if retracted");
  std::string get_view = "full";
  relation_get->add_option("--view", get_view, "full, or basic: no sources, qualifiers or confidence")
      ->check(CLI::IsMember({"basic", "full"}))
      ->capture_default_str();
  relation_get->callback([&] { conn.Connect(); code = RelationGet(conn, get_id, as_of, show_retracted, get_view); });
  RelationListOptions rl;
  auto* relation_list = relation->add_subcommand("list", "list relations by subject, predicate, object, document, window");
  relation_list->add_option("--subject", rl.subject);
  relation_list->add_option("--predicate", rl.predicate);
  relation_list->add_option("--object", rl.object);
  relation_list->add_option("--document", rl.document, "relations citing this document");
  relation_list->add_option("--status", rl.statuses, "statuses wanted (repeatable; default asserted)");
  AddWindow(relation_list, &rl.window);
  relation_list->add_option("--as-of", rl.as_of, "answer as of this revision (0 = latest)");
  relation_list->add_option("--page-size", rl.page_size, "default 100, at most 1000");
  relation_list->add_option("--page-token", rl.page_token, "continue a listing");
  relation_list->add_flag("--all", rl.all_pages, "follow page tokens to the end");
  relation_list->add_option("--view", rl.view, "full, or basic: answered from the indexes alone")
      ->check(CLI::IsMember({"basic", "full"}))
      ->capture_default_str();
  relation_list->callback([&] { conn.Connect(); code = RelationList(conn, rl); });
  std::string reason, retract_request_id;
  auto* relation_retract = relation->add_subcommand("retract", "retract a relation (history keeps it)");
  relation_retract->add_option("id", get_id)->required();
  relation_retract->add_option("--reason", reason);
  relation_retract->add_option("--request-id", retract_request_id);
  relation_retract->callback([&] { conn.Connect(); code = RelationRetract(conn, get_id, reason, retract_request_id); });

  // search
  std::string query, kind, search_token;
  int page_size = 0;
  auto* search = app.add_subcommand("search", "find entities by the start of a name or alias (case and accents ignored)");
  search->add_option("query", query, "e.g. 'gul' finds Abdullah Gül")->required();
  search->add_option("--kind", kind);
  search->add_option("--limit", page_size, "default 50");
  search->add_option("--as-of", as_of);
  search->add_option("--page-token", search_token, "continue a search");
  search->callback([&] { conn.Connect(); code = Search(conn, query, kind, page_size, as_of, search_token); });

  // neighbors
  NeighborsOptions nb;
  auto* neighbors = app.add_subcommand("neighbors", "relations touching an entity, with the entity at the other end");
  neighbors->add_option("entity", nb.entity)->required();
  neighbors->add_option("--direction", nb.direction, "out, in or both")->capture_default_str();
  neighbors->add_option("--predicate", nb.predicates, "(repeatable)");
  neighbors->add_option("--status", nb.statuses, "(repeatable; default asserted)");
  AddWindow(neighbors, &nb.window);
  neighbors->add_option("--as-of", nb.as_of);
  neighbors->add_option("--page-size,--limit", nb.page_size, "default 100, at most 1000");
  neighbors->add_option("--page-token", nb.page_token, "continue a listing");
  neighbors->add_flag("--all", nb.all_pages, "follow page tokens to the end");
  neighbors->add_option("--view", nb.view, "full, or basic: answered from the indexes and the neighbours' labels")
      ->check(CLI::IsMember({"basic", "full"}))
      ->capture_default_str();
  neighbors->callback([&] { conn.Connect(); code = Neighbors(conn, nb); });

  // import
  ImportOptions im;
  auto* import = app.add_subcommand("import", "stream JSON Lines files into the graph through Ingest");
  import->add_option("files", im.files, "JSON Lines files")->required()->check(CLI::ExistingFile);
  import->add_option("--format", im.format, "jsonl, icews (subject, predicate, object, YYYY-MM-DD) or yago (with '#' digits)")
      ->capture_default_str();
  import->add_option("--batch-size", im.batch_size, "items per commit")->capture_default_str();
  bool bulk = false;
  import->add_flag("--bulk", bulk,
                   "write sorted table files straight into the database of a stopped server (--db), as one "
                   "revision: all or nothing; see docs/bulk-import.md");
  import->add_option("--db", im.db, "with --bulk: the database directory (annalsd --db)")
      ->envname("ANNALS_DB")->capture_default_str();
  import->callback([&] {
    if (bulk) {
      code = ImportBulk(im, conn.json);
      return;
    }
    conn.Connect();
    code = Import(conn, im);
  });
  std::string export_path = "-";
  int64_t export_as_of = 0;
  auto* export_cmd = app.add_subcommand("export", "write the graph as JSON Lines that import reads back");
  export_cmd->add_option("file", export_path, "output file ('-': standard output)")->capture_default_str();
  export_cmd->add_option("--as-of", export_as_of, "export the graph as of this revision (0 = latest)");
  export_cmd->callback([&] { conn.Connect(); code = Export(conn, export_path, export_as_of); });

  // diff, watch, history
  DiffOptions df;
  auto* diff = app.add_subcommand("diff", "what changed: between revisions (--from-rev/--to-rev) or dates (--at/--vs)");
  diff->add_option("entities", df.entities, "no id: the whole graph; one: its relations; two: the relations between them");
  diff->add_option("--from-rev", df.from_rev, "changes after this revision");
  diff->add_option("--to-rev", df.to_rev, "up to this revision (default: latest)");
  diff->add_option("--at", df.at, "the earlier date, e.g. 2010");
  diff->add_option("--vs", df.vs, "the later date, e.g. 2013");
  diff->add_flag("--certainly", df.certainly, "compare what certainly held (default: possibly)");
  diff->add_flag("--continued", df.continued, "also list what held at both dates");
  diff->add_option("--predicate", df.predicates, "(repeatable)");
  diff->add_option("--document", df.document, "relations citing this document");
  diff->add_option("--as-of", df.as_of, "with --at/--vs: as the service knew it at this revision");
  diff->callback([&] { conn.Connect(); code = Diff(conn, df); });
  DiffOptions wt;
  std::string resume_token;
  auto* watch = app.add_subcommand("watch", "print changes as they are committed (replaying those after --from-rev)");
  watch->add_option("entities", wt.entities, "no id: the whole graph; one: its relations; two: between them");
  watch->add_option("--from-rev", wt.from_rev, "replay changes after this revision first (default 0: all)");
  watch->add_option("--resume-token", resume_token, "continue right after a change printed with --json");
  watch->add_option("--predicate", wt.predicates, "(repeatable)");
  watch->add_option("--document", wt.document);
  watch->callback([&] { conn.Connect(); code = Watch(conn, wt, resume_token); });
  std::string history_kind;
  auto* history = app.add_subcommand("history", "every version of a relation, entity or document, oldest first");
  history->add_option("id", get_id)->required();
  history->add_option("--kind", history_kind, "relation, entity or document (default: the first that exists)");
  history->callback([&] { conn.Connect(); code = History(conn, get_id, history_kind); });

  // graph queries
  GraphOptions gq;
  auto common = [&](CLI::App* cmd, bool window) {
    cmd->add_option("--predicate", gq.predicates, "(repeatable)");
    cmd->add_option("--status", gq.statuses, "(repeatable; default asserted)");
    if (window) AddWindow(cmd, &gq.window);
    cmd->add_option("--as-of", gq.as_of, "answer as of this revision (0 = latest)");
  };
  auto* traverse = app.add_subcommand("traverse", "the subgraph reached from entities within --depth hops");
  traverse->add_option("entities", gq.entities, "start entity ids")->required();
  traverse->add_option("--depth", gq.depth, "hops (default 2)");
  traverse->add_option("--direction", gq.direction, "out, in or both")->capture_default_str();
  traverse->add_option("--fan-out", gq.fan_out, "relations followed from one entity (server default and cap)");
  traverse->add_option("--limit", gq.limit, "entities plus relations returned (server default and cap)");
  traverse->add_option("--view", gq.view, "of the relations: full, or basic (no sources, qualifiers or confidence)")
      ->check(CLI::IsMember({"basic", "full"}))
      ->capture_default_str();
  common(traverse, true);
  traverse->callback([&] { conn.Connect(); code = Traverse(conn, gq); });
  auto* paths = app.add_subcommand("paths", "the k shortest paths between two entities");
  paths->add_option("entities", gq.entities, "SOURCE TARGET")->required()->expected(2);
  paths->add_option("--max-hops", gq.depth, "default 3");
  paths->add_option("-k", gq.k, "how many paths")->capture_default_str();
  paths->add_flag("--time-respecting", gq.time_respecting, "only chains of relations that could follow one another in time");
  paths->add_option("--direction", gq.direction, "out, in or both")->capture_default_str();
  common(paths, true);
  paths->callback([&] { conn.Connect(); code = Paths(conn, gq); });
  auto* timeline = app.add_subcommand("timeline", "an entity's (or a pair's) relations in valid-time order");
  timeline->add_option("entities", gq.entities, "ENTITY [OTHER]")->required();
  timeline->add_option("--by", gq.by, "year, quarter or month")->capture_default_str();
  timeline->add_option("--limit", gq.limit, "relations (server default and cap)");
  common(timeline, true);
  timeline->callback([&] { conn.Connect(); code = Timeline(conn, gq); });
  auto* aggregate = app.add_subcommand("aggregate", "counts and sums per period: the trajectory of a relationship");
  aggregate->add_option("entities", gq.entities, "ENTITY [OTHER]")->required();
  aggregate->add_option("--by", gq.by, "year, quarter or month")->capture_default_str();
  aggregate->add_flag("--by-predicate", gq.by_predicate, "one row per period and predicate");
  common(aggregate, true);
  aggregate->callback([&] { conn.Connect(); code = Aggregate(conn, gq); });
  auto* conflicts = app.add_subcommand("conflicts", "claims from different sources that disagree on dates or values");
  conflicts->add_option("entities", gq.entities, "ENTITY [OTHER] (or --document)");
  conflicts->add_option("--document", gq.document, "the claims of one document against the others");
  conflicts->add_option("--status", gq.statuses, "(repeatable; default asserted)");
  conflicts->add_option("--as-of", gq.as_of);
  conflicts->add_option("--limit", gq.limit, "groups (default 100)");
  conflicts->callback([&] { conn.Connect(); code = Conflicts(conn, gq); });

  // admin backup (clients/cli/cli_admin_commands.cc)
  auto* admin = app.add_subcommand("admin", "operate the server")->require_subcommand(1);
  std::string backup_dir;
  auto* admin_backup = admin->add_subcommand(
      "backup", "consistent online backup into a new directory on the server host; restore: annalsd --db DIR");
  admin_backup->add_option("dir", backup_dir, "absolute path on the server host; must not exist, its parent must")
      ->required();
  admin_backup->callback([&] { conn.Connect(); code = AdminBackup(conn, backup_dir); });

  // cluster status (clients/cli/cli_admin_commands.cc)
  auto* cluster = app.add_subcommand("cluster", "the replicated cluster (docs/cluster.md)")->require_subcommand(1);
  cluster->add_subcommand("status", "leader, members' positions and lag, the log's extent, etcd's health")
      ->callback([&] { conn.Connect(); code = ClusterStatus(conn); });

  // log export|replay (clients/cli/cli_log_commands.cc): the commit log as a file, and back.
  auto* log = app.add_subcommand("log", "the commit log of a stopped server's database (docs/commit-log.md)")
                  ->require_subcommand(1);
  LogOptions log_options;
  auto* log_export = log->add_subcommand("export", "write the log's entries to FILE (an exact copy of the history)");
  log_export->add_option("file", log_options.file, "the file to write; must not exist")->required();
  log_export->add_option("--db", log_options.db, "the database directory (annalsd --db)")
      ->envname("ANNALS_DB")->capture_default_str();
  log_export->add_option("--from", log_options.from, "first position (default: the first the log holds)");
  log_export->add_option("--to", log_options.to, "last position (default: the last)");
  log_export->callback([&] { code = LogExport(log_options, conn.json); });
  auto* log_replay = log->add_subcommand(
      "replay", "apply a file of `annals log export` to a database at the position before its first entry");
  log_replay->add_option("file", log_options.file, "the file to read")->required();
  log_replay->add_option("--db", log_options.db, "the database directory; created when missing")
      ->required();
  log_replay->callback([&] { code = LogReplay(log_options, conn.json); });

  // verify (clients/cli/cli_verify_command.cc): the offline consistency check of a stopped
  // server's database, read-only and without a server; `annals verify` and `annals admin verify`.
  std::string verify_db = "./var/annals";
  int verify_max_problems = 50;
  auto add_verify = [&](CLI::App* parent) {
    auto* cmd = parent->add_subcommand(
        "verify", "check a stopped server's database: indexes agree with records, the change log has no gaps");
    cmd->add_option("--db", verify_db, "the database directory (annalsd --db)")->envname("ANNALS_DB")->capture_default_str();
    cmd->add_option("--max-problems", verify_max_problems, "problems printed in full")->capture_default_str();
    cmd->callback([&] { code = Verify(verify_db, conn.json, verify_max_problems); });
  };
  add_verify(&app);
  for (CLI::App* sub : app.get_subcommands([](CLI::App* a) { return a->get_name() == "admin"; })) add_verify(sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a "parse error" that exits 0; every real usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return code;
}
