// The load and query driver of scripts/bench.sh (issue #8, and issue #4's graph queries).
//
//   annals_bench load  --addr HOST:PORT --data a.tsv,b.tsv [--replicas 10] [--batch 1000]
//                      [--window 4] [--entities-out FILE] [--predicates-out FILE]
//   annals_bench query --addr HOST:PORT --entities FILE --predicates FILE
//                      --workload neighbors|busiest|list|health|traverse|paths|paths_in_time
//                      [--concurrency 8] [--seconds 10] [--warmup 2] [--years 2005:2014]
//                      [--server-pid PID] [--view basic|full]
//
// load: maps names to ids (bench/icews.h), sends every entity, then every row as a relation,
// through ONE streaming Ingest call, keeping up to --window batches unacknowledged (the
// server acks in order). Prints the relations per second of the whole load, entities
// included.
//
// query: a closed loop of --concurrency calls in flight for --seconds (after --warmup),
// driven by the generic stub on pre-encoded request bytes (the h2load approach): every
// workload, including the empty-RPC ceiling (grpc.health.v1.Health/Check, served by the
// same server, same client, same concurrency), costs the client the same. The responses
// are not parsed in the timed loop; a sanity pass before it parses a few with the typed
// stubs and prints how many results they hold. Calls are spread over min(concurrency, 2)
// threads, each with its own channel (TCP connection) and completion queue.
//
// busiest: one request, Neighbors of the entity with the most relations (in ICEWS14, John
// Kerry), both directions, March to October 2014 (month precision), 100 results: the
// heaviest common neighbour query (issue #19).
//
// --view: the RelationView of neighbors, busiest and list (AIP-157; default basic, the lean
// answer read from the indexes alone; full is every field, as before views existed).
//
// --server-pid: the server's CPU time (user + system, from /proc/PID/stat) over the
// measured seconds, divided by the calls answered: cpu_us_per_call. It counts everything
// the server did meanwhile, which on an otherwise idle server is the calls.
//
// Output: one line "RESULT key=value ..." for scripts/bench.sh to parse.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <unistd.h>
#include <thread>

#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "bench/driver_flags.h"
#include "bench/icews.h"

namespace {

using namespace annals;
using Clock = std::chrono::steady_clock;

using bench::Flag;
using bench::MakeChannel;
using bench::ParseFlags;

// --- load ------------------------------------------------------------------------------

int Load(const std::map<std::string, std::string>& flags) {
  const std::string addr = Flag(flags, "addr");
  const int replicas = std::stoi(Flag(flags, "replicas", "1"));
  const int batch = std::stoi(Flag(flags, "batch", "1000"));
  const int window = std::stoi(Flag(flags, "window", "4"));
  const auto t_read = Clock::now();
  bench::Dataset ds = bench::LoadDataset(Flag(flags, "data"), replicas);
  std::cerr << "read " << ds.rows.size() << " rows, " << ds.entities.size() << " entities, "
            << ds.predicates.size() << " predicates in "
            << std::chrono::duration<double>(Clock::now() - t_read).count() << " s\n";
  if (auto it = flags.find("entities-out"); it != flags.end()) {
    std::ofstream out(it->second);
    for (const auto& e : ds.entities) out << e.id << '\t' << e.name << '\t' << e.degree << '\n';
  }
  if (auto it = flags.find("predicates-out"); it != flags.end()) {
    std::ofstream out(it->second);
    for (const auto& p : ds.predicates) out << p << '\n';
  }

  // Every request is built before the clock starts: the client's encoding work is not
  // what is measured (the raw RocksDB ceiling gets its input pre-parsed too).
  std::deque<v1::IngestRequest> requests;
  for (size_t i = 0; i < ds.entities.size(); i += 5000) {
    v1::IngestRequest& r = requests.emplace_back();
    for (size_t j = i; j < std::min(ds.entities.size(), i + 5000); ++j) {
      auto* e = r.add_entities();
      e->set_id(ds.entities[j].id);
      e->set_label(ds.entities[j].name);
    }
  }
  const size_t entity_batches = requests.size();
  for (size_t i = 0; i < ds.rows.size(); i += batch) {
    v1::IngestRequest& r = requests.emplace_back();
    for (size_t j = i; j < std::min(ds.rows.size(), i + batch); ++j) {
      const bench::Row& row = ds.rows[j];
      bench::FillRelation(ds, row, v1::ASSERTED, r.add_relations());
    }
  }
  const size_t total = requests.size();

  auto channel = MakeChannel(addr, 0);
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->Ingest(&ctx);
  std::mutex mu;
  std::condition_variable cv;
  size_t acked = 0;
  int64_t relations_written = 0, entities_written = 0, last_revision = 0;
  std::string failure;
  Clock::time_point entities_done;
  const auto start = Clock::now();
  std::thread reader([&] {
    v1::IngestResponse ack;
    while (stream->Read(&ack)) {
      std::lock_guard<std::mutex> lock(mu);
      if (ack.errors_size() > 0 && failure.empty())
        failure = "batch " + std::to_string(ack.batch_index()) + ": " + ack.errors(0).field() + ": " +
                  ack.errors(0).description();
      relations_written += ack.relations_written();
      entities_written += ack.entities_written();
      last_revision = ack.revision();
      if (++acked == entity_batches) entities_done = Clock::now();
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    acked = SIZE_MAX;  // the stream ended
    cv.notify_all();
  });
  bool write_failed = false;
  for (size_t i = 0; i < total; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return acked == SIZE_MAX || i < acked + window; });
      if (acked == SIZE_MAX || !failure.empty()) break;
    }
    if (!stream->Write(requests.front())) {
      write_failed = true;
      break;
    }
    requests.pop_front();  // frees memory as it goes
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  reader.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!status.ok() || write_failed || !failure.empty()) {
    std::cerr << "ingest failed: " << status.error_message() << " " << failure << "\n";
    return 1;
  }
  const double entity_seconds = std::chrono::duration<double>(entities_done - start).count();
  std::printf("RESULT kind=load relations=%lld entities=%lld batches=%zu seconds=%.3f rate=%.0f "
              "entity_seconds=%.3f relation_rate=%.0f revision=%lld\n",
              static_cast<long long>(relations_written), static_cast<long long>(entities_written), total,
              seconds, relations_written / seconds, entity_seconds,
              relations_written / std::max(1e-9, seconds - entity_seconds), static_cast<long long>(last_revision));
  return 0;
}

