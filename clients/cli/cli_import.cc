// annals import: streams a JSON Lines file through the Ingest RPC in batches.
//
// Lines that do not parse are reported and skipped. When the server rejects a batch, the
// items it names are reported by line and the rest of the batch is sent again without
// them (a rejected batch commits nothing), so one bad line never costs its neighbours.
// Each batch carries a request id derived from its content: re-running an import after a
// crash or a lost ack writes nothing twice.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"
#include "service/digest.h"
#include "service/jsonl_reader.h"

namespace annals::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A progress line on a terminal (redrawn in place), plain lines every few seconds otherwise.
class Progress {
 public:
  Progress(uint64_t total_bytes) : total_(total_bytes), tty_(isatty(STDERR_FILENO)), start_(Clock::now()) {}
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

 private:
  uint64_t total_;
  bool tty_;
  Clock::time_point start_, shown_;
};

struct Totals {
  int64_t rows = 0, written = 0, unchanged = 0, rejected = 0, batches = 0, replayed = 0, revision = 0;
};

// Drops the items at the given field paths ("relations[3]...") from a batch.
service::JsonlBatch Without(const service::JsonlBatch& batch, const std::set<int>& bad_lines) {
  service::JsonlBatch kept;
  auto keep = [&](const auto& items, const std::vector<int>& lines, auto add) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (!bad_lines.contains(lines[i])) add(items[static_cast<int>(i)], lines[i]);
  };
  keep(batch.request.entities(), batch.entity_lines, [&](const v1::Entity& e, int line) {
    v1::JsonlRecord r;
    *r.mutable_entity() = e;
    kept.Add(std::move(r), line);
  });
  keep(batch.request.documents(), batch.document_lines, [&](const v1::Document& d, int line) {
    v1::JsonlRecord r;
    *r.mutable_document() = d;
    kept.Add(std::move(r), line);
  });
  keep(batch.request.relations(), batch.relation_lines, [&](const v1::Relation& rel, int line) {
    v1::JsonlRecord r;
    *r.mutable_relation() = rel;
    kept.Add(std::move(r), line);
  });
  return kept;
}

}  // namespace

int Import(Connection& c, const ImportOptions& o) {
  if (o.format != "jsonl") return Usage("--format: only jsonl is supported so far");
  if (o.batch_size < 1 || o.batch_size > 10000) return Usage("--batch-size: 1..10000");
  grpc::ClientContext ctx;  // no deadline: an import runs as long as the file needs
  auto stream = c.ingest->Ingest(&ctx);
  Totals totals;
  bool failed = false;

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
      std::set<int> bad;
      for (const auto& e : ack.errors()) {
        const int line = batch.LineOf(e.field());
        std::cerr << path << ":" << line << ": " << e.field() << ": " << e.description() << "\n";
        if (line == 0) return true;  // not about one item: the batch cannot be mended
        bad.insert(line);
      }
      totals.rejected += static_cast<int64_t>(bad.size());
      failed = true;
      batch = Without(batch, bad);
    }
  };

  for (const auto& path : o.files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << "annals: " << path << ": cannot open\n";
      failed = true;
      continue;
    }
    std::error_code ec;
    Progress progress(std::filesystem::file_size(path, ec));
    service::JsonlBatch batch;
    std::string line;
    int line_number = 0;
    uint64_t bytes = 0;
    while (std::getline(in, line)) {
      ++line_number;
      bytes += line.size() + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++totals.rows;
      auto record = service::ParseJsonlLine(line);
      if (!record.ok()) {
        std::cerr << path << ":" << line_number << ": " << record.status().message() << "\n";
        ++totals.rejected;
        failed = true;
        continue;
      }
      batch.Add(std::move(*record), line_number);
      if (batch.size() >= o.batch_size) {
        if (!send(std::move(batch), path)) break;
        batch = service::JsonlBatch();
        progress.Update(bytes, totals.rows);
      }
    }
    if (!send(std::move(batch), path)) break;
    progress.Update(bytes, totals.rows, /*last=*/true);
  }
  stream->WritesDone();
  if (auto s = stream->Finish(); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << "{\"rows\":" << totals.rows << ",\"written\":" << totals.written << ",\"unchanged\":" << totals.unchanged
              << ",\"rejected\":" << totals.rejected << ",\"batches\":" << totals.batches
              << ",\"alreadyImportedBatches\":" << totals.replayed
              << ",\"revision\":" << totals.revision << "}\n";
  } else {
    std::cout << "imported " << totals.rows << " rows in " << totals.batches << " batches: " << totals.written
              << " written, " << totals.unchanged << " unchanged, " << totals.rejected << " rejected, "
              << totals.replayed << " batches already imported; revision " << totals.revision << "\n";
  }
  return failed ? 1 : 0;
}

}  // namespace annals::cli
