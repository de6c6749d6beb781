#include "cluster/bootstrap.h"

#include "cluster/cluster_keys.h"

#include <grpcpp/grpcpp.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "annals/v1/admin.grpc.pb.h"
#include "storage/key_codec.h"
#include "storage/stable_digest.h"

namespace annals::cluster {
namespace {

// Holds the log's trimming back at `position` while a copy cut there is received: a member
// key of this node's under a lease renewed here. The replica's own registration replaces
// it once it runs (cluster/replica.h, "members/"); until then the lease lapses by itself
// 10 s after the hold ends, which covers opening the copy and joining.
class TrimHold {
 public:
  TrimHold(EtcdClient& etcd, const BootstrapOptions& options, int64_t position) : etcd_(etcd) {
    auto lease = etcd.LeaseGrant(absl::Seconds(10));
    if (!lease.ok()) return;  // no hold: a long copy may then be overtaken by the trim
    lease_ = lease->id;
    etcdserverpb::PutRequest put;
    put.set_key(ClusterKeys(options.cluster).Member(options.node_id));
    put.set_value(MemberValue(position, position, kJoiningAddress));
    put.set_lease(lease_);
    etcd.Put(put).IgnoreError();
    renewer_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::seconds(3), [this] { return stop_; })) {
        lock.unlock();
        etcd_.LeaseKeepAlive(lease_).IgnoreError();
        lock.lock();
      }
    });
  }
  ~TrimHold() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (renewer_.joinable()) renewer_.join();
  }

 private:
  EtcdClient& etcd_;
  int64_t lease_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread renewer_;
};

using Peer = MemberState;

// The registered members but `options.node_id`, the furthest along first.
absl::StatusOr<std::vector<Peer>> Peers(EtcdClient& etcd, const BootstrapOptions& options) {
  const ClusterKeys keys(options.cluster);
  etcdserverpb::RangeRequest request;
  request.set_key(keys.MembersPrefix());
  request.set_range_end(PrefixEnd(keys.MembersPrefix()));
  auto response = etcd.Range(request);
  if (!response.ok()) return response.status();
  std::vector<Peer> peers;
  for (const auto& kv : response->kvs()) {
    std::optional<MemberState> p = keys.ParseMember(kv.key(), kv.value());
    if (!p || p->node_id == options.node_id) continue;
    if (p->address == kJoiningAddress) continue;  // receiving a copy itself: nothing to send yet
    peers.push_back(std::move(*p));
  }
  std::sort(peers.begin(), peers.end(), [](const Peer& a, const Peer& b) { return a.applied > b.applied; });
  return peers;
}

// Receives one checkpoint from `peer` into `dir` (created here) and checks it.
absl::StatusOr<BootstrapResult> Receive(EtcdClient& etcd, const BootstrapOptions& options, const Peer& peer,
                                        const std::string& dir) {
  namespace fs = std::filesystem;
  auto creds = options.peer_credentials ? options.peer_credentials : grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  auto stub = v1::AdminService::NewStub(grpc::CreateCustomChannel(peer.address, creds, args));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  if (!options.peer_token.empty()) ctx.AddMetadata("authorization", "Bearer " + options.peer_token);
  const absl::Time started = absl::Now();
  auto reader = stub->StreamCheckpoint(&ctx, v1::StreamCheckpointRequest());
  v1::CheckpointChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_header()) {
    grpc::Status s = reader->Finish();
    return absl::UnavailableError(absl::StrCat("no checkpoint header (", s.error_message(), ")"));
  }
  const v1::CheckpointHeader header = chunk.header();
  if (header.format_version() > storage::kFormatVersion) {
    ctx.TryCancel();
    return absl::FailedPreconditionError(absl::StrCat(
        "the peer's database is format ", header.format_version(), ", newer than this annalsd opens (format ",
        storage::kFormatVersion, "): run this replica on the newer binary"));
  }
  if (!header.cluster().empty() && header.cluster() != options.cluster) {
    ctx.TryCancel();
    return absl::FailedPreconditionError(
        absl::StrCat("the peer's database belongs to the cluster '", header.cluster(), "', not '", options.cluster, "'"));
  }
  // From here until the replica registers, the entries after the copy's position stay.
  TrimHold hold(etcd, options, header.position());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  std::vector<std::string> done;
  std::ofstream out;
  std::string current;
  int64_t written = 0;
  storage::StableDigest digest;
  while (reader->Read(&chunk)) {
    if (chunk.file() != current) {
      if (!current.empty()) return absl::DataLossError(absl::StrCat(current, ": ended without its digest"));
      const fs::path path = fs::path(chunk.file()).lexically_normal();
      if (path.is_absolute() || path.empty() || *path.begin() == "..")
        return absl::DataLossError(absl::StrCat("the peer sent a file outside the database: ", chunk.file()));
      current = chunk.file();
      fs::create_directories((fs::path(dir) / path).parent_path(), ec);
      out.open(fs::path(dir) / path, std::ios::binary | std::ios::trunc);
      if (!out) return absl::InternalError(absl::StrCat("cannot write ", (fs::path(dir) / path).string()));
      written = 0;
      digest = storage::StableDigest();
    }
    if (chunk.offset() != written) return absl::DataLossError(absl::StrCat(current, ": a chunk is missing"));
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    digest.Add(chunk.data());
    written += static_cast<int64_t>(chunk.data().size());
    if (!chunk.file_digest().empty()) {
      out.flush();
      if (!out) return absl::InternalError(absl::StrCat("writing ", current, " failed"));
      out.close();
      if (digest.Hex() != chunk.file_digest())
        return absl::DataLossError(absl::StrCat(current, ": its digest differs from the peer's"));
      done.push_back(current);
      current.clear();
    }
  }
  grpc::Status finished = reader->Finish();
  if (!finished.ok()) return absl::UnavailableError(absl::StrCat("the transfer failed: ", finished.error_message()));
  std::vector<std::string> expected;
  for (const auto& f : header.files()) {
    expected.push_back(f.name());
    if (fs::file_size(fs::path(dir) / f.name(), ec) != static_cast<uintmax_t>(f.size()) || ec)
      return absl::DataLossError(absl::StrCat(f.name(), ": not the size the header gives"));
  }
  std::sort(expected.begin(), expected.end());
  std::sort(done.begin(), done.end());
  if (expected != done)
    return absl::DataLossError(absl::StrCat("the files received (", absl::StrJoin(done, ", "),
                                            ") are not the header's (", absl::StrJoin(expected, ", "), ")"));
  BootstrapResult result;
  result.peer = absl::StrCat(peer.node_id, " at ", peer.address);
  result.position = header.position();
  result.revision = header.revision();
  result.bytes = header.total_bytes();
  result.format_version = header.format_version();
  result.took = absl::Now() - started;
  return result;
}

