// annals import: streams JSON Lines, ICEWS or YAGO rows through the Ingest RPC in batches,
// or with --bulk writes them into a stopped server's database as sorted table files
// (storage/bulk_load.h): one revision, all or nothing (docs/bulk-import.md).
//
// Lines that cannot be read are reported (file:line: reason) and skipped. When the server
// rejects a batch, the items it names are reported by line and the rest of the batch is
// sent again without them (a rejected batch commits nothing), so one bad line never costs
// its neighbours. Each batch carries a request id derived from its content, and TSV rows
// get relation ids derived from their content: running an import again writes nothing.
// For TSV formats, an entity is created (id from EntityIdFor, the name as its label) only
// when it does not exist yet, so richer records written earlier are never replaced.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "nlohmann/json.hpp"
#include "absl/strings/str_cat.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"
#include "clients/cli/line_reader.h"
#include "clients/cli/tsv_rows.h"
#include "service/digest.h"
#include "service/jsonl_reader.h"
#include "service/write_path.h"
#include "storage/bulk_load.h"
#include "storage/store.h"

namespace annals::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A progress line on a terminal (redrawn in place), plain lines every few seconds otherwise.
class Progress {
 public:
  explicit Progress(uint64_t total_bytes) : total_(total_bytes), tty_(isatty(STDERR_FILENO)), start_(Clock::now()) {}
  void Update(uint64_t bytes, int64_t rows, bool last = false) {
    const auto now = Clock::now();
    if (!last && now - shown_ < (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(5))) return;
    shown_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double fraction = total_ == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(total_);
    const double rate = seconds > 0 ? rows / seconds : 0;
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    char line[160];
    if (tty_) {
      const int filled = static_cast<int>(fraction * 30);
      std::snprintf(line, sizeof line, "\r[%-30s] %5.1f%% %lld rows  %.0f rows/s  ETA %.0fs ",
                    std::string(filled, '#').c_str(), fraction * 100, static_cast<long long>(rows), rate, eta);
      std::cerr << line << (last ? "\n" : "") << std::flush;
    } else {
      std::snprintf(line, sizeof line, "import: %.1f%% %lld rows %.0f rows/s ETA %.0fs\n", fraction * 100,
                    static_cast<long long>(rows), rate, eta);
      std::cerr << line;
    }
  }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  uint64_t total_;
  bool tty_;
  Clock::time_point start_, shown_;
};

struct Totals {
  int64_t rows = 0, written = 0, unchanged = 0, rejected = 0, batches = 0, replayed = 0, revision = 0;
  double seconds = 0;
  // A file that could not be read to its end: which, the error, and the last line taken.
  std::string stopped_file, stopped_error;
  int stopped_taken_through = 0;
};

// "relations[3].valid.end" -> {"relations", 3}; {"", -1} when the path names no item.
std::pair<std::string, int> ItemOf(const std::string& path) {
  const size_t open = path.find('['), close = path.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return {"", -1};
  int index = -1;
  std::from_chars(path.data() + open + 1, path.data() + close, index);
  return {path.substr(0, open), index};
}

// The batch without the items named in `bad` ({"relations", 3}, ...).
service::JsonlBatch Without(const service::JsonlBatch& batch, const std::set<std::pair<std::string, int>>& bad) {
  service::JsonlBatch kept;
  for (int i = 0; i < batch.request.documents_size(); ++i)
    if (!bad.contains({"documents", i})) {
      v1::JsonlRecord r;
      *r.mutable_document() = batch.request.documents(i);
      kept.Add(std::move(r), batch.document_lines[i]);
    }
  for (int i = 0; i < batch.request.entities_size(); ++i)
    if (!bad.contains({"entities", i})) {
      v1::JsonlRecord r;
      *r.mutable_entity() = batch.request.entities(i);
      kept.Add(std::move(r), batch.entity_lines[i]);
    }
  for (int i = 0; i < batch.request.relations_size(); ++i)
    if (!bad.contains({"relations", i})) {
      v1::JsonlRecord r;
      *r.mutable_relation() = batch.request.relations(i);
      kept.Add(std::move(r), batch.relation_lines[i]);
    }
  return kept;
}

