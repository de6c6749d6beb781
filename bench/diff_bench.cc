// How the cost of a revision diff grows with the graph (issue #3): DiffRevisions of the
// last 1,000 changes through a real server, on graphs of 100k and of 1M relations.
// The goal: the two stay within 2x of each other (a diff reads the change log of its
// range, not the graph).
//
//   build/bench/diff_bench                       # both sizes
//   build/bench/diff_bench --benchmark_filter=/100000
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "annals/v1/diff.grpc.pb.h"
#include "service/server.h"
#include "storage/store.h"

namespace {

using namespace annals;

// Builds (once per size, in a temporary directory) a graph of `relations` relations among
// 10,000 entities, committed in batches of 10,000, then 1,000 single-relation commits so the
// last 1,000 revisions hold one change each.
std::string BuildGraph(int64_t relations) {
  static std::map<int64_t, std::string> built;
  if (auto it = built.find(relations); it != built.end()) return it->second;
  const std::string dir = (std::filesystem::temp_directory_path() / ("annals-diff-bench-" + std::to_string(relations))).string();
  std::filesystem::remove_all(dir);
  auto store = storage::Store::Open(dir, {});
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    std::exit(1);
  }
  constexpr int kEntities = 10'000;
  storage::WriteSet entities;
  for (int i = 0; i < kEntities; ++i) {
    storage::EntityRecord e;
    e.set_id("e" + std::to_string(i));
    e.set_label("Entity " + std::to_string(i));
    entities.entities.push_back(e);
  }
  (void)(*store)->Commit(entities);
  auto relation = [](int64_t i) {
    storage::RelationRecord r;
    r.set_subject("e" + std::to_string(i % kEntities));
    r.set_predicate(i % 3 == 0 ? "met" : i % 3 == 1 ? "visited" : "signed");
    r.set_object_id("e" + std::to_string((i * 7919) % kEntities));
    r.mutable_valid()->mutable_start()->set_year(2000 + static_cast<int>(i % 15));
    r.set_status(storage::CLAIM_ASSERTED);
    return r;
  };
  const int64_t bulk = relations - 1000;
  for (int64_t start = 0; start < bulk; start += 10'000) {
    storage::WriteSet batch;
    for (int64_t i = start; i < std::min(bulk, start + 10'000); ++i) batch.relations.push_back(relation(i));
    if (auto r = (*store)->Commit(batch); !r.ok()) {
      std::cerr << r.status() << "\n";
      std::exit(1);
    }
  }
  for (int64_t i = bulk; i < relations; ++i) {
    storage::WriteSet one;
    one.relations.push_back(relation(i));
    (void)(*store)->Commit(one);
  }
  built[relations] = dir;
  return dir;
}

void BM_DiffLast1000Changes(benchmark::State& state) {
  const std::string dir = BuildGraph(state.range(0));
  service::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.db_path = dir;
  std::ostringstream log;
  auto server = service::AnnalsServer::Start(config, log);
  if (!server.ok()) {
    state.SkipWithError("server did not start");
    return;
  }
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials());
  auto stub = v1::DiffService::NewStub(channel);
  const int64_t latest = (*server)->store()->LatestRevision();
  int64_t changes = 0;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    v1::DiffRevisionsRequest req;
    req.set_from_revision(latest - 1000);
    auto reader = stub->DiffRevisions(&ctx, req);
    v1::Change c;
    int64_t n = 0;
    while (reader->Read(&c)) ++n;
    if (!reader->Finish().ok() || n != 1000) state.SkipWithError("diff failed");
    changes += n;
  }
  state.counters["changes/s"] = benchmark::Counter(static_cast<double>(changes), benchmark::Counter::kIsRate);
  state.counters["graph_relations"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_DiffLast1000Changes)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