// --- query -----------------------------------------------------------------------------

struct EntityLine {
  std::string id;
  int64_t degree;
};

std::vector<EntityLine> ReadEntities(const std::string& path) {
  std::vector<EntityLine> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find('\t'), b = line.rfind('\t');
    out.push_back({line.substr(0, a), std::stoll(line.substr(b + 1))});
  }
  if (out.empty()) {
    std::cerr << "no entities in " << path << "\n";
    std::exit(2);
  }
  return out;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

void TwoYears(v1::Window* w, int year) {
  w->mutable_start()->set_year(year);
  w->mutable_end()->set_year(year + 1);
}

struct Workload {
  std::string method;
  std::vector<std::string> requests;  // serialized
  std::function<std::string(const std::string&)> sanity;  // typed call, summary
};

// A workload's sanity call: the request decoded, the typed RPC made, the answer summed up.
template <typename Request, typename Response>
std::function<std::string(const std::string&)> Sanity(
    v1::QueryService::Stub* stub,
    grpc::Status (v1::QueryService::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    std::function<std::string(const Response&)> summary) {
  return [=](const std::string& bytes) {
    Request r;
    r.ParseFromString(bytes);
    Response resp;
    grpc::ClientContext ctx;
    const grpc::Status s = (stub->*method)(&ctx, r, &resp);
    return s.ok() ? summary(resp) : "error:" + s.error_message();
  };
}

// "(bound)" when a graph query stopped at one of its bounds.
template <typename Response>
std::string TruncatedBy(const Response& resp) {
  return resp.truncated() ? "(" + resp.truncation().bound() + ")" : "";
}

Workload MakeWorkload(const std::string& name, const std::map<std::string, std::string>& flags,
                      v1::QueryService::Stub* stub) {
  Workload w;
  if (name == "health") {
    w.method = "/grpc.health.v1.Health/Check";
    w.requests.push_back("");  // HealthCheckRequest{service: ""}: zero bytes
    return w;
  }
  std::mt19937_64 rng(20261124);
  const auto entities = ReadEntities(Flag(flags, "entities"));
  const auto predicates = ReadLines(Flag(flags, "predicates"));
  // Two-year windows starting in a uniformly random year of --years FIRST:LAST (default
  // 2005:2014, i.e. 2005-06 .. 2014-15 for ICEWS05-15).
  const std::string years = Flag(flags, "years", "2005:2014");
  const int first_year = std::stoi(years.substr(0, years.find(':')));
  const int last_year = std::stoi(years.substr(years.find(':') + 1));
  auto year = [&] { return first_year + static_cast<int>(rng() % (last_year - first_year + 1)); };
  auto entity = [&] { return entities[rng() % entities.size()].id; };
  const v1::RelationView view = Flag(flags, "view", "basic") == "full" ? v1::FULL : v1::BASIC;
  if (name == "neighbors") {
    w.method = "/annals.v1.QueryService/Neighbors";
    for (int i = 0; i < 8192; ++i) {
      v1::NeighborsRequest r;
      r.set_entity_id(entity());
      r.set_direction(v1::BOTH);
      TwoYears(r.mutable_window(), year());
      r.set_page_size(100);
      r.set_view(view);
      w.requests.push_back(r.SerializeAsString());
    }
    w.sanity = Sanity<v1::NeighborsRequest, v1::NeighborsResponse>(
        stub, &v1::QueryService::Stub::Neighbors,
        [](const v1::NeighborsResponse& resp) { return std::to_string(resp.neighbors_size()); });
    return w;
  }
  if (name == "busiest") {
    const auto busiest = std::max_element(entities.begin(), entities.end(),
                                          [](const EntityLine& a, const EntityLine& b) { return a.degree < b.degree; });
    w.method = "/annals.v1.QueryService/Neighbors";
    v1::NeighborsRequest r;
    r.set_entity_id(busiest->id);
    r.set_direction(v1::BOTH);
    r.mutable_window()->mutable_start()->set_year(2014);
    r.mutable_window()->mutable_start()->set_month(3);
    r.mutable_window()->mutable_end()->set_year(2014);
    r.mutable_window()->mutable_end()->set_month(10);
    r.set_page_size(100);
    r.set_view(view);
    w.requests.push_back(r.SerializeAsString());
    std::cerr << "busiest entity: " << busiest->id << " (" << busiest->degree << " relations)\n";
    w.sanity = Sanity<v1::NeighborsRequest, v1::NeighborsResponse>(
        stub, &v1::QueryService::Stub::Neighbors,
        [](const v1::NeighborsResponse& resp) { return std::to_string(resp.neighbors_size()); });
    return w;
  }
  if (name == "list") {
    w.method = "/annals.v1.QueryService/ListRelations";
    for (int i = 0; i < 8192; ++i) {
      v1::ListRelationsRequest r;
      r.set_predicate(predicates[rng() % predicates.size()]);
      TwoYears(r.mutable_window(), year());
      r.set_page_size(100);
      r.set_view(view);
      w.requests.push_back(r.SerializeAsString());
    }
    w.sanity = Sanity<v1::ListRelationsRequest, v1::ListRelationsResponse>(
        stub, &v1::QueryService::Stub::ListRelations,
        [](const v1::ListRelationsResponse& resp) { return std::to_string(resp.relations_size()); });
    return w;
  }
  if (name == "traverse") {
    // Depth 2 (both directions, all time) from each of the 100 busiest entities.
    auto sorted = entities;
    std::stable_sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.degree > b.degree; });
    w.method = "/annals.v1.QueryService/Traverse";
    for (int i = 0; i < 100 && i < static_cast<int>(sorted.size()); ++i) {
      v1::TraverseRequest r;
      r.add_start_ids(sorted[i].id);
      r.set_max_depth(2);
      r.set_direction(v1::BOTH);
      r.set_view(view);  // BASIC by default: PostgreSQL's CTE returns ids, names and depths
      w.requests.push_back(r.SerializeAsString());
    }
    w.sanity = Sanity<v1::TraverseRequest, v1::TraverseResponse>(
        stub, &v1::QueryService::Stub::Traverse, [](const v1::TraverseResponse& resp) {
          return std::to_string(resp.entities_size()) + "e/" + std::to_string(resp.relations_size()) + "r" +
                 TruncatedBy(resp);
        });
    return w;
  }
  if (name == "paths" || name == "paths_in_time") {
    // The shortest path (k = 1, at most 3 hops, both directions, all time) between random
    // pairs; paths_in_time asks for time-respecting paths between the same kind of pairs.
    w.method = "/annals.v1.QueryService/FindPaths";
    for (int i = 0; i < 1000; ++i) {
      v1::FindPathsRequest r;
      r.set_source_id(entity());
      r.set_target_id(entity());
      r.set_max_hops(3);
      r.set_direction(v1::BOTH);
      r.set_k(1);
      r.set_time_respecting(name == "paths_in_time");
      w.requests.push_back(r.SerializeAsString());
    }
    w.sanity = Sanity<v1::FindPathsRequest, v1::FindPathsResponse>(
        stub, &v1::QueryService::Stub::FindPaths, [](const v1::FindPathsResponse& resp) {
          return (resp.paths_size() ? std::to_string(resp.paths(0).steps_size()) + "hops" : std::string("none")) +
                 TruncatedBy(resp);
        });
    return w;
  }
  std::cerr << "unknown workload " << name << "\n";
  std::exit(2);
}