// Turns TSV rows into records: entities on first sight (when missing from the server),
// then a relation with an id derived from the row.
class TsvConverter {
 public:
  // Whether an entity exists already (through the server, or in the database for --bulk);
  // UNAVAILABLE when that cannot be told.
  using ExistsFn = std::function<absl::StatusOr<bool>(const std::string& id)>;
  TsvConverter(ExistsFn exists, bool yago) : exists_(std::move(exists)), yago_(yago) {}

  absl::Status Add(std::string_view line, int line_number, service::JsonlBatch* batch) {
    auto row = yago_ ? ParseYagoLine(line) : ParseIcewsLine(line);
    if (!row.ok()) return row.status();
    v1::JsonlRecord record;
    v1::Relation* r = record.mutable_relation();
    const std::string key_hash = service::Digest128(row->content_key).substr(0, 8);
    uint64_t key_number;
    std::memcpy(&key_number, key_hash.data(), 8);
    const int occurrence = ++occurrences_[key_number];  // the same row twice is two events
    r->set_id(absl::StrCat(yago_ ? "yago:" : "icews:", service::HexDigest(key_hash),
                           occurrence > 1 ? absl::StrCat("-", occurrence) : ""));
    auto subject = EnsureEntity(row->subject_label, line_number, batch);
    if (!subject.ok()) return subject.status();
    auto object = EnsureEntity(row->object_label, line_number, batch);
    if (!object.ok()) return object.status();
    r->set_subject(*subject);
    r->set_predicate(row->predicate);
    r->set_object_id(*object);
    *r->mutable_valid() = row->valid;
    r->set_status(v1::ASSERTED);
    batch->Add(std::move(record), line_number);
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<std::string> EnsureEntity(const std::string& label, int line_number, service::JsonlBatch* batch) {
    if (auto known = id_of_label_.find(label); known != id_of_label_.end()) return known->second;
    const std::string id = EntityIdFor(label);
    auto [it, first_sight] = names_.try_emplace(id, label);
    if (!first_sight) {
      std::cerr << "import: note: '" << label << "' and '" << it->second << "' are both entity '" << id
                << "' (they differ only in case or separators)\n";
      id_of_label_.emplace(label, id);
      return id;
    }
    auto exists = exists_(id);
    if (!exists.ok()) {
      names_.erase(id);  // not settled: asked again at the next sight
      return exists.status();
    }
    id_of_label_.emplace(label, id);
    if (*exists) return id;  // already there: never replace a record someone wrote
    v1::JsonlRecord record;
    record.mutable_entity()->set_id(id);
    record.mutable_entity()->set_label(label);
    batch->Add(std::move(record), line_number);
    return id;
  }

  ExistsFn exists_;
  bool yago_;
  // Hash maps, not std::map: these are looked up three times a row (a fifth of a bulk
  // import's time went to string comparisons in tree lookups, profiled). Each label is
  // settled once (id_of_label_), so a row costs two lookups by the label as it was read
  // instead of building the id from it each time; occurrences are counted by the 64-bit
  // row hash the id is made of, not by its hex text.
  absl::flat_hash_map<std::string, std::string> id_of_label_;  // every label seen -> its id
  absl::flat_hash_map<std::string, std::string> names_;  // id -> the first label seen for it
  absl::flat_hash_map<uint64_t, int> occurrences_;
};

// Reads every file (plain or gzip, clients/cli/line_reader.h), line by line, into batches of
// o.batch_size items and hands each to `send` (false: stop, the sink is broken). Bad lines are
// reported and counted. A file that cannot be read to its end stops the import: the batches
// handed out before stay handed out (for Ingest: committed), the batch being filled is
// dropped, and the message says up to which line the file was taken; false is returned, so
// --bulk commits nothing.
bool ReadFiles(const ImportOptions& o, TsvConverter& tsv, Totals& totals, bool& failed,
               const std::function<bool(service::JsonlBatch, const std::string&)>& send) {
  bool broken = false;
  for (const auto& path : o.files) {
    auto reader = LineReader::Open(path);
    if (!reader.ok()) {
      std::cerr << "annals: " << reader.status().message() << "\n";
      failed = true;
      continue;
    }
    LineReader& in = **reader;
    Progress progress(in.file_size());
    const int64_t rows_before = totals.rows;  // the progress line counts this file's rows
    service::JsonlBatch batch;
    std::string line;
    int line_number = 0;
    int taken_through = 0;  // the last line of the last batch handed to `send`
    int64_t rows_taken = totals.rows;  // totals.rows at that point
    while (in.Next(&line)) {
      ++line_number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++totals.rows;
      absl::Status read;
      if (o.format == "jsonl") {
        auto record = service::ParseJsonlLine(line);
        if (record.ok())
          batch.Add(std::move(*record), line_number);
        else
          read = record.status();
      } else {
        read = tsv.Add(line, line_number, &batch);
      }
      if (read.code() == absl::StatusCode::kUnavailable) {
        std::cerr << "annals: " << read.message() << "\n";
        broken = true;
        break;
      }
      if (!read.ok()) {
        std::cerr << path << ":" << line_number << ": " << read.message() << "\n";
        ++totals.rejected;
        failed = true;
        continue;
      }
      if (batch.size() >= o.batch_size) {
        if (!send(std::move(batch), path)) {
          broken = true;
          break;
        }
        taken_through = line_number;
        rows_taken = totals.rows;
        batch = service::JsonlBatch();
        progress.Update(in.file_bytes_read(), totals.rows - rows_before);
      }
    }
    if (!broken && !in.status().ok()) {
      // Not a clean end: what is in `batch` may come from damaged data; it is not sent.
      std::cerr << "annals: " << in.status().message() << "\n";
      totals.rows = rows_taken;
      totals.stopped_file = path;
      totals.stopped_error = std::string(in.status().message());
      totals.stopped_taken_through = taken_through;
      broken = true;
    }
    if (!broken && !send(std::move(batch), path)) broken = true;
    progress.Update(in.file_bytes_read(), totals.rows - rows_before, /*last=*/true);
    totals.seconds += progress.seconds();
    if (broken) break;
  }
  return !broken;
}

bool CheckImportOptions(const ImportOptions& o) {
  if (o.format != "jsonl" && o.format != "icews" && o.format != "yago") {
    Usage("--format is jsonl, icews or yago");
    return false;
  }
  if (o.batch_size < 1 || o.batch_size > 10000) {
    Usage("--batch-size: 1..10000");
    return false;
  }
  return true;
}

void PrintTotals(const Totals& totals, bool json, const std::string& extra_json, const std::string& extra_text) {
  const double rate = totals.seconds > 0 ? totals.rows / totals.seconds : 0;
  if (json) {
    std::cout << "{\"rows\":" << totals.rows << ",\"written\":" << totals.written << ",\"unchanged\":" << totals.unchanged
              << ",\"rejected\":" << totals.rejected << ",\"batches\":" << totals.batches
              << ",\"alreadyImportedBatches\":" << totals.replayed << ",\"revision\":" << totals.revision
              << ",\"seconds\":" << totals.seconds << ",\"rowsPerSecond\":" << static_cast<int64_t>(rate) << extra_json;
    if (!totals.stopped_file.empty())
      std::cout << ",\"stopped\":{\"file\":" << nlohmann::json(totals.stopped_file).dump()
                << ",\"takenThroughLine\":" << totals.stopped_taken_through
                << ",\"error\":" << nlohmann::json(totals.stopped_error).dump() << "}";
    std::cout << "}\n";
  } else {
    std::cout << "imported " << totals.rows << " rows in " << totals.batches << " batches: " << totals.written
              << " written, " << totals.unchanged << " unchanged, " << totals.rejected << " rejected, "
              << totals.replayed << " batches already imported; revision " << totals.revision << "\n";
    if (!extra_text.empty()) std::cout << extra_text << "\n";
    if (!totals.stopped_file.empty())
      std::cout << "stopped: " << totals.stopped_file << " could not be read to its end; taken up to line "
                << totals.stopped_taken_through << "; mend it and run the same import again (nothing is written twice)\n";
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f s, %.0f rows/s\n", totals.seconds, rate);
    std::cout << buf;
  }
}

}  // namespace

