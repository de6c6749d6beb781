// The cluster's drivers for scripts/bench.sh (issue #17's measured figures).
//
//   cluster_bench writer --addrs A,B,C --seconds S
//     A steady writer: one UpsertEntities at a time, each with a request id, sent to the
//     replicas in turn; a call that fails (1 s deadline) is retried with the same request id
//     on the next replica. The script kills the leader while it runs. Reports the longest
//     time between two acknowledged writes: the write unavailability of a failover.
//
//   cluster_bench ryw --leader A --follower B --seconds S
//     Read-your-writes across replicas: write one entity on the leader; as soon as it is
//     acknowledged (revision R), read it on the follower with consistency.min_revision = R.
//     Reports the time from the acknowledgement to the follower's answer, p50 and p99; also
//     the write's own latency and a LINEARIZABLE read's on the follower.
//
// Output: one line "RESULT key=value ..." for scripts/bench.sh to parse.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "bench/driver_flags.h"

namespace {

using namespace annals;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The p-th quantile of `v` (sorted here).
double Quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

std::unique_ptr<grpc::ClientContext> Call(double seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
  return ctx;
}

v1::UpsertEntitiesRequest OneEntity(const std::string& id, const std::string& request_id) {
  v1::UpsertEntitiesRequest r;
  auto* e = r.add_entities();
  e->set_id(id);
  e->set_label("Benchmark entity " + id);
  r.set_request_id(request_id);
  return r;
}

int Writer(const std::map<std::string, std::string>& flags) {
  const std::vector<std::string> addrs = absl::StrSplit(bench::Flag(flags, "addrs"), ',');
  const double seconds = std::stod(bench::Flag(flags, "seconds", "10"));
  std::vector<std::unique_ptr<v1::IngestService::Stub>> stubs;
  for (size_t i = 0; i < addrs.size(); ++i) stubs.push_back(v1::IngestService::NewStub(bench::MakeChannel(addrs[i], int(i))));
  const auto start = Clock::now(), stop = start + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  auto last_ack = start;
  double longest_ms = 0;
  int64_t acked = 0, failures = 0;
  size_t target = 0;
  std::string first_failure;
  std::vector<double> latencies;
  for (int64_t n = 0; Clock::now() < stop; ++n) {
    const std::string id = "failover-" + std::to_string(n);
    const auto request = OneEntity(id, "bench-writer-" + std::to_string(n));
    for (;;) {
      v1::UpsertEntitiesResponse response;
      const auto sent = Clock::now();
      grpc::Status s = stubs[target]->UpsertEntities(Call(1).get(), request, &response);
      if (s.ok()) {
        const auto now = Clock::now();
        latencies.push_back(Ms(now - sent));
        longest_ms = std::max(longest_ms, Ms(now - last_ack));
        last_ack = now;
        ++acked;
        break;
      }
      ++failures;
      if (first_failure.empty()) first_failure = addrs[target] + ": " + s.error_message();
      target = (target + 1) % stubs.size();
      // A client's pause between retries; without it the writer only measures its own spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (Clock::now() >= stop + std::chrono::seconds(30)) {
        std::cerr << "no replica took a write for 30 s after the end: " << s.error_message() << "\n";
        return 1;
      }
    }
  }
  if (!first_failure.empty()) std::cerr << failures << " failed calls, first: " << first_failure << "\n";
  std::printf("RESULT kind=failover acked=%lld seconds=%.2f longest_gap_s=%.3f write_p50_ms=%.3f write_p99_ms=%.3f "
              "failed_calls=%lld\n",
              static_cast<long long>(acked), seconds, longest_ms / 1000, Quantile(latencies, 0.5),
              Quantile(latencies, 0.99), static_cast<long long>(failures));
  return acked > 0 ? 0 : 1;
}

int ReadYourWrites(const std::map<std::string, std::string>& flags) {
  const double seconds = std::stod(bench::Flag(flags, "seconds", "5"));
  auto leader = v1::IngestService::NewStub(bench::MakeChannel(bench::Flag(flags, "leader"), 0));
  auto follower = v1::QueryService::NewStub(bench::MakeChannel(bench::Flag(flags, "follower"), 1));
  std::vector<double> ryw, linearizable, writes;
  int64_t not_found = 0, errors = 0;
  std::string first_error;
  const auto stop = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  for (int64_t n = 0; Clock::now() < stop; ++n) {
    const std::string id = "ryw-" + std::to_string(n);
    v1::UpsertEntitiesResponse written;
    const auto sent = Clock::now();
    grpc::Status s = leader->UpsertEntities(Call(5).get(), OneEntity(id, "bench-ryw-" + std::to_string(n)), &written);
    const auto acked = Clock::now();
    if (s.ok()) {
      writes.push_back(Ms(acked - sent));
      v1::GetEntityRequest get;
      get.set_id(id);
      get.mutable_consistency()->set_min_revision(written.revision());
      v1::Entity entity;
      s = follower->GetEntity(Call(5).get(), get, &entity);
      const auto read = Clock::now();
      if (s.ok()) {
        ryw.push_back(Ms(read - acked));
        get.clear_consistency();
        get.mutable_consistency()->set_mode(v1::ReadConsistency::LINEARIZABLE);
        const auto asked = Clock::now();
        s = follower->GetEntity(Call(5).get(), get, &entity);
        if (s.ok()) linearizable.push_back(Ms(Clock::now() - asked));
      }
    }
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) ++not_found;  // would be a broken promise
    if (!s.ok()) {
      ++errors;
      if (first_error.empty()) first_error = s.error_message();
    }
  }
  if (errors) std::cerr << errors << " errors, first: " << first_error << "\n";
  std::printf("RESULT kind=ryw samples=%zu p50_ms=%.3f p99_ms=%.3f linearizable_p50_ms=%.3f linearizable_p99_ms=%.3f "
              "write_p50_ms=%.3f not_found=%lld errors=%lld\n",
              ryw.size(), Quantile(ryw, 0.5), Quantile(ryw, 0.99), Quantile(linearizable, 0.5),
              Quantile(linearizable, 0.99), Quantile(writes, 0.5), static_cast<long long>(not_found),
              static_cast<long long>(errors));
  return ryw.empty() || not_found > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cluster_bench writer|ryw --flag value ... (see bench/cluster_bench.cc)\n";
    return 2;
  }
  const std::string cmd = argv[1];
  auto flags = annals::bench::ParseFlags(argc, argv, 2);
  if (cmd == "writer") return Writer(flags);
  if (cmd == "ryw") return ReadYourWrites(flags);
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}
