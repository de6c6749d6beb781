#include "cluster/replica.h"

#include <cinttypes>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cluster/replication_service.h"
#include "storage/index_entries.h"
#include "storage/stable_digest.h"
#include "storage/status_macros.h"

#include <grpcpp/grpcpp.h>

namespace annals::cluster {
namespace {

etcdserverpb::Compare ValueIs(const std::string& key, const std::string& value) {
  etcdserverpb::Compare c;
  c.set_result(etcdserverpb::Compare::EQUAL);
  c.set_target(etcdserverpb::Compare::VALUE);
  c.set_key(key);
  c.set_value(value);
  return c;
}

etcdserverpb::Compare Absent(const std::string& key) {
  etcdserverpb::Compare c;
  c.set_result(etcdserverpb::Compare::EQUAL);
  c.set_target(etcdserverpb::Compare::CREATE);
  c.set_key(key);
  c.set_create_revision(0);
  return c;
}

etcdserverpb::RequestOp PutOp(const std::string& key, const std::string& value, int64_t lease = 0) {
  etcdserverpb::RequestOp op;
  auto* put = op.mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  return op;
}

etcdserverpb::RequestOp RangeOp(const std::string& key) {
  etcdserverpb::RequestOp op;
  op.mutable_request_range()->set_key(key);
  return op;
}

// The digest of a store's entry at `position`, as its deterministic bytes; the log's own
// bytes in etcd digest the same way.
absl::StatusOr<std::string> EntryDigest(storage::Store& store, int64_t position) {
  std::optional<std::string> digest;
  absl::Status read = store.ReadLog(position, position, [&](const storage::LogEntry& e) {
    storage::StableDigest d;
    d.Add(storage::SerializeDeterministic(e));
    digest = d.Hex();
    return false;
  });
  if (!read.ok()) return read;
  if (!digest) return absl::DataLossError(absl::StrCat("this database's log does not hold its last entry ", position));
  return *digest;
}

}  // namespace

Replica::Replica(storage::Store* store, ReplicaOptions options)
    : store_(store), options_(std::move(options)), keys_(options_.cluster),
      etcd_(options_.etcd) {}

absl::StatusOr<int64_t> Replica::ReadHead(int64_t* etcd_revision) {
  etcdserverpb::RangeRequest request;
  request.set_key(keys_.Head());
  auto response = etcd_.Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs().empty()) return absl::FailedPreconditionError("the cluster has no head key");
  int64_t head = 0;
  if (!absl::SimpleAtoi(response->kvs(0).value(), &head))
    return absl::DataLossError(absl::StrCat("the cluster's head key holds '", response->kvs(0).value(), "'"));
  if (etcd_revision != nullptr) *etcd_revision = response->header().revision();
  std::lock_guard<std::mutex> lock(mu_);
  state_.head = std::max(state_.head, head);
  return head;
}

