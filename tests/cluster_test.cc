// cluster/replica.h against real etcd: three etcd members (Debian's etcd 3.4) on loopback,
// Annals stores in temporary directories. The replicas converge to the same state digest;
// only the leader appends, and a writer whose compare fails cannot append; leadership moves
// when the leader goes, and a retry of what the old leader committed is answered, not
// written again; losing the etcd leader costs an election, not a write; an entry a replica
// cannot apply stops it, saying which.
#include "cluster/replica.h"

#include <grpcpp/grpcpp.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cluster/replication_service.h"
#include "storage/bulk_load.h"
#include "storage/index_entries.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/temp_dir.h"

namespace annals::cluster {
namespace {

using annals::testing::EtcdCluster;
using annals::testing::TempDir;
using storage::Store;

storage::WriteSet EntityWrite(const std::string& id, const std::string& request_id) {
  storage::EntityRecord e;
  e.set_id(id);
  e.set_label("Label of " + id);
  storage::WriteSet w;
  w.entities = {e};
  w.request_id = request_id;
  w.fingerprint = "fp-" + id;
  return w;
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    etcd_ = new EtcdCluster(3);
    // Checked in SetUp: an assertion here would make gtest report the tests as skipped.
    etcd_ready_ = etcd_->WaitReady(60);
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(etcd_ready_) << "the etcd members did not come up (their logs are named above)";
    SetUpCluster();
  }
  void SetUpCluster() { cluster_ = absl::StrCat("t", ::testing::UnitTest::GetInstance()->random_seed(), "-", ++n_); }