constexpr char kIncoming[] = ".incoming";

}  // namespace

bool HoldsNoDatabase(const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(db_path, ec)) return true;
  for (const auto& entry : fs::directory_iterator(db_path, ec))
    if (entry.path().filename() != kIncoming) return false;
  return !ec;
}

absl::StatusOr<bool> PeerToCopyFrom(const BootstrapOptions& options) {
  EtcdClient etcd(options.etcd);
  etcdserverpb::RangeRequest head;
  const ClusterKeys keys(options.cluster);
  head.set_key(keys.Head());
  head.set_count_only(true);
  auto has_head = etcd.Range(head);
  if (!has_head.ok()) return has_head.status();
  if (has_head->count() == 0) return false;
  auto peers = Peers(etcd, options);
  if (!peers.ok()) return peers.status();
  if (!peers->empty()) return true;
  // Nobody to copy from. Starting empty works only while the log still begins at entry 1
  // (or holds nothing yet); otherwise wait for a member rather than fail later.
  etcdserverpb::RangeRequest first;
  first.set_key(keys.Log(1));
  first.set_count_only(true);
  auto has_first = etcd.Range(first);
  if (!has_first.ok()) return has_first.status();
  etcdserverpb::RangeRequest any;
  any.set_key(keys.LogPrefix());
  any.set_range_end(PrefixEnd(keys.LogPrefix()));
  any.set_count_only(true);
  auto has_any = etcd.Range(any);
  if (!has_any.ok()) return has_any.status();
  if (has_first->count() == 0 && has_any->count() > 0)
    return absl::UnavailableError(
        "the cluster's log no longer begins at entry 1 and no member is registered to copy the database from; "
        "start this replica again once another one runs");
  return false;
}

namespace {

// fsync of a file or a directory (what rename's durability needs).
void SyncPath(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

absl::StatusOr<BootstrapResult> BootstrapFromPeer(const BootstrapOptions& options, const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // An empty directory is welcome: it may be a fresh volume's mount point, which stays.
  const bool dir_exists = fs::exists(db_path, ec);
  if (!HoldsNoDatabase(db_path))
    return absl::FailedPreconditionError(absl::StrCat(db_path, " holds files: a peer's copy goes only where none is"));
  EtcdClient etcd(options.etcd);
  auto peers = Peers(etcd, options);
  if (!peers.ok()) return peers.status();
  // Received apart, moved into place whole: a broken transfer leaves no database. Inside
  // an existing directory (the same filesystem when it is a volume's mount point), beside
  // a missing one.
  const std::string incoming = dir_exists ? (fs::path(db_path) / kIncoming).string() : db_path + kIncoming;
  std::vector<std::string> failures;
  for (const Peer& peer : *peers) {
    fs::remove_all(incoming, ec);
    auto got = Receive(etcd, options, peer, incoming);
    if (got.ok()) {
      // Durable before it is in place: every file, then the directory.
      std::vector<fs::path> names;
      for (const auto& entry : fs::directory_iterator(incoming, ec)) names.push_back(entry.path());
      for (const auto& name : names) SyncPath(name);
      SyncPath(incoming);
      if (!dir_exists) {
        fs::rename(incoming, db_path, ec);
        SyncPath(fs::path(db_path).parent_path().empty() ? fs::path(".") : fs::path(db_path).parent_path());
      } else {
        // One by one into the existing directory, RocksDB's CURRENT last: until it is there
        // the directory holds no database, and a crash midway leaves files RocksDB ignores.
        std::stable_partition(names.begin(), names.end(), [](const fs::path& p) { return p.filename() != "CURRENT"; });
        for (const auto& name : names)
          if (!ec) fs::rename(name, fs::path(db_path) / name.filename(), ec);
        if (!ec) fs::remove(incoming, ec);
        SyncPath(db_path);
      }
      if (ec) return absl::InternalError(absl::StrCat("moving ", incoming, " to ", db_path, ": ", ec.message()));
      return got;
    }
    if (got.status().code() == absl::StatusCode::kFailedPrecondition) {
      fs::remove_all(incoming, ec);
      return got.status();
    }
    failures.push_back(absl::StrCat(peer.node_id, " at ", peer.address, ": ", got.status().message()));
  }
  fs::remove_all(incoming, ec);
  return absl::FailedPreconditionError(
      failures.empty() ? std::string("no other member is registered to copy the database from")
                       : absl::StrCat("no member could send its database: ", absl::StrJoin(failures, "; ")));
}

}  // namespace annals::cluster