absl::StatusOr<std::unique_ptr<Replica>> Replica::Start(storage::Store* store, ReplicaOptions options) {
  if (options.node_id.empty()) return absl::InvalidArgumentError("node id: required in a cluster");
  std::unique_ptr<Replica> r(new Replica(store, std::move(options)));
  // The first member's history is the cluster's: the head starts at its position.
  etcdserverpb::TxnRequest create;
  *create.add_compare() = Absent(r->keys_.Head());
  *create.add_success() = PutOp(r->keys_.Head(), absl::StrCat(store->LastPosition()));
  if (store->LastPosition() > 0) {
    // The first member's last entry is not in etcd (it may be a bulk load far over etcd's
    // request limit); its digest goes with the head, so a database that joins later at that
    // position is checked against it.
    ASSIGN_OR_RETURN(std::string digest, EntryDigest(*store, store->LastPosition()));
    *create.add_success() = PutOp(r->keys_.Anchor(), absl::StrCat(store->LastPosition(), " ", digest));
  }
  auto created = r->etcd_.Txn(create);
  if (!created.ok()) return created.status();
  auto head = r->ReadHead();
  if (!head.ok()) return head.status();
  const int64_t mine = store->LastPosition();
  if (mine > *head)
    return absl::FailedPreconditionError(absl::StrCat(
        "this database is at log position ", mine, " but the cluster's log ends at ", *head,
        ": it holds another history; start it on an empty volume (or with its own --cluster name)"));
  if (mine > 0) {
    // The entry both have must be the same entry: the cluster's log/<mine>, or the first
    // member's entry named by the anchor.
    etcdserverpb::RangeRequest get;
    get.set_key(r->keys_.Log(mine));
    auto theirs = r->etcd_.Range(get);
    if (!theirs.ok()) return theirs.status();
    std::optional<std::string> their_digest;
    if (!theirs->kvs().empty()) {
      storage::StableDigest d;
      d.Add(theirs->kvs(0).value());
      their_digest = d.Hex();
    } else {
      etcdserverpb::RangeRequest anchor;
      anchor.set_key(r->keys_.Anchor());
      auto got = r->etcd_.Range(anchor);
      if (!got.ok()) return got.status();
      const std::string prefix = absl::StrCat(mine, " ");
      if (!got->kvs().empty() && absl::StartsWith(got->kvs(0).value(), prefix))
        their_digest = got->kvs(0).value().substr(prefix.size());
    }
    if (their_digest) {
      ASSIGN_OR_RETURN(std::string own, EntryDigest(*store, mine));
      if (own != *their_digest)
        return absl::FailedPreconditionError(absl::StrCat(
            "this database's entry ", mine, " differs from the cluster's: it holds another history"));
    }
  }
  if (mine < *head) {
    etcdserverpb::RangeRequest next;
    next.set_key(r->keys_.Log(mine + 1));
    next.set_count_only(true);
    auto has = r->etcd_.Range(next);
    if (!has.ok()) return has.status();
    if (has->count() == 0)
      return absl::FailedPreconditionError(absl::StrCat(
          "the cluster's log no longer holds entry ", mine + 1, ", which this database needs next; it must "
          "start from a copy of a member's database"));
  }
  // Marks the database as a member, so offline tools that would write around the log
  // (annals import --bulk) refuse it.
  if (absl::Status marked = store->SetClusterName(r->options_.cluster); !marked.ok()) return marked;
  {
    std::lock_guard<std::mutex> lock(r->mu_);
    r->state_.applied = mine;
  }
  r->follower_ = std::thread([p = r.get()] { p->FollowLoop(); });
  r->leaser_ = std::thread([p = r.get()] { p->LeaseLoop(); });
  r->member_ = std::thread([p = r.get()] { p->MemberLoop(); });
  return r;
}

Replica::~Replica() {
  stop_.store(true);
  etcd_.Cancel();
  stop_cv_.notify_all();
  if (follower_.joinable()) follower_.join();
  if (leaser_.joinable()) leaser_.join();
  if (member_.joinable()) member_.join();
  // A member that leaves on purpose stops holding trimming back at once.
  if (member_lease_ != 0) etcd_.LeaseRevoke(member_lease_).IgnoreError();
  int64_t lease = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease = lease_;
  }
  // Gives the leadership up at once, rather than after the lease's TTL.
  if (lease != 0) etcd_.LeaseRevoke(lease).IgnoreError();
}

ReplicaState Replica::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

absl::Status Replica::ApplyUpTo(int64_t head) {
  for (int64_t next = store_->LastPosition() + 1; next <= head && !stop_.load();) {
    const int64_t last = std::min<int64_t>(head, next + options_.fetch_batch - 1);
    etcdserverpb::RangeRequest request;
    request.set_key(keys_.Log(next));
    request.set_range_end(keys_.Log(last + 1));
    auto response = etcd_.Range(request);
    if (!response.ok()) return response.status();
    for (const auto& kv : response->kvs()) {
      if (kv.key() != keys_.Log(next))
        return absl::DataLossError(absl::StrCat("the cluster's log has no entry ", next,
                                                " (trimmed?): this replica must start from a copy of a member"));
      storage::LogEntry entry;
      if (!entry.ParseFromString(kv.value()))
        return absl::DataLossError(absl::StrCat("the cluster's entry ", next, " is unreadable"));
      if (absl::Status s = store_->Apply(entry); !s.ok()) return s;
      {
        std::lock_guard<std::mutex> lock(mu_);
        state_.applied = next;
      }
      applied_cv_.notify_all();
      ++next;
    }
    if (next <= last)
      return absl::DataLossError(absl::StrCat("the cluster's log has no entry ", next,
                                              " (trimmed?): this replica must start from a copy of a member"));
  }
  return absl::OkStatus();
}