int Import(Connection& c, const ImportOptions& o) {
  if (!CheckImportOptions(o)) return 2;
  grpc::ClientContext ctx;  // no deadline: an import runs as long as the file needs
  auto stream = c.ingest->Ingest(&ctx);
  Totals totals;
  bool failed = false;
  TsvConverter tsv(
      [&c](const std::string& id) -> absl::StatusOr<bool> {
        v1::GetEntityRequest get;
        get.set_id(id);
        v1::Entity existing;
        *get.mutable_consistency() = c.consistency;
        grpc::Status s = c.query->GetEntity(c.Call().get(), get, &existing);
        if (s.ok()) return true;
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;
        return absl::UnavailableError(absl::StrCat("checking entity '", id, "': ", s.error_message()));
      },
      o.format == "yago");
  // Sends one batch and waits for its ack, re-sending without rejected items until it lands.
  auto send = [&](service::JsonlBatch batch, const std::string& path) -> bool {
    for (;;) {
      if (batch.size() == 0) return true;
      std::string bytes;
      batch.request.clear_request_id();
      batch.request.SerializeToString(&bytes);
      batch.request.set_request_id("import-" + service::HexDigest(service::Digest128(bytes)));
      v1::IngestResponse ack;
      if (!stream->Write(batch.request) || !stream->Read(&ack)) return false;
      ++totals.batches;
      if (ack.errors_size() == 0 && ack.replayed()) {
        ++totals.replayed;  // imported before: nothing written now
        totals.revision = std::max(totals.revision, ack.revision());
        return true;
      }
      if (ack.errors_size() == 0) {
        totals.written += ack.entities_written() + ack.documents_written() + ack.relations_written();
        totals.unchanged += ack.unchanged_count();
        totals.revision = std::max(totals.revision, ack.revision());
        return true;
      }
      std::set<std::pair<std::string, int>> bad;
      std::set<int> bad_lines;
      for (const auto& e : ack.errors()) {
        const int line = batch.LineOf(e.field());
        std::cerr << path << ":" << line << ": " << e.field() << ": " << e.description() << "\n";
        const auto item = ItemOf(e.field());
        if (item.second < 0) return true;  // not about one item: the batch cannot be mended
        bad.insert(item);
        bad_lines.insert(line);
      }
      totals.rejected += static_cast<int64_t>(bad_lines.size());
      failed = true;
      batch = Without(batch, bad);
    }
  };

  const bool whole = ReadFiles(o, tsv, totals, failed, send);
  stream->WritesDone();
  if (auto s = stream->Finish(); !s.ok()) return Fail(s);
  PrintTotals(totals, c.json, "", "");
  return failed || !whole ? 1 : 0;
}

