// The commit log (docs/commit-log.md) on real RocksDB stores in temporary directories:
// every write becomes an entry; replaying the entries into an empty store, with another
// clock and other process options, gives the same state at every position; retries are
// answered from what the log recorded; entries that cannot be applied are refused whole;
// a database of format 1 (tests/data/format1-db.tar.gz, written by the code before the
// log) is upgraded on open and its rebuilt log replays to the same data.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/bulk_load.h"
#include "storage/index_entries.h"
#include "storage/key_codec.h"
#include "storage/rocks_options.h"
#include "storage/store.h"
#include "storage/verify.h"
#include "tests/support/dates.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

EntityRecord Entity(const std::string& id, const std::string& label) {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  return e;
}

// A batch of entities, with a request id when one is given.
WriteSet EntityBatch(std::vector<EntityRecord> entities, const std::string& request_id = "",
                     const std::string& fingerprint = "") {
  WriteSet w;
  w.entities = std::move(entities);
  w.request_id = request_id;
  w.fingerprint = fingerprint;
  return w;
}

std::unique_ptr<Store> MustOpen(const std::string& path, StoreOptions options = {}) {
  auto opened = Store::Open(path, options);
  EXPECT_TRUE(opened.ok()) << opened.status();
  return opened.ok() ? std::move(*opened) : nullptr;
}

std::string Digest(Store& s, Store::DigestScope scope = Store::DigestScope::kState) {
  auto d = s.StateDigest(scope);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : "";
}