  ReplicaOptions Options(const std::string& node) {
    ReplicaOptions o;
    o.etcd.endpoints = etcd_->Endpoints();
    o.etcd.call_timeout = absl::Seconds(2);
    o.cluster = cluster_;
    o.node_id = node;
    o.advertise = "127.0.0.1:1" + node;
    o.lease_ttl = absl::Seconds(2);
    o.poll = absl::Milliseconds(100);
    return o;
  }
  std::unique_ptr<Store> NewStore(const std::string& name) {
    auto s = Store::Open(dir_.Sub(name), {});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Replica> Join(Store* store, const std::string& node) {
    auto r = Replica::Start(store, Options(node));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // The replica that leads, once one does (within `seconds`).
  static Replica* WaitForLeader(const std::vector<Replica*>& replicas, double seconds = 10) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      for (Replica* r : replicas)
        if (r != nullptr && r->State().leader) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return nullptr;
  }
  static std::string Digest(Store& s) { return *s.StateDigest(); }

  static EtcdCluster* etcd_;
  static bool etcd_ready_;
  static int n_;
  std::string cluster_;
  TempDir dir_;
};
EtcdCluster* ClusterTest::etcd_ = nullptr;
bool ClusterTest::etcd_ready_ = false;
int ClusterTest::n_ = 0;

// A replica with its Replication service on a real gRPC server on 127.0.0.1:0, so that
// followers can forward writes to it.
struct Node {
  std::unique_ptr<Store> store;
  ReplicationService service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<Replica> replica;
};

TEST_F(ClusterTest, ReplicasConvergeAndFollowersForwardToTheLeader) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (const char* name : {"a", "b", "c"}) {
    auto n = std::make_unique<Node>();
    n->store = NewStore(name);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&n->service);
    n->server = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    ReplicaOptions o = Options(name);
    o.advertise = absl::StrCat("127.0.0.1:", port);
    auto r = Replica::Start(n->store.get(), o);
    ASSERT_TRUE(r.ok()) << r.status();
    n->replica = std::move(*r);
    n->service.SetReplica(n->replica.get());
    nodes.push_back(std::move(n));
  }
  Replica* leader = WaitForLeader({nodes[0]->replica.get(), nodes[1]->replica.get(), nodes[2]->replica.get()});
  ASSERT_NE(leader, nullptr);
  // Writes through every replica: followers forward them, and answer once they have
  // applied them (read-your-writes on the replica that took the write).
  for (int i = 0; i < 45; ++i) {
    Node& via = *nodes[i % 3];
    auto r = via.replica->Commit(EntityWrite(absl::StrCat("e", i), absl::StrCat("req-", i)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->revision, i + 1);
    auto seen = via.store->GetEntity(absl::StrCat("e", i), via.store->LatestRevision());
    ASSERT_TRUE(seen.ok() && seen->has_value()) << "the replica that took the write reads it at once";
  }
  // A retry through another replica is answered from the log, not written again.
  auto retry = nodes[1]->replica->Commit(EntityWrite("e0", "req-0"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->revision, 1);
  // Bad input sent to a follower is refused as the leader refuses it, naming the field.
  storage::WriteSet dangling;
  storage::RelationRecord rel;
  rel.set_id("dangling");
  rel.set_subject("nobody");
  rel.set_predicate("p");
  rel.set_object_id("e1");
  dangling.relations = {rel};
  Replica* follower = leader == nodes[0]->replica.get() ? nodes[1]->replica.get() : nodes[0]->replica.get();
  auto refused = follower->Commit(dangling);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  const auto errors = storage::ItemErrorsOf(refused.status());  // carried back from the leader
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "relations[0].subject");
  // A follower never appends itself, and says who leads.
  auto not_leader = follower->CommitAsLeader(EntityWrite("x", "req-x"));
  EXPECT_EQ(not_leader.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(not_leader.status().message().find("the leader is " + leader->options().node_id), std::string::npos)
      << not_leader.status();
  // A delete through a follower: refused while a relation names the entity, the refusal
  // carried back with its field; with cascade (which the forwarded write must carry), the
  // leader expands it and every replica applies the same entry.
  storage::WriteSet named;
  rel.set_id("e0-e1");
  rel.set_subject("e0");
  named.relations = {rel};
  ASSERT_TRUE(follower->Commit(named).ok());
  storage::WriteSet del;
  del.deletions = {{storage::DeletionItem::ENTITY, "e1", false}};
  auto still_named = follower->Commit(del);
  EXPECT_EQ(still_named.status().code(), absl::StatusCode::kFailedPrecondition) << still_named.status();
  ASSERT_EQ(storage::ItemErrorsOf(still_named.status()).size(), 1u);
  EXPECT_EQ(storage::ItemErrorsOf(still_named.status())[0].field, "deletions[0].id");
  del.deletions[0].cascade = true;
  auto deleted = follower->Commit(del);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->relation_ids, std::vector<std::string>{"e0-e1"});
  for (auto& n : nodes) ASSERT_TRUE(n->replica->WaitForPosition(47, absl::Now() + absl::Seconds(10)).ok());
  for (auto& n : nodes) EXPECT_FALSE(n->store->GetEntity("e1", 47)->has_value());
  EXPECT_EQ(Digest(*nodes[0]->store), Digest(*nodes[1]->store));
  EXPECT_EQ(Digest(*nodes[0]->store), Digest(*nodes[2]->store));
  EXPECT_EQ(nodes[1]->store->LatestRevision(), 47);
  for (auto& n : nodes) {
    n->service.SetReplica(nullptr);
    n->replica.reset();
    n->server->Shutdown();
  }
}

TEST_F(ClusterTest, AWriterWhoseHeadIsStaleCannotAppend) {
  auto a = NewStore("a"), b = NewStore("b");
  auto ra = Join(a.get(), "a");
  Replica* leader = WaitForLeader({ra.get()});
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(leader->Commit(EntityWrite("first", "r1")).ok());
  // Another process appends entry 2 behind the leader's back (as a second, paused-and-
  // resumed "leader" would): the head moves.
  {
    EtcdOptions o;
    o.endpoints = etcd_->Endpoints();
    EtcdClient client(o);
    storage::LogEntry forged;
    auto other = Store::Open(dir_.Sub("other"), {});
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->Commit(EntityWrite("first", "r1")).ok());
    ASSERT_TRUE((*other)->Commit(EntityWrite("intruder", "r2")).ok());
    (*other)->ReadLog(2, 2, [&](const storage::LogEntry& e) {
      forged = e;
      return false;
    }).IgnoreError();
    etcdserverpb::TxnRequest txn;
    auto* cmp = txn.add_compare();
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_key("/annals/" + cluster_ + "/head");
    cmp->set_value("1");
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key("/annals/" + cluster_ + "/log/00000000000000000002");
    put->set_value(storage::SerializeDeterministic(forged));
    auto* head = txn.add_success()->mutable_request_put();
    head->set_key("/annals/" + cluster_ + "/head");
    head->set_value("2");
    auto done = client.Txn(txn);
    ASSERT_TRUE(done.ok() && done->succeeded());
  }
  // The leader either appends with "head == 1" and the compare fails, or its follower
  // sees entry 2 first and it steps down: either way the write is refused and nothing is
  // written twice at 2.
  auto r = leader->Commit(EntityWrite("second", "r3"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_FALSE(leader->State().leader) << "it steps down";
  // It follows the entry it lost to, and leads again only after applying it.
  ASSERT_TRUE(ra->WaitForPosition(2, absl::Now() + absl::Seconds(10)).ok());
  auto got = a->GetEntity("intruder", a->LatestRevision());
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_FALSE(a->GetEntity("second", a->LatestRevision())->has_value());
}

TEST_F(ClusterTest, WhenTheLeaderGoesAnotherLeadsAndRetriesAreAnsweredNotRewritten) {
  auto a = NewStore("a"), b = NewStore("b");
  auto ra = Join(a.get(), "a"), rb = Join(b.get(), "b");
  Replica* leader = WaitForLeader({ra.get(), rb.get()});
  ASSERT_NE(leader, nullptr);
  const bool a_led = leader == ra.get();
  auto first = leader->Commit(EntityWrite("before", "req-before"));
  ASSERT_TRUE(first.ok());
  // The leader goes away (its process ends: it gives its lease up).
  const auto gone = std::chrono::steady_clock::now();
  if (a_led) ra.reset(); else rb.reset();
  Replica* next = WaitForLeader({a_led ? rb.get() : ra.get()});
  ASSERT_NE(next, nullptr);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - gone).count();
  EXPECT_LT(seconds, 5.0) << "write unavailability";
  auto retry = next->Commit(EntityWrite("before", "req-before"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->revision, first->revision);
  auto after = next->Commit(EntityWrite("after", "req-after"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->revision, first->revision + 1);
}

TEST_F(ClusterTest, LosingTheEtcdLeaderCostsAnElectionNotAWrite) {
  auto a = NewStore("a"), b = NewStore("b");
  auto ra = Join(a.get(), "a"), rb = Join(b.get(), "b");
  Replica* leader = WaitForLeader({ra.get(), rb.get()});
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(leader->Commit(EntityWrite("one", "q1")).ok());
  const int etcd_leader = etcd_->Leader();
  ASSERT_GE(etcd_leader, 0);
  etcd_->Kill(etcd_leader);
  // Writes with request ids, retried until they land: each lands once.
  int landed = 0;
  for (int i = 0; i < 10; ++i) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      Replica* now = WaitForLeader({ra.get(), rb.get()}, 10);
      ASSERT_NE(now, nullptr);
      auto r = now->Commit(EntityWrite(absl::StrCat("w", i), absl::StrCat("qw", i)));
      if (r.ok()) {
        ++landed;
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), until) << r.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(landed, 10);
  etcd_->Start(etcd_leader);
  ASSERT_TRUE(etcd_->WaitReady());
  for (Replica* r : {ra.get(), rb.get()}) ASSERT_TRUE(r->WaitForPosition(a->LastPosition() > b->LastPosition() ? a->LastPosition() : b->LastPosition(), absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(a->LatestRevision(), 11);
  EXPECT_EQ(Digest(*a), Digest(*b));
}

// The read barrier (ReadConsistency in the API). A follower that reaches etcd through one
// member only is cut off from the log by stopping that member (the other two keep quorum, so
// the leader goes on writing): it cannot be fresh, and says so within the deadline; once the
// member runs again, it waits for and then holds what it was asked for. A revision the
// cluster never reached is OUT_OF_RANGE at once.
TEST_F(ClusterTest, AReadWaitsUntilItsReplicaHasAppliedWhatItAsksFor) {
  auto a = NewStore("a"), b = NewStore("b");
  const int etcd_leader = etcd_->Leader();
  ASSERT_GE(etcd_leader, 0);
  const size_t cut = (etcd_leader + 1) % etcd_->size();
  // The leader talks to the other two members only, so stopping `cut` cannot stall it.
  ReplicaOptions leader_options = Options("a");
  leader_options.etcd.endpoints.erase(leader_options.etcd.endpoints.begin() + cut);
  auto leader_started = Replica::Start(a.get(), leader_options);
  ASSERT_TRUE(leader_started.ok()) << leader_started.status();
  std::unique_ptr<Replica> ra = std::move(*leader_started);
  ASSERT_EQ(WaitForLeader({ra.get()}), ra.get());
  ASSERT_TRUE(ra->Commit(EntityWrite("before", "q0")).ok());
  ReplicaOptions o = Options("b");
  o.etcd.endpoints = {etcd_->Endpoints()[cut]};
  auto started = Replica::Start(b.get(), o);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Replica> rb = std::move(*started);
  ASSERT_TRUE(rb->AwaitRevision(1, absl::Now() + absl::Seconds(10)).ok());

  etcd_->Signal(cut, SIGSTOP);
  auto written = ra->Commit(EntityWrite("during", "q1"));
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->revision, 2);
  EXPECT_EQ(b->LatestRevision(), 1) << "the follower could not have read the log";
  const absl::Status stale = rb->AwaitRevision(2, absl::Now() + absl::Seconds(1));
  EXPECT_EQ(stale.code(), absl::StatusCode::kUnavailable) << stale;
  EXPECT_NE(stale.message().find("not yet 2"), std::string::npos) << stale;
  const absl::Status head = rb->AwaitLogHead(absl::Now() + absl::Seconds(1));
  EXPECT_EQ(head.code(), absl::StatusCode::kUnavailable) << head;

  // The leader answers at once: it applied the write before acknowledging it.
  EXPECT_TRUE(ra->AwaitRevision(2, absl::Now()).ok());
  EXPECT_TRUE(ra->AwaitLogHead(absl::Now() + absl::Seconds(5)).ok());

  etcd_->Signal(cut, SIGCONT);
  ASSERT_TRUE(ra->Commit(EntityWrite("after", "q2")).ok());
  const absl::Status fresh = rb->AwaitLogHead(absl::Now() + absl::Seconds(15));
  ASSERT_TRUE(fresh.ok()) << fresh;
  EXPECT_EQ(b->LatestRevision(), 3) << "a linearizable read point covers every acknowledged write";
  auto seen = b->GetEntity("during", b->LatestRevision());
  ASSERT_TRUE(seen.ok() && seen->has_value());

  const absl::Status beyond = rb->AwaitRevision(1000, absl::Now() + absl::Seconds(20));
  EXPECT_EQ(beyond.code(), absl::StatusCode::kOutOfRange) << beyond;
  EXPECT_NE(beyond.message().find("ends at position 3"), std::string::npos) << beyond;
}

// The bounded log: members publish durable positions; the leader deletes what every member
// has made durable, keeps the retention floor, and compacts etcd. A member that leaves no
// longer holds trimming back, and when its next entry is gone it cannot rejoin from its
// own database.
TEST_F(ClusterTest, TheLeaderTrimsWhatEveryMemberHasMadeDurableAndCompactsEtcd) {
  auto a = NewStore("a"), b = NewStore("b");
  auto options = [&](const std::string& node) {
    ReplicaOptions o = Options(node);
    o.publish_every = absl::Milliseconds(100);
    o.trim_every = absl::Hours(1);  // the test trims with TrimNow
    o.retain_entries = 5;
    o.retain_age = absl::ZeroDuration();
    return o;
  };
  auto ra = std::move(*Replica::Start(a.get(), options("a")));
  ASSERT_EQ(WaitForLeader({ra.get()}), ra.get());
  auto rb = std::move(*Replica::Start(b.get(), options("b")));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ra->Commit(EntityWrite(absl::StrCat("e", i), absl::StrCat("q", i))).ok());
  ASSERT_TRUE(rb->WaitForPosition(20, absl::Now() + absl::Seconds(10)).ok());
  // Both members registered, both durable at 20.
  std::vector<MemberState> members;
  for (int tries = 0; tries < 100; ++tries) {
    auto m = ra->Members();
    ASSERT_TRUE(m.ok()) << m.status();
    members = *m;
    if (members.size() == 2 && members[0].durable == 20 && members[1].durable == 20) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].durable, 20);
  EXPECT_EQ(members[1].durable, 20);

  auto first = ra->TrimNow();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 16) << "the floor keeps the last 5 entries (16..20)";
  EXPECT_EQ(ra->State().trimmed_entries, 15);
  EtcdClient etcd(Options("x").etcd);
  etcdserverpb::RangeRequest all;
  all.set_key("/annals/" + cluster_ + "/log/");
  all.set_range_end(PrefixEnd("/annals/" + cluster_ + "/log/"));
  all.set_keys_only(true);
  auto left = etcd.Range(all);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->kvs_size(), 5);
  EXPECT_EQ(left->kvs(0).key(), "/annals/" + cluster_ + "/log/00000000000000000016");
  // Compacted: the history before the deletion cannot be read any more.
  etcdserverpb::RangeRequest old = all;
  old.set_revision(left->header().revision() - 5);
  EXPECT_EQ(etcd.Range(old).status().code(), absl::StatusCode::kOutOfRange) << etcd.Range(old).status();
  // A follower keeps following across the trim.
  ASSERT_TRUE(ra->Commit(EntityWrite("after-trim", "q-after")).ok());
  ASSERT_TRUE(rb->WaitForPosition(21, absl::Now() + absl::Seconds(10)).ok());

  // b leaves; the log moves on and is trimmed past b's position; b cannot rejoin by itself.
  rb.reset();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ra->Commit(EntityWrite(absl::StrCat("f", i), absl::StrCat("qf", i))).ok());
  for (int tries = 0; tries < 100 && ra->State().durable < 31; ++tries) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(ra->State().durable, 31);
  auto later = ra->TrimNow();
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, 27);
  auto back = Replica::Start(b.get(), options("b"));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kFailedPrecondition) << back.status();
  EXPECT_NE(back.status().message().find("no longer holds entry 22"), std::string::npos) << back.status();
}