void Replica::FollowLoop() {
  while (!stop_.load()) {
    // The watch below starts just after the revision of this loop's own head read (reads
    // for clients read the head too, at later revisions: starting after theirs could skip
    // the change this loop has not applied yet).
    int64_t read_at = 0;
    auto head = ReadHead(&read_at);
    if (head.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        head_read_at_ = read_at;
      }
      std::lock_guard<std::mutex> commit(commit_mu_);
      // A leader appends everything the log holds after it took over; an entry it did not
      // append means another writer did: it is not the only writer, so it stops leading.
      if (State().leader && *head > store_->LastPosition())
        StepDown(absl::StrCat("entry ", store_->LastPosition() + 1, " was appended by another writer"));
      // Only an entry this replica refuses, or a log it cannot read on from, stops it; I/O
      // trouble and unreachable members are tried again next turn.
      if (absl::Status s = ApplyUpTo(*head); s.code() == absl::StatusCode::kFailedPrecondition ||
                                             s.code() == absl::StatusCode::kDataLoss) {
        // An entry this replica cannot apply: it stops, and says which and why.
        std::lock_guard<std::mutex> lock(mu_);
        state_.failure = std::string(s.message());
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!state_.failure.empty()) {
        state_.leader = false;
        break;
      }
    }
    // A wake-up only: the next turn reads the head whatever the watch said. It watches from
    // just after the etcd revision the head was read at, so a change in between wakes it.
    int64_t from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = head_read_at_ + 1;
    }
    const absl::Time waited = absl::Now();
    if (!etcd_.WaitForChange(keys_.Head(), "", from, options_.poll) && absl::Now() - waited < options_.poll / 2) {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll), [this] { return stop_.load(); });
    }
  }
}

void Replica::StepDown(const std::string& why) {
  int64_t lease = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.leader) std::fprintf(stderr, "annalsd: cluster: no longer the leader: %s\n", why.c_str());
    state_.leader = false;
    std::swap(lease, lease_);
  }
  // The leader key goes with the lease, so another replica can stand at once instead of
  // after the lease's TTL.
  if (lease != 0) etcd_.LeaseRevoke(lease).IgnoreError();
}