std::vector<LogEntry> Entries(Store& s, int64_t from = 1) {
  std::vector<LogEntry> out;
  auto read = s.ReadLog(from, s.LastPosition(), [&](const LogEntry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(read.ok()) << read;
  return out;
}

// A random history of every write type, with the state digest after each entry.
class History {
 public:
  explicit History(Store& store, uint32_t seed) : store_(store), rng_(seed) {}

  // One random step: a write batch (with or without a request id, sometimes a retry or a
  // batch of unchanged items), or a settings change.
  void Step() {
    const int kind = Pick(100);
    if (kind < 6 && !request_ids_.empty()) {
      // A retry of an earlier request: answered from the log, nothing written.
      const auto& [id, batch] = *std::next(request_ids_.begin(), Pick(request_ids_.size()));
      const int64_t before = store_.LastPosition();
      auto r = store_.Commit(batch);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(r->replayed);
      EXPECT_EQ(store_.LastPosition(), before);
      return;
    }
    if (kind < 14 && !request_ids_.empty()) {
      // An earlier batch under a new request id: its items are unchanged or refused, so
      // the entry, if any, records only the request id and its answer.
      WriteSet again = std::next(request_ids_.begin(), Pick(request_ids_.size()))->second;
      again.request_id = absl::StrCat("again-", ++requests_);
      again.retractions.clear();
      for (auto& r : again.relations)
        if (r.id().empty()) r.set_id("never-assigned");
      again.relations.clear();
      auto r = store_.Commit(again);
      if (r.ok()) request_ids_.emplace(again.request_id, again);
      return;
    }
    if (kind < 18) {
      Settings s = store_.CurrentSettings();
      s.set_retain_revisions(Pick(3) == 0 ? 0 : 20 + Pick(40));
      s.set_request_id_ttl_micros(absl::ToInt64Microseconds(absl::Hours(1 + Pick(300))));
      ASSERT_TRUE(store_.UpdateSettings(s).ok());
      return;
    }
    WriteSet batch;
    if (Pick(2) == 0) batch.request_id = absl::StrCat("req-", ++requests_);
    const int items = 1 + Pick(6);
    for (int i = 0; i < items; ++i) {
      const int what = Pick(10);
      if (what < 3 || entities_.size() < 2) {
        EntityRecord e;
        e.set_id(absl::StrCat("e", Pick(12)));
        if (std::any_of(batch.entities.begin(), batch.entities.end(), [&](auto& x) { return x.id() == e.id(); }))
          continue;
        e.set_label(absl::StrCat("Entity ", e.id(), Pick(2) ? " Alpha" : " Beta"));
        e.set_kind(Pick(2) ? "person" : "state");
        if (Pick(2)) e.add_aliases(absl::StrCat("alias ", Pick(5)));
        // Maps: their bytes must not depend on the process (deterministic serialization).
        for (int a = 0; a < Pick(4); ++a) (*e.mutable_attributes())[absl::StrCat("k", a)].set_number(Pick(9));
        batch.entities.push_back(e);
        entities_.insert(e.id());
      } else if (what < 4) {
        DocumentRecord d;
        d.set_id(absl::StrCat("doc", Pick(4)));
        if (std::any_of(batch.documents.begin(), batch.documents.end(), [&](auto& x) { return x.id() == d.id(); }))
          continue;
        d.set_title(absl::StrCat("Document ", Pick(3)));
        batch.documents.push_back(d);
        documents_.insert(d.id());
      } else if (what < 9) {
        RelationRecord r;
        // An empty id half of the time: the store assigns one, and the entry records it.
        if (Pick(2)) r.set_id(absl::StrCat("rel", Pick(30)));
        if (!r.id().empty() &&
            std::any_of(batch.relations.begin(), batch.relations.end(), [&](auto& x) { return x.id() == r.id(); }))
          continue;
        auto it = std::next(entities_.begin(), Pick(entities_.size()));
        r.set_subject(*it);
        r.set_predicate(Pick(2) ? "met" : "visited");
        if (Pick(4) == 0) {
          r.mutable_value()->set_text(absl::StrCat("value ", Pick(3)));
        } else {
          r.set_object_id(*std::next(entities_.begin(), Pick(entities_.size())));
        }
        *r.mutable_valid()->mutable_start() = D(2000 + Pick(15), Pick(13));
        if (Pick(2)) *r.mutable_valid()->mutable_end() = D(2016 + Pick(3));
        r.set_status(static_cast<ClaimStatus>(1 + Pick(5)));
        for (int q = 0; q < Pick(3); ++q) (*r.mutable_qualifiers())[absl::StrCat("q", q)].set_text("x");
        if (!documents_.empty() && Pick(2)) {
          auto* src = r.add_sources();
          src->set_document_id(*std::next(documents_.begin(), Pick(documents_.size())));
          src->set_begin(Pick(50));
          src->set_end(60 + Pick(50));
        }
        batch.relations.push_back(r);
      } else if (!live_relations_.empty()) {
        const std::string id = *std::next(live_relations_.begin(), Pick(live_relations_.size()));
        if (std::any_of(batch.retractions.begin(), batch.retractions.end(), [&](auto& x) { return x.id == id; }) ||
            std::any_of(batch.relations.begin(), batch.relations.end(), [&](auto& x) { return x.id() == id; }))
          continue;
        batch.retractions.push_back({id, absl::StrCat("reason ", Pick(3))});
      }
    }
    batch.fingerprint = absl::StrCat("fp-", batch.request_id, "-", items);
    auto r = store_.Commit(batch);
    if (!r.ok()) return;  // refused (a relation naming a document of a later batch, ...): nothing written
    for (const auto& id : r->relation_ids) live_relations_.insert(id);
    for (const auto& x : batch.retractions) live_relations_.erase(x.id);
    if (!batch.request_id.empty()) request_ids_.emplace(batch.request_id, batch);
  }

  // Runs `steps` steps, recording the digest after every new entry.
  void Run(int steps) {
    for (int i = 0; i < steps; ++i) {
      ASSERT_NO_FATAL_FAILURE(Step());
      if (store_.LastPosition() > 0 && !digests_.contains(store_.LastPosition()))
        digests_[store_.LastPosition()] = Digest(store_);
    }
  }
  // Every entry written so far, read back before retention may trim them.
  void Collect() {
    auto more = Entries(store_, entries_.empty() ? 1 : entries_.back().position() + 1);
    entries_.insert(entries_.end(), more.begin(), more.end());
  }

  const std::map<int64_t, std::string>& digests() const { return digests_; }
  const std::vector<LogEntry>& entries() const { return entries_; }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  Store& store_;
  std::mt19937 rng_;
  int requests_ = 0;
  std::set<std::string> entities_, documents_, live_relations_;
  std::map<std::string, WriteSet> request_ids_;
  std::map<int64_t, std::string> digests_;
  std::vector<LogEntry> entries_;
};

// Clocks years apart, and the wrong way round for one of them.
StoreOptions ClockAt(int64_t start_micros, int64_t step_micros, const std::string& writer) {
  StoreOptions o;
  auto now = std::make_shared<int64_t>(start_micros);
  o.clock = [now, step_micros] { return *now += step_micros; };
  o.writer = writer;
  return o;
}

TEST(CommitLog, EveryCommitThatWritesOrRecordsARequestIdIsAGaplessEntry) {
  TempDir dir;
  auto store = MustOpen(dir.Sub("db"));
  WriteSet w = EntityBatch({Entity("a", "A")});
  ASSERT_TRUE(store->Commit(w).ok());
  EXPECT_EQ(store->LastPosition(), 1);
  // The same item again without a request id: nothing to write, nothing to remember.
  ASSERT_TRUE(store->Commit(w).ok());
  EXPECT_EQ(store->LastPosition(), 1);
  // With a request id: an entry that takes no revision, so that a retry after a failover
  // is still answered from the log.
  w.request_id = "only-a-request-id";
  w.fingerprint = "fp";
  auto r = store->Commit(w);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store->LastPosition(), 2);
  EXPECT_EQ(store->LatestRevision(), 1);
  auto entries = Entries(*store);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].position(), 1);
  EXPECT_EQ(entries[0].revision(), 1);
  EXPECT_EQ(entries[1].position(), 2);
  EXPECT_EQ(entries[1].revision(), 0);
  EXPECT_EQ(entries[1].request_id(), "only-a-request-id");
  EXPECT_EQ(entries[1].response().unchanged_count(), 1);
  EXPECT_EQ(entries[1].format(), kLogEntryFormat);
  EXPECT_EQ(entries[1].writer(), "annalsd");
  EXPECT_GT(entries[1].recorded_at_micros(), entries[0].recorded_at_micros());
}