TEST_F(ClusterTest, AnEntryAReplicaCannotApplyStopsItAndSaysWhich) {
  auto a = NewStore("a");
  auto ra = Join(a.get(), "a");
  ASSERT_NE(WaitForLeader({ra.get()}), nullptr);
  ASSERT_TRUE(ra->Commit(EntityWrite("ok", "q")).ok());
  auto b = NewStore("b");
  auto rb = Join(b.get(), "b");
  ASSERT_TRUE(rb->WaitForPosition(1, absl::Now() + absl::Seconds(10)).ok());
  // Entry 2, from a newer writer: an entry format this build does not know.
  EtcdOptions o;
  o.endpoints = etcd_->Endpoints();
  EtcdClient client(o);
  storage::LogEntry newer;
  newer.set_format(storage::kLogEntryFormat + 1);
  newer.set_position(2);
  newer.set_recorded_at_micros(absl::ToUnixMicros(absl::Now()) + 1000000);
  etcdserverpb::TxnRequest txn;
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key("/annals/" + cluster_ + "/log/00000000000000000002");
  put->set_value(storage::SerializeDeterministic(newer));
  auto* head = txn.add_success()->mutable_request_put();
  head->set_key("/annals/" + cluster_ + "/head");
  head->set_value("2");
  ASSERT_TRUE(client.Txn(txn).ok());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rb->State().failure.empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string failure = rb->State().failure;
  EXPECT_NE(failure.find("log entry 2 cannot be applied"), std::string::npos) << failure;
  EXPECT_NE(failure.find("entry format"), std::string::npos) << failure;
  EXPECT_EQ(b->LastPosition(), 1) << "nothing of it applied";
}