void Replica::LeaseLoop() {
  const auto renew_every = options_.lease_ttl / 3;
  while (!stop_.load()) {
    bool leading;
    {
      std::lock_guard<std::mutex> lock(mu_);
      leading = state_.leader && state_.failure.empty();
    }
    if (leading) {
      int64_t lease;
      {
        std::lock_guard<std::mutex> lock(mu_);
        lease = lease_;
      }
      const absl::Time sent = absl::Now();
      auto ttl = etcd_.LeaseKeepAlive(lease);  // whole seconds remaining, as etcd counts
      if (ttl.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        // Counted from when the renewal was sent, so this replica stops acknowledging before
        // etcd could let the lease go.
        lease_ok_until_ = sent + absl::Seconds(*ttl);
      } else if (ttl.status().code() == absl::StatusCode::kNotFound) {
        StepDown("the lease expired");
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        if (absl::Now() >= lease_ok_until_) {
          state_.leader = false;
          std::fprintf(stderr, "annalsd: cluster: no longer the leader: lease not renewed (%s)\n",
                       std::string(ttl.status().message()).c_str());
        }
      }
    } else if (!State().failure.empty()) {
      // A replica that stopped applying the log never stands for leader.
    } else {
      // Stand for leader: the leader key, bound to a fresh lease, if nobody holds it. The
      // lease is trusted from before the grant was asked for, for the TTL etcd granted.
      const absl::Time asked = absl::Now();
      auto lease = etcd_.LeaseGrant(options_.lease_ttl);
      if (lease.ok()) {
        etcdserverpb::TxnRequest txn;
        *txn.add_compare() = Absent(keys_.Leader());
        *txn.add_success() = PutOp(keys_.Leader(), options_.node_id + " " + options_.advertise, lease->id);
        *txn.add_failure() = RangeOp(keys_.Leader());
        auto won = etcd_.Txn(txn);
        if (won.ok() && won->succeeded()) {
          // Leads only once it has applied everything appended before it.
          bool leading_now = false;
          {
            std::lock_guard<std::mutex> commit(commit_mu_);
            auto head = ReadHead();
            absl::Status caught = head.ok() ? ApplyUpTo(*head) : head.status();
            std::lock_guard<std::mutex> lock(mu_);
            if (caught.ok() && state_.failure.empty()) {
              lease_ = lease->id;
              lease_ok_until_ = asked + lease->ttl;
              state_.leader = true;
              state_.leader_id = options_.node_id;
              state_.leader_address = options_.advertise;
              leading_now = true;
              std::fprintf(stderr, "annalsd: cluster: leading at position %lld\n",
                           static_cast<long long>(state_.applied));
            }
          }
          // Won but cannot lead: let the key go at once rather than after the TTL.
          if (!leading_now) etcd_.LeaseRevoke(lease->id).IgnoreError();
        } else {
          etcd_.LeaseRevoke(lease->id).IgnoreError();
          if (won.ok() && !won->responses().empty() && !won->responses(0).response_range().kvs().empty()) {
            const std::string holder = won->responses(0).response_range().kvs(0).value();
            const size_t space = holder.find(' ');
            std::lock_guard<std::mutex> lock(mu_);
            state_.leader_id = holder.substr(0, space);
            state_.leader_address = space == std::string::npos ? "" : holder.substr(space + 1);
          }
        }
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(renew_every), [this] { return stop_.load(); });
  }
}

absl::StatusOr<std::vector<MemberState>> Replica::Members() {
  etcdserverpb::RangeRequest request;
  request.set_key(keys_.MembersPrefix());
  request.set_range_end(PrefixEnd(keys_.MembersPrefix()));
  auto response = etcd_.Range(request);
  if (!response.ok()) return response.status();
  std::vector<MemberState> members;
  for (const auto& kv : response->kvs()) {
    std::optional<MemberState> m = keys_.ParseMember(kv.key(), kv.value());
    if (!m) return absl::DataLossError(absl::StrCat("the member key ", kv.key(), " holds '", kv.value(), "'"));
    members.push_back(std::move(*m));
  }
  return members;
}

absl::StatusOr<ClusterView> Replica::Describe() {
  ClusterView view;
  ASSIGN_OR_RETURN(view.head, ReadHead());
  ASSIGN_OR_RETURN(view.members, Members());
  // The first key and the count, without the values.
  etcdserverpb::RangeRequest log;
  log.set_key(keys_.Log(0));
  log.set_range_end(PrefixEnd(keys_.LogPrefix()));
  log.set_keys_only(true);
  log.set_limit(1);
  auto entries = etcd_.Range(log);
  if (!entries.ok()) return entries.status();
  view.log_entries = entries->count();
  if (entries->kvs_size() > 0) {
    view.first = keys_.ParseLog(entries->kvs(0).key()).value_or(0);
  } else {
    view.first = view.head + 1;  // nothing held: the next entry is the first
  }
  for (size_t i = 0; i < options_.etcd.endpoints.size(); ++i) {
    EtcdEndpointState e;
    e.endpoint = options_.etcd.endpoints[i];
    auto status = etcd_.Status(i);
    if (status.ok()) {
      e.version = status->version();
      e.db_size = status->dbsize();
      e.db_size_in_use = status->dbsizeinuse();
      e.leader = status->leader() != 0 && status->leader() == status->header().member_id();
      e.raft_index = status->raftindex();
    } else {
      e.error = std::string(status.status().message());
    }
    view.etcd.push_back(std::move(e));
  }
  view.self = State();
  return view;
}

absl::StatusOr<int64_t> Replica::TrimPoint(int64_t head) {
  ASSIGN_OR_RETURN(std::vector<MemberState> members, Members());
  // Never past this replica's own durable position, registered or not.
  int64_t keep_from = State().durable;
  for (const auto& m : members) keep_from = std::min(keep_from, m.durable);
  keep_from = std::min(keep_from, head - options_.retain_entries + 1);
  if (keep_from <= 1) return 1;
  // Every entry younger than retain_age stays: recorded times increase with position, so
  // the first young entry at or before keep_from is found by bisection of this store's log.
  const int64_t young_after = absl::ToUnixMicros(absl::Now() - options_.retain_age);
  int64_t lo = std::max<int64_t>(store_->FirstLogPosition(), 1), hi = keep_from;  // answer in [lo, hi]
  auto recorded_at = [&](int64_t p) -> absl::StatusOr<int64_t> {
    int64_t at = -1;
    RETURN_IF_ERROR(store_->ReadLog(p, p, [&](const storage::LogEntry& e) {
      at = e.recorded_at_micros();
      return false;
    }));
    return at;
  };
  if (hi < lo) return keep_from;  // older than anything this store still holds
  ASSIGN_OR_RETURN(int64_t at_hi, recorded_at(hi));
  if (at_hi > young_after) {
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      ASSIGN_OR_RETURN(int64_t at, recorded_at(mid));
      if (at > young_after) hi = mid; else lo = mid + 1;
    }
    keep_from = hi;
  }
  return keep_from;
}