TEST(CommitLog, ReplayGivesTheSameStateAtEveryPositionWhateverTheClockAndOptions) {
  TempDir dir;
  auto source = MustOpen(dir.Sub("source"), ClockAt(1'600'000'000'000'000, 1000, "writer-a"));
  History history(*source, 16);
  for (int round = 0; round < 6; ++round) {
    ASSERT_NO_FATAL_FAILURE(history.Run(60));
    history.Collect();
  }
  ASSERT_GT(history.entries().size(), 200u);
  std::set<int> kinds;
  for (const auto& e : history.entries()) {
    if (e.has_settings()) kinds.insert(0);
    if (e.revision() == 0 && !e.request_id().empty()) kinds.insert(1);
    if (e.retractions_size() > 0) kinds.insert(2);
    if (e.next_relation() > 0) kinds.insert(3);
  }
  EXPECT_EQ(kinds, (std::set<int>{0, 1, 2, 3})) << "the history must hold every kind of entry";

  // Two replicas: one with a clock decades later, one whose clock runs backwards, other
  // cache sizes, sync on, another writer name. None of it may show in the state.
  StoreOptions later = ClockAt(2'600'000'000'000'000, 7, "replica-b");
  later.block_cache_bytes = 8 << 20;
  later.sync = true;
  StoreOptions backwards = ClockAt(1'000'000'000'000'000, -5'000'000, "replica-c");
  for (auto options : {later, backwards}) {
    TempDir rdir;
    auto replica = MustOpen(rdir.Sub("db"), options);
    for (const LogEntry& e : history.entries()) {
      ASSERT_TRUE(replica->Apply(e).ok()) << "entry " << e.position();
      ASSERT_EQ(Digest(*replica), history.digests().at(e.position())) << "state differs at position " << e.position();
    }
    EXPECT_EQ(replica->LatestRevision(), source->LatestRevision());
    EXPECT_EQ(replica->CurrentSettings().SerializeAsString(), source->CurrentSettings().SerializeAsString());
    // Sampled as-of reads agree, over every revision still kept.
    for (int64_t rev = std::max<int64_t>(1, source->OldestRevision()); rev <= source->LatestRevision(); rev += 7) {
      for (const std::string id : {"rel1", "rel5", "rel17", "r3", "r9"}) {
        auto a = source->GetRelation(id, rev), b = replica->GetRelation(id, rev);
        ASSERT_TRUE(a.ok() && b.ok());
        ASSERT_EQ(a->has_value(), b->has_value()) << id << " @" << rev;
        if (a->has_value()) EXPECT_EQ(SerializeDeterministic(**a), SerializeDeterministic(**b)) << id << " @" << rev;
      }
      RelationFilter f;
      f.predicates = {"met"};
      auto pa = source->FindRelations(f, rev, "", 1000), pb = replica->FindRelations(f, rev, "", 1000);
      ASSERT_TRUE(pa.ok() && pb.ok());
      ASSERT_EQ(pa->hits.size(), pb->hits.size()) << "@" << rev;
    }
    // A replica's own writes go on from the entries' recorded time, never behind it.
    WriteSet w = EntityBatch({Entity("z", "Z")});
    auto r = replica->Commit(w);
    ASSERT_TRUE(r.ok());
    EXPECT_GT(r->recorded_at_micros, history.entries().back().recorded_at_micros());
  }
}

TEST(CommitLog, AListingCursorFromTheWriterContinuesOnAReplica) {
  TempDir dir;
  auto writer = MustOpen(dir.Sub("writer"));
  History history(*writer, 3);
  ASSERT_NO_FATAL_FAILURE(history.Run(80));
  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  for (const auto& e : Entries(*writer)) ASSERT_TRUE(replica->Apply(e).ok());
  RelationFilter f;
  f.predicates = {"visited"};
  f.statuses = {1, 2, 3, 4, 5};
  const int64_t rev = writer->LatestRevision();
  std::string cursor;
  int pages = 0;
  do {
    auto a = writer->FindRelations(f, rev, cursor, 2), b = replica->FindRelations(f, rev, cursor, 2);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->hits.size(), b->hits.size());
    for (size_t i = 0; i < a->hits.size(); ++i) EXPECT_EQ(a->hits[i].relation.id(), b->hits[i].relation.id());
    EXPECT_EQ(a->next_cursor, b->next_cursor);
    cursor = a->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_GT(pages, 2);
}

TEST(CommitLog, RecordedTimeNeverGoesBackwardsOrRepeats) {
  TempDir dir;
  StoreOptions o;
  std::vector<int64_t> clock = {5'000'000, 4'000'000, 4'000'000, 9'000'000, 1};
  size_t tick = 0;
  o.clock = [&] { return clock[std::min(tick++, clock.size() - 1)]; };
  auto store = MustOpen(dir.Sub("db"), o);
  int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    WriteSet w = EntityBatch({Entity(absl::StrCat("e", i), "E")});
    auto r = store->Commit(w);
    ASSERT_TRUE(r.ok());
    EXPECT_GT(r->recorded_at_micros, last);
    last = r->recorded_at_micros;
  }
  EXPECT_EQ(last, 9'000'001);  // 5.0, 5.000001, 5.000002 (the clock went back), 9.0, 9.000001
}

TEST(CommitLog, ARetryIsAnsweredFromTheLogOnAReplicaAsOnItsWriter) {
  TempDir dir;
  auto writer = MustOpen(dir.Sub("writer"));
  WriteSet first = EntityBatch({Entity("a", "A")}, "create-a", "fp-1");
  auto r1 = writer->Commit(first);
  ASSERT_TRUE(r1.ok());
  WriteSet unchanged = first;  // a request whose items are all unchanged: no revision
  unchanged.request_id = "touch-a";
  unchanged.fingerprint = "fp-2";
  auto r2 = writer->Commit(unchanged);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->unchanged_count, 1);

  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  for (const auto& e : Entries(*writer)) ASSERT_TRUE(replica->Apply(e).ok());
  for (Store* s : {writer.get(), replica.get()}) {
    for (const WriteSet* w : {&first, &unchanged}) {
      const int64_t position = s->LastPosition();
      auto again = s->Commit(*w);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(again->replayed);
      EXPECT_EQ(again->revision, 1);
      EXPECT_EQ(again->entities_written, w == &first ? 1 : 0);
      EXPECT_EQ(again->unchanged_count, w == &first ? 0 : 1);
      EXPECT_EQ(s->LastPosition(), position) << "a retry writes no entry";
    }
    // The same request id with another payload is refused on both.
    WriteSet other = first;
    other.fingerprint = "fp-other";
    EXPECT_EQ(s->Commit(other).status().code(), absl::StatusCode::kAlreadyExists);
  }
}

TEST(CommitLog, EntriesThatCannotBeAppliedAreRefusedWholeAndNamed) {
  TempDir dir;
  auto writer = MustOpen(dir.Sub("writer"));
  WriteSet w = EntityBatch({Entity("a", "A")});
  w.request_id = "q";
  ASSERT_TRUE(writer->Commit(w).ok());
  const LogEntry entry = Entries(*writer).at(0);

  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  const std::string empty = Digest(*replica);
  auto refused = [&](const LogEntry& e, absl::StatusCode code, const std::string& says) {
    absl::Status s = replica->Apply(e);
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_NE(s.message().find("log entry 1 cannot be applied"), std::string::npos) << s;
    EXPECT_NE(s.message().find(says), std::string::npos) << s;
    EXPECT_EQ(Digest(*replica), empty) << "nothing written";
    EXPECT_EQ(replica->LastPosition(), 0);
  };
  LogEntry newer = entry;
  newer.set_format(kLogEntryFormat + 1);
  refused(newer, absl::StatusCode::kFailedPrecondition, "entry format");
  // A field this build does not know (field 99, as a newer writer might add): never skipped.
  LogEntry unknown = entry;
  unknown.mutable_entities(0)->GetReflection()->MutableUnknownFields(unknown.mutable_entities(0))->AddVarint(99, 1);
  refused(unknown, absl::StatusCode::kFailedPrecondition, "does not know");
  LogEntry diverged = entry;
  diverged.set_revision(7);
  refused(diverged, absl::StatusCode::kDataLoss, "revision 7");
  LogEntry answer = entry;
  answer.mutable_response()->set_entities_written(5);
  refused(answer, absl::StatusCode::kDataLoss, "diverged");
  LogEntry dangling = entry;
  RelationRecord* r = dangling.add_relations();
  r->set_id("x");
  r->set_subject("nobody");
  r->set_predicate("p");
  r->set_object_id("a");
  refused(dangling, absl::StatusCode::kFailedPrecondition, "nobody");
  ASSERT_TRUE(replica->Apply(entry).ok());
  // Position 1 again, or a gap: refused, naming the position wanted.
  absl::Status again = replica->Apply(entry);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("the next entry is 2"), std::string::npos) << again;
}

TEST(CommitLog, SettingsAreRecordedInTheLogNotTakenFromEachProcess) {
  TempDir dir;
  {
    StoreOptions o;
    o.retain_revisions = 50;
    o.request_id_ttl = absl::Hours(2);
    auto store = MustOpen(dir.Sub("db"), o);
    EXPECT_EQ(store->CurrentSettings().retain_revisions(), 50);
    auto entries = Entries(*store);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_TRUE(entries[0].has_settings());
    EXPECT_EQ(entries[0].settings().request_id_ttl_micros(), absl::ToInt64Microseconds(absl::Hours(2)));
  }
  {
    // Reopened without proposals: the database keeps its settings, no new entry.
    auto store = MustOpen(dir.Sub("db"));
    EXPECT_EQ(store->CurrentSettings().retain_revisions(), 50);
    EXPECT_EQ(store->LastPosition(), 1);
    Settings bad;
    bad.set_retain_revisions(-1);
    bad.set_request_id_ttl_micros(1);
    EXPECT_EQ(store->UpdateSettings(bad).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->LastPosition(), 1);
  }
  {
    // The same proposal again: nothing new.
    StoreOptions o;
    o.retain_revisions = 50;
    auto store = MustOpen(dir.Sub("db"), o);
    EXPECT_EQ(store->LastPosition(), 1);
  }
}

TEST(CommitLog, RetentionTrimsTheLogWithTheChangeLogAndReplayStillAgrees) {
  TempDir dir;
  StoreOptions o;
  o.retain_revisions = 10;
  auto store = MustOpen(dir.Sub("db"), o);
  std::vector<LogEntry> all = Entries(*store);
  std::map<int64_t, std::string> digests;
  for (int i = 0; i < 1030; ++i) {
    WriteSet w = EntityBatch({Entity(absl::StrCat("e", i % 40), absl::StrCat("Label ", i))});
    ASSERT_TRUE(store->Commit(w).ok());
    auto more = Entries(*store, store->LastPosition());
    all.insert(all.end(), more.begin(), more.end());
    digests[store->LastPosition()] = Digest(*store);
  }
  EXPECT_GT(store->FirstLogPosition(), 1000) << "trimmed with the change records";
  EXPECT_EQ(store->ReadLog(1, 5, [](const LogEntry&) { return true; }).code(), absl::StatusCode::kOutOfRange);
  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  for (const auto& e : all) ASSERT_TRUE(replica->Apply(e).ok()) << e.position();
  EXPECT_EQ(Digest(*replica), digests.rbegin()->second);
  EXPECT_EQ(replica->FirstLogPosition(), store->FirstLogPosition());
}

TEST(CommitLog, ABulkLoadIsOneEntryThatReplaysToTheSameState) {
  TempDir dir;
  auto store = MustOpen(dir.Sub("db"));
  WriteSet w = EntityBatch({Entity("seed", "Seed")});
  ASSERT_TRUE(store->Commit(w).ok());
  {
    BulkLoadOptions small;
    small.spill_bytes = 64 << 10;  // several spills, so the entry comes in several parts
    BulkLoader loader(*store, small);
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(loader.AddEntity(Entity(absl::StrCat("b", i), absl::StrCat("Bulk ", i))).ok());
      RelationRecord r;
      if (i % 2) r.set_id(absl::StrCat("bulk-rel-", i));
      r.set_subject(absl::StrCat("b", i));
      r.set_predicate("near");
      r.set_object_id(i % 3 ? "seed" : absl::StrCat("b", i));
      *r.mutable_valid()->mutable_start() = D(2010, 1 + i % 12);
      ASSERT_TRUE(loader.AddRelation(r).ok());
    }
    auto stats = loader.Finish();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_GT(stats->sst_files, static_cast<int>(Cf::kCount)) << "more than one spill";
  }
  EXPECT_EQ(store->LastPosition(), 2);
  auto entries = Entries(*store);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].relations_size(), 300);
  EXPECT_EQ(entries[1].entities_size(), 300);
  EXPECT_EQ(entries[1].revision(), 2);
  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  for (const auto& e : entries) ASSERT_TRUE(replica->Apply(e).ok()) << e.position();
  EXPECT_EQ(Digest(*replica), Digest(*store));
  // Writes go on after it, on both, the same way.
  WriteSet w2 = EntityBatch({Entity("after", "After")});
  RelationRecord assigned;
  assigned.set_subject("after");
  assigned.set_predicate("near");
  assigned.set_object_id("seed");
  w2.relations = {assigned};
  ASSERT_TRUE(store->Commit(w2).ok());
  ASSERT_TRUE(replica->Apply(Entries(*store, 3).at(0)).ok());
  EXPECT_EQ(Digest(*replica), Digest(*store));
}

