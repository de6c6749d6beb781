#include "cluster/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace annals::cluster {
namespace {

absl::Status FromGrpc(const grpc::Status& s, const std::string& endpoint) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("etcd ", endpoint, ": ", s.error_message()));
}

bool TryNext(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

struct EtcdClient::Endpoint {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
};

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
  for (const auto& address : options_.endpoints) {
    auto e = std::make_unique<Endpoint>();
    e->address = address;
    grpc::ChannelArguments args;
    // Reconnect quickly after a member comes back: the default backoff grows to minutes.
    // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout, and at 100 ms
    // connections to a live member were abandoned mid-handshake.)
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // A Range of log entries can be large (entries of up to 1.4 MB): past gRPC's 4 MiB
    // default, a follower that fell behind could never read its way back.
    args.SetMaxReceiveMessageSize(256 << 20);
    e->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    e->kv = etcdserverpb::KV::NewStub(e->channel);
    e->watch = etcdserverpb::Watch::NewStub(e->channel);
    e->lease = etcdserverpb::Lease::NewStub(e->channel);
    e->maintenance = etcdserverpb::Maintenance::NewStub(e->channel);
    endpoints_.push_back(std::move(e));
  }
}

EtcdClient::~EtcdClient() { Cancel(); }

template <typename Call>
absl::Status EtcdClient::WithFailover(Call&& call) {
  if (endpoints_.empty()) return absl::FailedPreconditionError("no etcd endpoints configured");
  absl::Status last;
  const size_t start = current_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t at = (start + i) % endpoints_.size();
    Endpoint& e = *endpoints_[at];
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    last = FromGrpc(call(e, &ctx), e.address);
    if (!TryNext(last)) {
      current_.store(at);
      return last;
    }
  }
  current_.store((start + 1) % endpoints_.size());
  return last;
}

template <typename Response, typename Call>
absl::StatusOr<Response> EtcdClient::Unary(Call&& call) {
  Response response;
  absl::Status s = WithFailover([&](Endpoint& e, grpc::ClientContext* ctx) {
    response.Clear();
    return call(e, ctx, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Range(const etcdserverpb::RangeRequest& request) {
  return Unary<etcdserverpb::RangeResponse>(
      [&](Endpoint& e, grpc::ClientContext* ctx, auto* response) { return e.kv->Range(ctx, request, response); });
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  // A Txn is not retried on another member: after a timeout it may have been applied, and
  // only the caller can tell whether to send it again.
  if (endpoints_.empty()) return absl::FailedPreconditionError("no etcd endpoints configured");
  const size_t at = current_.load() % endpoints_.size();
  Endpoint& e = *endpoints_[at];
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  absl::Status s = FromGrpc(e.kv->Txn(&ctx, request, &response), e.address);
  if (TryNext(s)) current_.store((at + 1) % endpoints_.size());
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::PutResponse> EtcdClient::Put(const etcdserverpb::PutRequest& request) {
  return Unary<etcdserverpb::PutResponse>(
      [&](Endpoint& e, grpc::ClientContext* ctx, auto* response) { return e.kv->Put(ctx, request, response); });
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> EtcdClient::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& request) {
  return Unary<etcdserverpb::DeleteRangeResponse>(
      [&](Endpoint& e, grpc::ClientContext* ctx, auto* response) { return e.kv->DeleteRange(ctx, request, response); });
}

absl::StatusOr<etcdserverpb::CompactionResponse> EtcdClient::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  return Unary<etcdserverpb::CompactionResponse>(
      [&](Endpoint& e, grpc::ClientContext* ctx, auto* response) { return e.kv->Compact(ctx, request, response); });
}

absl::StatusOr<EtcdClient::Lease> EtcdClient::LeaseGrant(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  // Whole seconds, rounded down: the leader trusts a lease no longer than it asked for.
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  auto response = Unary<etcdserverpb::LeaseGrantResponse>(
      [&](Endpoint& e, grpc::ClientContext* ctx, auto* out) { return e.lease->LeaseGrant(ctx, request, out); });
  if (!response.ok()) return response.status();
  if (!response->error().empty()) return absl::UnavailableError(absl::StrCat("etcd lease grant: ", response->error()));
  return Lease{response->id(), absl::Seconds(response->ttl())};
}

absl::Status EtcdClient::LeaseRevoke(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return WithFailover([&](Endpoint& e, grpc::ClientContext* ctx) { return e.lease->LeaseRevoke(ctx, request, &response); });
}

absl::StatusOr<int64_t> EtcdClient::LeaseKeepAlive(int64_t lease) {
  etcdserverpb::LeaseKeepAliveResponse response;
  absl::Status s = WithFailover([&](Endpoint& e, grpc::ClientContext* ctx) {
    auto stream = e.lease->LeaseKeepAlive(ctx);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease);
    response.Clear();
    if (!stream->Write(request) || !stream->Read(&response)) {
      ctx->TryCancel();
      grpc::Status finished = stream->Finish();
      return finished.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keep-alive stream ended") : finished;
    }
    stream->WritesDone();
    ctx->TryCancel();
    stream->Finish().ok();
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  if (response.ttl() <= 0) return absl::NotFoundError(absl::StrCat("etcd lease ", lease, " has expired"));
  return response.ttl();
}

absl::StatusOr<etcdserverpb::StatusResponse> EtcdClient::Status(size_t endpoint) {
  if (endpoint >= endpoints_.size()) return absl::InvalidArgumentError("no such etcd endpoint");
  Endpoint& e = *endpoints_[endpoint];
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  etcdserverpb::StatusResponse response;
  absl::Status s = FromGrpc(e.maintenance->Status(&ctx, etcdserverpb::StatusRequest(), &response), e.address);
  if (!s.ok()) return s;
  return response;
}

bool EtcdClient::WaitForChange(const std::string& key, const std::string& range_end, int64_t start_revision,
                               absl::Duration timeout) {
  if (cancelled_.load() || endpoints_.empty()) return false;
  Endpoint& e = *endpoints_[current_.load() % endpoints_.size()];
  auto ctx = std::make_shared<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (cancelled_.load()) return false;
    watch_context_ = ctx;
  }
  auto stream = e.watch->Watch(ctx.get());
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(start_revision);
  bool changed = false;
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
      // A compacted start revision cancels the watch: something may have changed since.
      if (!response.events().empty() || response.compact_revision() > 0 || response.canceled()) {
        changed = true;
        break;
      }
    }
  }
  ctx->TryCancel();
  stream->Finish().ok();
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_context_.reset();
  }
  return changed;
}

void EtcdClient::Cancel() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (watch_context_) watch_context_->TryCancel();
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

}  // namespace annals::cluster