absl::StatusOr<int64_t> Replica::TrimNow() {
  if (!State().leader) return absl::UnavailableError("only the leader trims the log");
  ASSIGN_OR_RETURN(int64_t head, ReadHead());
  ASSIGN_OR_RETURN(int64_t keep_from, TrimPoint(head));
  // The first entry etcd holds: one key, in key order.
  etcdserverpb::RangeRequest first;
  first.set_key(keys_.Log(0));
  first.set_range_end(PrefixEnd(keys_.LogPrefix()));
  first.set_limit(1);
  first.set_keys_only(true);
  auto got = etcd_.Range(first);
  if (!got.ok()) return got.status();
  int64_t log_first = keep_from;
  if (!got->kvs().empty()) {
    const std::string& key = got->kvs(0).key();
    std::optional<int64_t> position = keys_.ParseLog(key);
    if (!position) return absl::DataLossError(absl::StrCat("a log key reads '", key, "'"));
    log_first = *position;
  }
  if (log_first < keep_from) {
    etcdserverpb::DeleteRangeRequest drop;
    drop.set_key(keys_.Log(log_first));
    drop.set_range_end(keys_.Log(keep_from));
    auto dropped = etcd_.DeleteRange(drop);
    if (!dropped.ok()) return dropped.status();
    // The history of the deleted keys (and of every head update before) goes too; watches
    // from before it get a compacted error, which only wakes them (FollowLoop).
    if (auto compacted = etcd_.Compact(dropped->header().revision()); !compacted.ok()) return compacted.status();
    std::lock_guard<std::mutex> lock(mu_);
    ++state_.trims;
    state_.trimmed_entries += dropped->deleted();
    log_first = keep_from;
  }
  // etcd's size, for the metric: from the first member that answers.
  int64_t db_bytes = 0;
  for (size_t i = 0; i < options_.etcd.endpoints.size() && db_bytes == 0; ++i)
    if (auto status = etcd_.Status(i); status.ok()) db_bytes = status->dbsize();
  std::lock_guard<std::mutex> lock(mu_);
  state_.log_first = log_first;
  if (db_bytes > 0) state_.etcd_db_bytes = db_bytes;
  return log_first;
}

void Replica::MemberLoop() {
  absl::Time next_trim = absl::Now() + options_.trim_every;
  while (!stop_.load()) {
    if (member_lease_ != 0 && etcd_.LeaseKeepAlive(member_lease_).status().code() == absl::StatusCode::kNotFound)
      member_lease_ = 0;  // expired while this replica was away or paused: registers again
    if (member_lease_ == 0) {
      if (auto lease = etcd_.LeaseGrant(options_.member_ttl); lease.ok()) member_lease_ = lease->id;
    }
    if (auto durable = store_->SyncLog(); durable.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      state_.durable = *durable;
    }
    if (member_lease_ != 0) {
      const ReplicaState now = State();
      etcdserverpb::PutRequest put;
      put.set_key(keys_.Member(options_.node_id));
      put.set_value(MemberValue(now.durable, now.applied, options_.advertise));
      put.set_lease(member_lease_);
      etcd_.Put(put).IgnoreError();  // tried again next turn
    }
    if (absl::Now() >= next_trim) {
      next_trim = absl::Now() + options_.trim_every;
      if (State().leader) {
        if (auto trimmed = TrimNow(); !trimmed.ok())
          std::fprintf(stderr, "annalsd: cluster: trimming the log failed: %s\n",
                       std::string(trimmed.status().message()).c_str());
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.publish_every), [this] { return stop_.load(); });
  }
}