// tests/data/format1-db.tar.gz: the seed data, a retraction, an ICEWS import through
// Ingest and a re-import (request-id-only commits), written by annalsd before the log
// (tests/data/README.md).
// A database fixture, tests/data/NAME.tar.gz (tests/data/README.md), unpacked into a
// temporary directory.
class FixtureDatabaseTest : public ::testing::Test {
 protected:
  explicit FixtureDatabaseTest(std::string name) : name_(std::move(name)) {}
  void SetUp() override {
    const std::string cmd =
        absl::StrCat("tar -xzf " ANNALS_SOURCE_DIR "/tests/data/", name_, ".tar.gz -C ", dir_.path());
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string Path() const { return dir_.Sub(name_); }
  TempDir dir_;

 private:
  std::string name_;
};

class Format1Test : public FixtureDatabaseTest {
 protected:
  Format1Test() : FixtureDatabaseTest("format1-db") {}
};

TEST_F(Format1Test, OpeningUpgradesAndTheRebuiltLogReplaysToTheSameData) {
  auto store = MustOpen(Path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LatestRevision(), 15);
  EXPECT_EQ(store->LastPosition(), 15);
  EXPECT_EQ(store->FirstLogPosition(), 1);
  // What format 1 answered, it still answers.
  auto probe = store->GetRelation("upgrade-probe-visit", 15);
  ASSERT_TRUE(probe.ok() && probe->has_value());
  EXPECT_TRUE((*probe)->retracted());
  auto planned = store->GetRelation("rel.putin-visit-pakistan-2012", 2);
  ASSERT_TRUE(planned.ok() && planned->has_value());
  EXPECT_EQ((*planned)->status(), CLAIM_PLANNED);
  auto entries = Entries(*store);
  ASSERT_EQ(entries.size(), 15u);
  EXPECT_EQ(entries[7].retractions_size(), 1);
  EXPECT_EQ(entries[7].retractions(0).reason(), "test of the format upgrade");
  EXPECT_EQ(entries[0].writer(), "format-upgrade");
  auto change = store->GetChange(8);
  ASSERT_TRUE(change.ok() && change->has_value());
  EXPECT_EQ((*change)->position(), 8);

  TempDir rdir;
  auto replica = MustOpen(rdir.Sub("db"));
  for (const auto& e : entries) ASSERT_TRUE(replica->Apply(e).ok()) << e.position();
  EXPECT_EQ(*replica->FamilyDigests(Store::DigestScope::kData), *store->FamilyDigests(Store::DigestScope::kData));

  // New writes go on from position 16, and a reopen finds format 2 (no second upgrade).
  WriteSet w = EntityBatch({Entity("after-upgrade", "After")});
  ASSERT_TRUE(store->Commit(w).ok());
  EXPECT_EQ(store->LastPosition(), 16);
  store.reset();
  auto again = MustOpen(Path());
  EXPECT_EQ(again->LastPosition(), 16);
  EXPECT_EQ(Entries(*again).size(), 16u);
}

TEST_F(Format1Test, AFormatNewerThanThisBuildIsRefusedWithAMessageThatSaysSo) {
  {
    // What a newer build would leave: meta "format" past this build's.
    RocksSetup setup = RocksSetupFor({});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(setup.db, Path(), setup.families, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[static_cast<int>(Cf::kMeta)], "format",
                         U64Value(kFormatVersion + 1)).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
  }
  auto opened = Store::Open(Path(), {});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("newer than this build"), std::string::npos) << opened.status();
}