int ImportBulk(const ImportOptions& o, bool json) {
  if (!CheckImportOptions(o)) return 2;
  auto store = storage::Store::Open(o.db, {});
  if (!store.ok()) {
    std::cerr << "annals: " << o.db << ": " << store.status().message()
              << "\n(--bulk writes the database directly: stop the annalsd serving it first)\n";
    return 1;
  }
  if (auto member = (*store)->ClusterName(); member.ok() && !member->empty()) {
    std::cerr << "annals: " << o.db << " is a member of cluster '" << *member
              << "': a bulk load would write around the cluster's log, so it is refused. To seed a cluster, "
                 "bulk-load a single-node database, then start it as the cluster's first member "
                 "(docs/cluster.md); to add data to a running cluster, use `annals import` without --bulk\n";
    return 1;
  }
  Totals totals;
  bool failed = false;
  absl::Status load_error;
  const auto start = std::chrono::steady_clock::now();
  {
    storage::BulkLoader loader(**store);
    const int64_t rev = loader.revision();
    TsvConverter tsv(
        [&](const std::string& id) -> absl::StatusOr<bool> {
          auto entity = (*store)->GetEntity(id, rev - 1);
          if (!entity.ok()) return absl::UnavailableError(std::string(entity.status().message()));
          return entity->has_value();
        },
        o.format == "yago");
    // Two stages on two threads: this one reads and parses lines into batches, a worker
    // validates them and adds them to the loader (whose spills run on a third).
    std::mutex mu;
    std::condition_variable changed;
    std::deque<std::pair<service::JsonlBatch, std::string>> queue;  // at most kQueued batches
    constexpr size_t kQueued = 4;
    bool reading_done = false;
    std::thread worker([&] {
      std::unique_lock<std::mutex> lock(mu);
      for (;;) {
        changed.wait(lock, [&] { return !queue.empty() || reading_done; });
        if (queue.empty()) return;
        auto [batch, path] = std::move(queue.front());
        queue.pop_front();
        changed.notify_all();
        lock.unlock();
        service::FieldErrors errors;
        absl::Status added = service::AddItemsToBulk(loader, batch.request.entities(), batch.request.documents(),
                                                     batch.request.relations(), &errors);
        std::set<int> bad_lines;
        for (const auto& e : errors) {
          const int line = batch.LineOf(e.field);
          std::cerr << path << ":" << line << ": " << e.field << ": " << e.description << "\n";
          bad_lines.insert(line);
        }
        lock.lock();
        totals.rejected += static_cast<int64_t>(bad_lines.size());
        failed = failed || !errors.empty();
        if (!added.ok() && load_error.ok()) load_error = added;
      }
    });
    auto add = [&](service::JsonlBatch batch, const std::string& path) -> bool {
      if (batch.size() == 0) return true;
      std::unique_lock<std::mutex> lock(mu);
      ++totals.batches;
      changed.wait(lock, [&] { return queue.size() < kQueued || !load_error.ok(); });
      if (!load_error.ok()) return false;
      queue.emplace_back(std::move(batch), path);
      changed.notify_all();
      return true;
    };
    // ReadFiles counts into its own totals; the worker's counts (under `mu`) join them after.
    Totals read_totals;
    bool read_failed = false;
    const bool whole = ReadFiles(o, tsv, read_totals, read_failed, add);
    {
      std::lock_guard<std::mutex> lock(mu);
      reading_done = true;
    }
    changed.notify_all();
    worker.join();
    totals.rows = read_totals.rows;
    totals.rejected += read_totals.rejected;
    failed = failed || read_failed;
    if (load_error.ok() && !whole)
      load_error = absl::AbortedError(read_totals.stopped_file.empty()
                                          ? "the files could not all be read"
                                          : absl::StrCat(read_totals.stopped_file, " could not be read to its end (",
                                                         read_totals.stopped_error, ")"));
    if (load_error.ok()) {
      auto stats = loader.Finish();
      if (stats.ok()) {
        totals.written = stats->entities_written + stats->documents_written + stats->relations_written;
        totals.unchanged = stats->unchanged_count;
        totals.revision = stats->revision;
      } else {
        load_error = stats.status();
      }
    }
  }
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!load_error.ok()) {
    std::cerr << "annals: bulk import failed, nothing was written: " << load_error.message() << "\n";
    return 1;
  }
  PrintTotals(totals, json, ",\"bulk\":true", "bulk: one revision, written as sorted table files");
  return failed ? 1 : 0;
}

}  // namespace annals::cli