struct Call {
  grpc::ClientContext* ctx = nullptr;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  Clock::time_point started;
};

struct ThreadResult {
  std::vector<uint32_t> latencies_us;
  int64_t errors = 0;
  std::string first_error;
};

void RunThread(const std::string& addr, int index, int in_flight, const Workload& w, Clock::time_point measure_from,
               Clock::time_point stop_at, ThreadResult* out) {
  auto channel = MakeChannel(addr, index);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::vector<grpc::ByteBuffer> requests;
  for (const auto& bytes : w.requests) {
    grpc::Slice slice(bytes);
    requests.emplace_back(&slice, 1);
  }
  size_t next = static_cast<size_t>(index) * 7919;
  std::vector<Call> calls(in_flight);
  auto start = [&](Call& c) {
    delete c.ctx;
    c.ctx = new grpc::ClientContext();
    c.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    c.started = Clock::now();
    c.reader = stub.PrepareUnaryCall(c.ctx, w.method, requests[next++ % requests.size()], &cq);
    c.reader->StartCall();
    c.reader->Finish(&c.response, &c.status, &c);
  };
  for (auto& c : calls) start(c);
  int outstanding = in_flight;
  void* tag;
  bool ok;
  while (outstanding > 0 && cq.Next(&tag, &ok)) {
    Call& c = *static_cast<Call*>(tag);
    const auto now = Clock::now();
    if (c.started >= measure_from && now <= stop_at) {
      if (c.status.ok()) {
        out->latencies_us.push_back(
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - c.started).count()));
      } else {
        if (out->errors++ == 0) out->first_error = c.status.error_message();
      }
    }
    if (now < stop_at) {
      start(c);
    } else {
      --outstanding;
    }
  }
  for (auto& c : calls) delete c.ctx;
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// The CPU time (user + system) a process has used, in seconds; -1 when it cannot be read.
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');  // the command name may hold spaces
  if (pid.empty() || close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int Query(const std::map<std::string, std::string>& flags) {
  const std::string addr = Flag(flags, "addr");
  const std::string name = Flag(flags, "workload");
  const int concurrency = std::stoi(Flag(flags, "concurrency", "1"));
  const double seconds = std::stod(Flag(flags, "seconds", "10"));
  const double warmup = std::stod(Flag(flags, "warmup", "2"));
  auto typed = v1::QueryService::NewStub(MakeChannel(addr, 99));
  Workload w = MakeWorkload(name, flags, typed.get());
  if (w.sanity) {
    std::string summary;
    for (int i = 0; i < 5 && i < static_cast<int>(w.requests.size()); ++i)
      summary += (i ? "," : "") + w.sanity(w.requests[i]);
    std::cerr << "sanity " << name << ": results of the first requests: " << summary << "\n";
  }
  const int threads = std::min(concurrency, 2);
  const auto t0 = Clock::now();
  const auto measure_from = t0 + std::chrono::milliseconds(static_cast<int64_t>(warmup * 1000));
  const auto stop_at = measure_from + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  std::vector<ThreadResult> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const int in_flight = concurrency / threads + (t < concurrency % threads ? 1 : 0);
    pool.emplace_back(RunThread, addr, t, in_flight, std::cref(w), measure_from, stop_at, &results[t]);
  }
  // The server's CPU over the measured seconds, read as they begin and end.
  const std::string server_pid = flags.count("server-pid") ? flags.at("server-pid") : "";
  double cpu_from = -1, cpu_to = -1;
  if (!server_pid.empty()) {
    std::this_thread::sleep_until(measure_from);
    cpu_from = ProcessCpuSeconds(server_pid);
    std::this_thread::sleep_until(stop_at);
    cpu_to = ProcessCpuSeconds(server_pid);
  }
  for (auto& t : pool) t.join();
  std::vector<uint32_t> all;
  int64_t errors = 0;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    if (all.empty()) return 0.0;
    return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] / 1000.0;
  };
  if (errors) std::cerr << errors << " errors, first: " << first_error << "\n";
  const double cpu_us_per_call =
      cpu_from < 0 || cpu_to < 0 || all.empty() ? -1 : (cpu_to - cpu_from) * 1e6 / static_cast<double>(all.size());
  std::printf("RESULT kind=query workload=%s view=%s concurrency=%d calls=%zu seconds=%.2f qps=%.0f p50_ms=%.3f "
              "p99_ms=%.3f errors=%lld%s\n",
              name.c_str(), Flag(flags, "view", "basic").c_str(), concurrency, all.size(), seconds, all.size() / seconds, pct(0.50), pct(0.99),
              static_cast<long long>(errors),
              cpu_us_per_call < 0 ? "" : (" cpu_us_per_call=" + std::to_string(static_cast<int>(cpu_us_per_call))).c_str());
  return errors > 0 && all.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: annals_bench load|query --flag value ... (see bench/annals_bench.cc)\n";
    return 2;
  }
  const std::string cmd = argv[1];
  auto flags = ParseFlags(argc, argv, 2);
  if (cmd == "load") return Load(flags);
  if (cmd == "query") return Query(flags);
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}