// tests/data/format2-db.tar.gz: the seed data, an entity whose relations change, a
// retraction and an ICEWS import, written by annalsd of format 2, before covering and
// tiered index entries (tests/data/README.md). Opening it rebuilds every relation index
// entry (store_upgrade.cc); verify then checks each entry against its record both ways,
// and the reads below are known from how the fixture was made.
class Format2Test : public FixtureDatabaseTest {
 protected:
  Format2Test() : FixtureDatabaseTest("format2-db") {}
  // The ids of upgrade-probe's relations visible at `rev` (any status), in `view`.
  std::set<std::string> ProbeNeighbors(Store& store, int64_t rev, View view) {
    RelationFilter q;
    q.entity_id = "upgrade-probe";
    q.statuses = {CLAIM_ASSERTED, CLAIM_PLANNED};
    auto page = store.FindRelations(q, rev, "", 100, view);
    EXPECT_TRUE(page.ok()) << page.status();
    std::set<std::string> ids;
    if (page.ok())
      for (const auto& h : page->hits) ids.insert(h.relation.id());
    return ids;
  }
};

TEST_F(Format2Test, OpeningRebuildsTheIndexesAndTheyAnswerAsBefore) {
  {
    auto store = MustOpen(Path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->LatestRevision(), 18);
    for (View view : {View::kBasic, View::kFull}) {
      EXPECT_EQ(ProbeNeighbors(*store, 6, view), std::set<std::string>{});
      EXPECT_EQ(ProbeNeighbors(*store, 7, view), std::set<std::string>{"upgrade-probe-visit"});
      EXPECT_EQ(ProbeNeighbors(*store, 10, view),
                (std::set<std::string>{"upgrade-probe-visit", "upgrade-probe-member", "upgrade-probe-budget"}));
      EXPECT_EQ(ProbeNeighbors(*store, 18, view),
                (std::set<std::string>{"upgrade-probe-visit", "upgrade-probe-budget"}));  // member retracted at 11
    }
    // The BASIC view comes from the rebuilt entries alone: the valid time as it was written
    // ("2012-03..?": a month, an unknown end), the literal value, the status of the version.
    RelationFilter f;
    f.entity_id = "upgrade-probe";
    f.incoming = false;
    f.predicates = {"budget"};
    auto budget = store->FindRelations(f, 18, "", 10, View::kBasic);
    ASSERT_TRUE(budget.ok()) << budget.status();
    ASSERT_EQ(budget->hits.size(), 1u);
    const RelationRecord& b = budget->hits[0].relation;
    EXPECT_EQ(b.valid().start().year(), 2012);
    EXPECT_EQ(b.valid().start().month(), 3);
    EXPECT_EQ(b.valid().start().day(), 0);
    EXPECT_TRUE(b.valid().end_unknown());
    EXPECT_EQ(b.value().quantity().unit(), "USD");
    EXPECT_EQ(b.value().quantity().amount(), 5e6);
    EXPECT_EQ(b.sources_size(), 0);
    f.predicates = {"visited"};
    f.statuses = {CLAIM_PLANNED};
    auto visit = store->FindRelations(f, 18, "", 10, View::kBasic);
    ASSERT_TRUE(visit.ok());
    ASSERT_EQ(visit->hits.size(), 1u);
    EXPECT_EQ(visit->hits[0].relation.revision(), 8);
    EXPECT_EQ(visit->hits[0].relation.valid().end().month(), 5);
    // A window scan over the rebuilt tiers agrees with a brute-force filter of the whole
    // listing (no window: every entry read). The ICEWS rows of the fixture are days of 2014.
    const DayWindow may{DayNumber(2014, 5, 1), DayNumber(2014, 5, 31), Certainty::kPossibly};
    auto everything = store->FindRelations({}, 18, "", 1000, View::kBasic);
    ASSERT_TRUE(everything.ok());
    ASSERT_LT(everything->hits.size(), 1000u);
    std::set<std::string> want, got;
    for (const auto& h : everything->hits)
      if (Matches(*BoundsOf(h.relation.valid()), may)) want.insert(h.relation.id());
    RelationFilter in_may;
    in_may.window = may;
    auto windowed = store->FindRelations(in_may, 18, "", 1000, View::kBasic);
    ASSERT_TRUE(windowed.ok());
    for (const auto& h : windowed->hits) got.insert(h.relation.id());
    EXPECT_EQ(got, want);
    EXPECT_GT(want.size(), 10u);
    // Writes go on in the new layout.
    WriteSet w;
    RelationRecord later;
    later.set_subject("upgrade-probe");
    later.set_predicate("visited");
    later.set_object_id("pakistan");
    *later.mutable_valid()->mutable_start() = D(2014, 2);
    w.relations = {later};
    ASSERT_TRUE(store->Commit(w).ok());
    EXPECT_EQ(ProbeNeighbors(*store, 19, View::kBasic).size(), 3u);
  }
  auto report = VerifyDatabase(Path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
  EXPECT_GT(report->index_entries, 1000);
  // A second open finds format 3: nothing to upgrade, the same answers.
  auto again = MustOpen(Path());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(ProbeNeighbors(*again, 18, View::kBasic),
            (std::set<std::string>{"upgrade-probe-visit", "upgrade-probe-budget"}));
}

// A rebuild that stopped part-way (a crash after the old entries were dropped) leaves meta
// "index_rebuild" with format 3: the next open rebuilds again, from nothing.
TEST_F(Format2Test, ARebuildThatStoppedPartWayIsStartedAgainAtTheNextOpen) {
  { ASSERT_NE(MustOpen(Path()), nullptr); }  // the upgrade, whole
  {
    // What a crash after the range deletions would leave: the marker, and entries missing.
    RocksSetup setup = RocksSetupFor({});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(setup.db, Path(), setup.families, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[static_cast<int>(Cf::kMeta)], "index_rebuild", U64Value(1)).ok());
    for (Cf family : {Cf::kOut, Cf::kByTime})
      ASSERT_TRUE(raw->DeleteRange(rocksdb::WriteOptions(), handles[static_cast<int>(family)], "", key::PrefixEnd("")).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
  }
  {
    auto store = MustOpen(Path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(ProbeNeighbors(*store, 18, View::kBasic),
              (std::set<std::string>{"upgrade-probe-visit", "upgrade-probe-budget"}));
  }
  auto report = VerifyDatabase(Path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
}

}  // namespace
}  // namespace annals::storage