absl::Status Replica::Append(const storage::LogEntry& entry) {
  const std::string bytes = storage::SerializeDeterministic(entry);
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = ValueIs(keys_.Head(), absl::StrCat(entry.position() - 1));
  *txn.add_success() = PutOp(keys_.Log(entry.position()), bytes);
  *txn.add_success() = PutOp(keys_.Head(), absl::StrCat(entry.position()));
  auto done = etcd_.Txn(txn);
  if (done.ok()) {
    if (done->succeeded()) return absl::OkStatus();
    StepDown(absl::StrCat("another writer appended entry ", entry.position()));
    return absl::UnavailableError(absl::StrCat("not the leader any more (entry ", entry.position(),
                                               " was appended by another writer); retry"));
  }
  // The outcome is unknown: the Txn may still be applied. Read back what the log holds.
  for (int attempt = 0; attempt < 10 && !stop_.load(); ++attempt) {
    etcdserverpb::RangeRequest get;
    get.set_key(keys_.Log(entry.position()));
    auto got = etcd_.Range(get);
    if (got.ok()) {
      if (got->kvs().empty()) {
        return absl::UnavailableError(absl::StrCat("the commit log did not take entry ", entry.position(), " (",
                                                   done.status().message(), "); retry with the same request id"));
      }
      if (got->kvs(0).value() == bytes) return absl::OkStatus();
      StepDown(absl::StrCat("another writer appended entry ", entry.position()));
      return absl::UnavailableError("not the leader any more; retry");
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::UnavailableError(absl::StrCat("the commit log cannot be reached (", done.status().message(),
                                             "); retry with the same request id"));
}

absl::StatusOr<storage::CommitResult> Replica::Commit(const storage::WriteSet& batch) {
  std::string leader_address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.leader || state_.leader_address.empty() || state_.leader_address == options_.advertise)
      leader_address.clear();
    else
      leader_address = state_.leader_address;
  }
  if (leader_address.empty()) return CommitAsLeader(batch);

  // A follower: forward to the leader.
  std::shared_ptr<v1::Replication::Stub> stub;
  {
    std::lock_guard<std::mutex> lock(forward_mu_);
    if (forward_address_ != leader_address || !forward_stub_) {
      auto creds = options_.peer_credentials ? options_.peer_credentials : grpc::InsecureChannelCredentials();
      forward_stub_ = v1::Replication::NewStub(grpc::CreateChannel(leader_address, creds));
      forward_address_ = leader_address;
    }
    stub = forward_stub_;
  }
  grpc::ClientContext ctx;
  const absl::Time deadline = absl::Now() + options_.forward_timeout;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  if (!options_.peer_token.empty()) ctx.AddMetadata("authorization", "Bearer " + options_.peer_token);
  v1::CommitOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++state_.forwarded;
  }
  grpc::Status sent = stub->Commit(&ctx, ToForwarded(batch), &outcome);
  if (!sent.ok())
    return absl::UnavailableError(absl::StrCat("forwarding to the leader at ", leader_address, " failed: ",
                                               sent.error_message(), "; retry with the same request id"));
  if (outcome.code() != 0) {
    const auto code = static_cast<absl::StatusCode>(outcome.code());
    if (outcome.errors().empty()) return absl::Status(code, outcome.message());
    std::vector<storage::ItemError> errors;  // the leader's errors, as values again
    for (const auto& e : outcome.errors()) errors.push_back({e.field(), e.description()});
    return storage::FieldFailure(code, std::move(errors));
  }
  storage::CommitResult result = storage::ResultOf(outcome.result());
  result.replayed = outcome.replayed();
  // Read-your-writes on this replica: answer once it has applied the write itself.
  if (absl::Status applied = WaitForRevision(result.revision, deadline); !applied.ok())
    return absl::Status(applied.code(), absl::StrCat("committed at revision ", result.revision,
                                                     " by the leader, but not yet applied here: ", applied.message()));
  return result;
}