TEST_F(ClusterTest, ADatabaseOfAnotherHistoryIsRefused) {
  auto a = NewStore("a");
  auto ra = Join(a.get(), "a");
  ASSERT_NE(WaitForLeader({ra.get()}), nullptr);
  ASSERT_TRUE(ra->Commit(EntityWrite("one", "q1")).ok());
  // A store with its own two entries, ahead of the cluster's one.
  auto other = NewStore("other");
  ASSERT_TRUE(other->Commit(EntityWrite("x", "")).ok());
  ASSERT_TRUE(other->Commit(EntityWrite("y", "")).ok());
  auto refused = Replica::Start(other.get(), Options("other"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("another history"), std::string::npos) << refused.status();
  // One at the same position but with another entry 1.
  auto same = NewStore("same");
  ASSERT_TRUE(same->Commit(EntityWrite("different", "")).ok());
  auto refused2 = Replica::Start(same.get(), Options("same"));
  ASSERT_FALSE(refused2.ok());
  EXPECT_NE(refused2.status().message().find("differs from the cluster's"), std::string::npos) << refused2.status();
}

TEST_F(ClusterTest, ACommitTooLargeForOneEntryIsRefusedWithBothSizesAndNothingWritten) {
  auto a = NewStore("a");
  ReplicaOptions o = Options("a");
  o.max_entry_bytes = 64 * 1024;
  auto ra = Replica::Start(a.get(), o);
  ASSERT_TRUE(ra.ok());
  ASSERT_NE(WaitForLeader({ra->get()}), nullptr);
  storage::WriteSet big;
  for (int i = 0; i < 2000; ++i) {
    storage::EntityRecord e;
    e.set_id(absl::StrCat("big", i));
    e.set_label(std::string(100, 'x'));
    big.entities.push_back(e);
  }
  auto r = (*ra)->Commit(big);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("more than the cluster's limit of 65536 bytes"), std::string::npos) << r.status();
  const auto errors = storage::ItemErrorsOf(r.status());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "") << "the whole write (\"request\" in the API's BadRequest)";
  EXPECT_EQ(a->LastPosition(), 0);
  EXPECT_EQ((*ra)->State().head, 0);
}

