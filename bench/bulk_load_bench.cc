// The bulk load path of issue #8, measured in-process: the same entities and relations as
// `annals_bench load` (bench/icews.h), loaded into a fresh Store through
// storage::BulkLoader (sorted SST files + one atomic IngestExternalFiles, one revision).
// No gRPC: the bulk path is not exposed as an RPC yet, so this is the store-side rate.
//
//   bulk_load_bench --db DIR --data a.tsv,b.tsv [--replicas N]
//
// The clock covers building the records, the SST files and the ingestion. Afterwards it
// reopens the store and checks a few reads at the new revision.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "bench/icews.h"
#include "storage/bulk_load.h"
#include "storage/store.h"

using namespace annals;
using namespace annals::storage;

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[std::string(argv[i]).substr(2)] = argv[i + 1];
  if (!flags.count("db") || !flags.count("data")) {
    std::cerr << "usage: bulk_load_bench --db DIR --data a.tsv,b.tsv [--replicas N]\n";
    return 2;
  }
  const int replicas = flags.count("replicas") ? std::stoi(flags["replicas"]) : 1;
  bench::Dataset ds = bench::LoadDataset(flags["data"], replicas);
  std::filesystem::remove_all(flags["db"]);
  int64_t revision = 0;
  double seconds = 0;
  BulkLoadStats stats;
  {
    auto store = Store::Open(flags["db"], {});
    if (!store.ok()) {
      std::cerr << store.status() << "\n";
      return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    BulkLoader loader(**store);
    for (const auto& e : ds.entities) {
      EntityRecord rec;
      rec.set_id(e.id);
      rec.set_label(e.name);
      if (auto s = loader.AddEntity(rec); !s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
    }
    for (const auto& row : ds.rows) {
      RelationRecord r;
      bench::FillRelation(ds, row, CLAIM_ASSERTED, &r);
      if (auto s = loader.AddRelation(std::move(r)); !s.ok()) {
        std::cerr << s.status() << "\n";
        return 1;
      }
    }
    auto finished = loader.Finish();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!finished.ok()) {
      std::cerr << finished.status() << "\n";
      return 1;
    }
    stats = *finished;
    revision = stats.revision;
  }
  // Reopen: the revision and the data survived, and reads at it see the load.
  auto store = Store::Open(flags["db"], {});
  if (!store.ok() || (*store)->LatestRevision() != revision) {
    std::cerr << "reopen: wrong revision\n";
    return 1;
  }
  RelationFilter q;
  q.entity_id = ds.entities[ds.rows.front().subject].id;
  auto hits = (*store)->FindRelations(q, revision, "", 1000);
  auto last = (*store)->GetRelation("r" + std::to_string(ds.rows.size()), revision);
  if (!hits.ok() || hits->hits.empty() || !last.ok() || !last->has_value()) {
    std::cerr << "reads after the bulk load found nothing\n";
    return 1;
  }
  std::printf("RESULT kind=bulk relations=%lld entities=%lld sst_files=%d sst_bytes=%lld seconds=%.3f rate=%.0f "
              "revision=%lld\n",
              static_cast<long long>(stats.relations_written), static_cast<long long>(stats.entities_written),
              stats.sst_files, static_cast<long long>(stats.sst_bytes), seconds, stats.relations_written / seconds,
              static_cast<long long>(revision));
  return 0;
}