absl::StatusOr<storage::CommitResult> Replica::CommitAsLeader(const storage::WriteSet& batch) {
  std::lock_guard<std::mutex> commit(commit_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!state_.failure.empty())
      return absl::UnavailableError(absl::StrCat("this replica stopped applying the log: ", state_.failure));
    if (!state_.leader)
      return absl::UnavailableError(state_.leader_address.empty()
                                        ? std::string("no leader is known yet; retry")
                                        : absl::StrCat("not the leader; the leader is ", state_.leader_id, " at ",
                                                       state_.leader_address));
    if (absl::Now() >= lease_ok_until_) return absl::UnavailableError("the leader's lease is not renewed; retry");
  }
  auto prepared = store_->Prepare(batch);
  if (!prepared.ok()) return prepared.status();
  if (!prepared->entry) return std::move(prepared->result);
  if (const int64_t size = static_cast<int64_t>(prepared->entry->ByteSizeLong()); size > options_.max_entry_bytes) {
    // A deletion's cascade cannot be split by its caller: say what to do instead.
    const std::string why = absl::StrCat("the commit is ", size, " bytes as a log entry, more than the cluster's limit of ",
                                         options_.max_entry_bytes, " bytes; ",
                                         batch.deletions.empty()
                                             ? "send it as several smaller requests"
                                             : "its cascade is too large: retract the relations first (or re-put them without the document), then delete");
    return storage::FieldFailure(absl::StatusCode::kInvalidArgument, "", why);  // the whole WriteSet
  }
  const absl::Time sent = absl::Now();
  if (absl::Status appended = Append(*prepared->entry); !appended.ok()) return appended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++state_.appends;
    state_.append_seconds += absl::ToDoubleSeconds(absl::Now() - sent);
  }
  if (absl::Status applied = store_->Apply(*prepared->entry); !applied.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_.failure = std::string(applied.message());
    }
    StepDown(absl::StrCat("could not apply its own entry: ", applied.message()));
    return absl::InternalError(absl::StrCat("appended, but not applied here: ", applied.message()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.applied = prepared->entry->position();
    state_.head = std::max(state_.head, state_.applied);
  }
  applied_cv_.notify_all();
  return std::move(prepared->result);
}

absl::Status Replica::WaitForPosition(int64_t position, absl::Time deadline, const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  while (store_->LastPosition() < position) {
    if (!state_.failure.empty()) return absl::UnavailableError(state_.failure);
    if (cancelled && cancelled()) return absl::CancelledError("the call was cancelled");
    if (applied_cv_.wait_until(lock, absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Milliseconds(50)))) ==
            std::cv_status::timeout &&
        absl::Now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat("this replica has applied position ", store_->LastPosition(),
                                                      ", not yet ", position));
  }
  return absl::OkStatus();
}

absl::Status Replica::WaitForRevision(int64_t revision, absl::Time deadline, const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  while (store_->LatestRevision() < revision) {
    if (!state_.failure.empty()) return absl::UnavailableError(state_.failure);
    if (cancelled && cancelled()) return absl::CancelledError("the call was cancelled");
    applied_cv_.wait_until(lock, absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Milliseconds(50))));
    if (store_->LatestRevision() < revision && absl::Now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat("this replica has applied revision ", store_->LatestRevision(),
                                                      ", not yet ", revision));
  }
  return absl::OkStatus();
}

absl::Status Replica::CatchUpToHead(absl::Time deadline, const std::function<bool()>& cancelled) {
  auto head = ReadHead();
  if (!head.ok()) return head.status();
  return WaitForPosition(*head, deadline, cancelled);
}

namespace {
// A read that was not served in time can go to another replica: UNAVAILABLE says retry.
absl::Status RetryElsewhere(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
  return absl::UnavailableError(absl::StrCat(status.message(), " within the call's deadline; retry, or read from another replica"));
}
}  // namespace

absl::Status Replica::AwaitRevision(int64_t revision, absl::Time deadline, const std::function<bool()>& cancelled) {
  if (store_->LatestRevision() >= revision) return absl::OkStatus();
  // Most lags are a few milliseconds: wait a moment before asking etcd whether the revision
  // exists at all.
  absl::Status soon = WaitForRevision(revision, std::min(deadline, absl::Now() + absl::Milliseconds(100)), cancelled);
  if (soon.code() != absl::StatusCode::kDeadlineExceeded) return soon;
  if (auto head = ReadHead(); head.ok() && revision > *head)
    return absl::OutOfRangeError(absl::StrCat(revision, " is after the cluster's latest revision (its log ends at position ",
                                              *head, ")"));
  return RetryElsewhere(WaitForRevision(revision, deadline, cancelled));
}

absl::Status Replica::AwaitLogHead(absl::Time deadline, const std::function<bool()>& cancelled) {
  return RetryElsewhere(CatchUpToHead(deadline, cancelled));
}

}  // namespace annals::cluster