TEST_F(ClusterTest, ABulkLoadedDatabaseSeedsTheClusterAndAnotherLoadIsRefused) {
  // A bulk load far over etcd's request limit, as a single node, then the first member.
  auto bulk = [&](const std::string& name, const std::string& label) {
    auto s = NewStore(name);
    storage::BulkLoader loader(*s);
    for (int i = 0; i < 3000; ++i) {
      storage::EntityRecord e;
      e.set_id(absl::StrCat("seeded", i));
      e.set_label(label + std::string(600, 'x'));
      EXPECT_TRUE(loader.AddEntity(e).ok());
    }
    EXPECT_TRUE(loader.Finish().ok());
    return s;
  };
  auto a = bulk("a", "first ");
  EXPECT_EQ(a->LastPosition(), 1);
  auto ra = Join(a.get(), "a");
  ASSERT_NE(ra, nullptr);
  Replica* leader = WaitForLeader({ra.get()});
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(leader->Commit(EntityWrite("after-seed", "s1")).ok());
  ra.reset();
  // Another load at the same position is another history: refused by the anchor's digest.
  auto other = bulk("other", "other ");
  auto refused = Replica::Start(other.get(), Options("other"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("differs from the cluster's"), std::string::npos) << refused.status();
}

TEST_F(ClusterTest, ASingleNodeDatabaseBecomesTheFirstMember) {
  auto a = NewStore("a");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a->Commit(EntityWrite(absl::StrCat("pre", i), "")).ok());
  auto ra = Join(a.get(), "a");
  Replica* leader = WaitForLeader({ra.get()});
  ASSERT_NE(leader, nullptr);
  EXPECT_EQ(leader->State().head, 5);
  auto r = leader->Commit(EntityWrite("member", "m"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision, 6);
}

}  // namespace
}  // namespace annals::cluster
