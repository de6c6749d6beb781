// DiffService through a real server on 127.0.0.1:0: revision diffs, watches (resume,
// slow consumers, shutdown), valid-time diffs and history.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "annals/v1/diff.grpc.pb.h"
#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "service/server.h"
#include "tests/support/dates.h"
#include "tests/support/temp_dir.h"

namespace annals {
namespace {

using annals::testing::TempDir;

v1::Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<v1::Date>(y, m, d); }

v1::Relation Rel(const std::string& id, const std::string& s, const std::string& p, const std::string& o) {
  v1::Relation r;
  r.set_id(id);
  r.set_subject(s);
  r.set_predicate(p);
  r.set_object_id(o);
  r.set_status(v1::ASSERTED);
  return r;
}

class DiffTest : public ::testing::Test {
 protected:
  void Start(service::ServerConfig config = {}) {
    config.listen = "127.0.0.1:0";
    config.db_path = dir_.Sub("db");
    config.drain_timeout = absl::Seconds(5);
    std::ostringstream log;
    auto server = service::AnnalsServer::Start(config, log);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
    ingest_ = v1::IngestService::NewStub(channel_);
    query_ = v1::QueryService::NewStub(channel_);
    diff_ = v1::DiffService::NewStub(channel_);
  }
  void SetUp() override { Start(); }
  void TearDown() override { server_.reset(); }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }
  int64_t Latest() { return server_->store()->LatestRevision(); }
  void Entities(std::initializer_list<const char*> ids) {
    v1::UpsertEntitiesRequest req;
    for (const char* id : ids) {
      auto* e = req.add_entities();
      e->set_id(id);
      e->set_label(std::string("Label of ") + id);
    }
    v1::UpsertEntitiesResponse resp;
    ASSERT_TRUE(ingest_->UpsertEntities(Ctx().get(), req, &resp).ok());
  }
  void Put(const v1::Relation& r) {
    v1::PutRelationsRequest req;
    *req.add_relations() = r;
    v1::PutRelationsResponse resp;
    grpc::Status s = ingest_->PutRelations(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::vector<v1::Change> DiffRevisions(int64_t from, int64_t to, const v1::Scope& scope = {}) {
    v1::DiffRevisionsRequest req;
    req.set_from_revision(from);
    req.set_to_revision(to);
    *req.mutable_scope() = scope;
    auto ctx = Ctx();
    auto reader = diff_->DiffRevisions(ctx.get(), req);
    std::vector<v1::Change> out;
    v1::Change c;
    while (reader->Read(&c)) out.push_back(c);
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  // Ingests `count` relations between two entities in batches of `batch`; returns their ids in order.
  std::vector<std::string> IngestMany(int count, int batch, const std::string& prefix) {
    grpc::ClientContext ctx;
    auto stream = ingest_->Ingest(&ctx);
    std::vector<std::string> ids;
    for (int start = 0; start < count; start += batch) {
      v1::IngestRequest req;
      for (int i = start; i < std::min(count, start + batch); ++i) {
        const std::string id = prefix + std::to_string(i);
        *req.add_relations() = Rel(id, "a", "met", "b");
        ids.push_back(id);
      }
      v1::IngestResponse ack;
      EXPECT_TRUE(stream->Write(req) && stream->Read(&ack));
      EXPECT_EQ(ack.errors_size(), 0);
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<service::AnnalsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::QueryService::Stub> query_;
  std::unique_ptr<v1::DiffService::Stub> diff_;
};

TEST_F(DiffTest, AWatcherReceivesEveryChangeOfAConcurrentIngestInCommitOrder) {
  Entities({"a", "b"});
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  req.set_from_revision(Latest());
  auto reader = diff_->Watch(&ctx, req);
  std::vector<std::string> written;
  std::thread writer([&] { written = IngestMany(10'000, 500, "w"); });
  std::vector<v1::Change> seen;
  v1::Change c;
  while (seen.size() < 10'000 && reader->Read(&c)) seen.push_back(c);
  writer.join();
  ctx.TryCancel();
  reader->Finish();
  ASSERT_EQ(seen.size(), 10'000u);
  ASSERT_EQ(written.size(), 10'000u);
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].id(), written[i]) << "position " << i;
    ASSERT_EQ(seen[i].kind(), v1::RELATION_ADDED);
    if (i > 0) {
      const bool ordered = seen[i].revision() > seen[i - 1].revision() ||
                           (seen[i].revision() == seen[i - 1].revision() && seen[i].index() == seen[i - 1].index() + 1);
      ASSERT_TRUE(ordered) << "position " << i;
    }
  }
  EXPECT_EQ(seen.back().revision(), Latest());
}

TEST_F(DiffTest, AWatcherThatReconnectsHalfWayMissesNothingAndGetsNothingTwice) {
  Entities({"a", "b"});
  const int64_t start = Latest();
  const std::vector<std::string> written = IngestMany(3000, 700, "r");  // revisions end mid-batch
  std::vector<v1::Change> first, second;
  {
    grpc::ClientContext ctx;
    v1::WatchRequest req;
    req.set_from_revision(start);
    auto reader = diff_->Watch(&ctx, req);
    v1::Change c;
    while (first.size() < 1234 && reader->Read(&c)) first.push_back(c);
    ctx.TryCancel();
    reader->Finish();
  }
  ASSERT_EQ(first.size(), 1234u);
  {
    grpc::ClientContext ctx;
    v1::WatchRequest req;
    req.set_resume_token(first.back().resume_token());
    auto reader = diff_->Watch(&ctx, req);
    v1::Change c;
    while (first.size() + second.size() < written.size() && reader->Read(&c)) second.push_back(c);
    ctx.TryCancel();
    reader->Finish();
  }
  std::vector<std::string> all;
  for (const auto* part : {&first, &second})
    for (const auto& c : *part) all.push_back(c.id());
  EXPECT_EQ(all, written);
  // Both a token and a revision is refused; a token that is not ours too.
  grpc::ClientContext ctx;
  v1::WatchRequest bad;
  bad.set_resume_token("garbage");
  auto reader = diff_->Watch(&ctx, bad);
  v1::Change c;
  EXPECT_FALSE(reader->Read(&c));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DiffTest, DiffRevisionsReplaysExactlyTheWritesOfTheRange) {
  Entities({"pakistan", "russia", "putin"});  // r1
  v1::Relation visit = Rel("putin-visit", "putin", "visited", "pakistan");
  visit.set_status(v1::PLANNED);
  *visit.mutable_valid()->mutable_start() = D(2012, 9);
  *visit.mutable_valid()->mutable_end() = D(2012, 9);
  Put(visit);  // r2
  Put(Rel("sco", "russia", "supports_membership", "pakistan"));  // r3
  visit.set_status(v1::POSTPONED);
  Put(visit);  // r4
  v1::RetractRelationRequest retract;
  retract.set_id("sco");
  v1::Relation retracted;
  ASSERT_TRUE(ingest_->RetractRelation(Ctx().get(), retract, &retracted).ok());  // r5
  Entities({"pakistan"});  // unchanged: no revision
  ASSERT_EQ(Latest(), 5);

  const auto all = DiffRevisions(0, 0);
  ASSERT_EQ(all.size(), 7u);  // 3 entities, 2 relations added, 1 changed, 1 retracted
  std::vector<std::pair<int64_t, v1::ChangeKind>> kinds;
  for (const auto& c : all) kinds.emplace_back(c.revision(), c.kind());
  EXPECT_EQ(kinds, (std::vector<std::pair<int64_t, v1::ChangeKind>>{
                       {1, v1::ENTITY_CREATED}, {1, v1::ENTITY_CREATED}, {1, v1::ENTITY_CREATED},
                       {2, v1::RELATION_ADDED}, {3, v1::RELATION_ADDED}, {4, v1::RELATION_CHANGED},
                       {5, v1::RELATION_RETRACTED}}));
  EXPECT_EQ(all[5].relation_before().status(), v1::PLANNED);
  EXPECT_EQ(all[5].relation_after().status(), v1::POSTPONED);

  // Replaying the changes reproduces the relations as the service now has them.
  std::map<std::string, v1::Relation> replayed;
  for (const auto& c : all)
    if (c.has_relation_after()) replayed[c.id()] = c.relation_after();
  for (const auto& [id, r] : replayed) {
    v1::GetRelationRequest get;
    get.set_id(id);
    get.set_show_retracted(true);
    v1::Relation now;
    ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &now).ok());
    EXPECT_EQ(now.SerializeAsString(), r.SerializeAsString()) << id;
  }

  // (from, to] exactly; scopes.
  const auto middle = DiffRevisions(2, 4);
  ASSERT_EQ(middle.size(), 2u);
  EXPECT_EQ(middle[0].revision(), 3);
  EXPECT_EQ(middle[1].revision(), 4);
  v1::Scope putin;
  putin.set_entity_id("putin");
  EXPECT_EQ(DiffRevisions(0, 0, putin).size(), 3u);  // the entity itself and two versions of its visit
  v1::Scope pair;
  pair.add_between("pakistan");
  pair.add_between("russia");
  EXPECT_EQ(DiffRevisions(0, 0, pair).size(), 4u);  // both entities, sco added, sco retracted
  v1::Scope predicate;
  predicate.add_predicates("visited");
  EXPECT_EQ(DiffRevisions(0, 0, predicate).size(), 2u);

  v1::DiffRevisionsRequest bad;
  bad.set_from_revision(4);
  bad.set_to_revision(9);
  auto ctx = Ctx();
  auto reader = diff_->DiffRevisions(ctx.get(), bad);
  v1::Change c;
  EXPECT_FALSE(reader->Read(&c));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(DiffTest, DiffValidTimesComparesTwoDatesWithThePrecisionRule) {
  Entities({"pakistan", "russia"});
  v1::Relation cooperation = Rel("cooperation", "pakistan", "cooperates_with", "russia");  // 2005 .. 2012-06
  *cooperation.mutable_valid()->mutable_start() = D(2005);
  *cooperation.mutable_valid()->mutable_end() = D(2012, 6);
  v1::Relation support = Rel("support", "russia", "supports_membership", "pakistan");  // since 2011
  *support.mutable_valid()->mutable_start() = D(2011);
  v1::Relation ties = Rel("ties", "russia", "has_ties_with", "pakistan");  // since 2003
  *ties.mutable_valid()->mutable_start() = D(2003);
  v1::Relation visit = Rel("visit", "pakistan", "visited", "russia");  // May 2011 only
  *visit.mutable_valid()->mutable_start() = D(2011, 5);
  *visit.mutable_valid()->mutable_end() = D(2011, 5);
  v1::Relation reported = Rel("reported", "russia", "interested_in", "pakistan");  // by 2012, start unknown
  *reported.mutable_valid()->mutable_start_latest() = D(2012);
  for (const auto& r : {cooperation, support, ties, visit, reported}) Put(r);

  auto diff = [&](v1::WindowMode mode) {
    v1::DiffValidTimesRequest req;
    *req.mutable_at_a() = D(2010);
    *req.mutable_at_b() = D(2013);
    req.mutable_scope()->add_between("pakistan");
    req.mutable_scope()->add_between("russia");
    req.set_mode(mode);
    req.set_include_continued(true);
    v1::DiffValidTimesResponse resp;
    EXPECT_TRUE(diff_->DiffValidTimes(Ctx().get(), req, &resp).ok());
    auto ids = [](const auto& rs) {
      std::set<std::string> out;
      for (const auto& r : rs) out.insert(r.id());
      return out;
    };
    return std::tuple{ids(resp.began()), ids(resp.ended()), ids(resp.continued())};
  };
  using S = std::set<std::string>;
  // Possibly: "reported" may already have held in 2010 (its start is unbounded), so it continued.
  EXPECT_EQ(diff(v1::POSSIBLY), std::tuple(S{"support"}, S{"cooperation"}, S{"ties", "reported"}));
  // Certainly: it is only certain from 2012 on, so it began.
  EXPECT_EQ(diff(v1::CERTAINLY), std::tuple(S{"support", "reported"}, S{"cooperation"}, S{"ties"}));

  v1::DiffValidTimesRequest bad;
  *bad.mutable_at_a() = D(2010, 13);
  *bad.mutable_at_b() = D(2013);
  v1::DiffValidTimesResponse resp;
  grpc::Status s = diff_->DiffValidTimes(Ctx().get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("at_a: ", 0), 0u) << s.error_message();
  bad.clear_at_a();
  EXPECT_EQ(diff_->DiffValidTimes(Ctx().get(), bad, &resp).error_message(), "at_a: is required");
  *bad.mutable_at_a() = D(2010);
  bad.mutable_scope()->add_between("only-one");
  EXPECT_EQ(diff_->DiffValidTimes(Ctx().get(), bad, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DiffTest, GetHistoryListsEveryVersionOldestFirst) {
  Entities({"putin", "pakistan"});
  v1::Relation visit = Rel("putin-visit", "putin", "visited", "pakistan");
  for (v1::Status s : {v1::PLANNED, v1::POSTPONED}) {
    visit.set_status(s);
    Put(visit);
  }
  v1::RetractRelationRequest retract;
  retract.set_id("putin-visit");
  v1::Relation ignored;
  ASSERT_TRUE(ingest_->RetractRelation(Ctx().get(), retract, &ignored).ok());
  visit.set_status(v1::CANCELLED);
  Put(visit);  // written again after the retraction: added anew

  v1::GetHistoryRequest req;
  req.set_relation_id("putin-visit");
  req.set_page_size(2);
  std::vector<std::pair<v1::ChangeKind, v1::Status>> got;
  std::vector<int64_t> revisions;
  for (int guard = 0; guard < 10; ++guard) {
    v1::GetHistoryResponse page;
    ASSERT_TRUE(diff_->GetHistory(Ctx().get(), req, &page).ok());
    for (const auto& v : page.versions()) {
      got.emplace_back(v.kind(), v.relation().status());
      revisions.push_back(v.revision());
    }
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(got, (std::vector<std::pair<v1::ChangeKind, v1::Status>>{{v1::RELATION_ADDED, v1::PLANNED},
                                                                      {v1::RELATION_CHANGED, v1::POSTPONED},
                                                                      {v1::RELATION_RETRACTED, v1::POSTPONED},
                                                                      {v1::RELATION_ADDED, v1::CANCELLED}}));
  EXPECT_EQ(revisions, (std::vector<int64_t>{2, 3, 4, 5}));
  v1::GetHistoryRequest entity;
  entity.set_entity_id("putin");
  v1::GetHistoryResponse page;
  ASSERT_TRUE(diff_->GetHistory(Ctx().get(), entity, &page).ok());
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).kind(), v1::ENTITY_CREATED);
  entity.set_entity_id("nobody");
  EXPECT_EQ(diff_->GetHistory(Ctx().get(), entity, &page).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(diff_->GetHistory(Ctx().get(), v1::GetHistoryRequest(), &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DiffTest, AMergeIsAChangeOfBothEntitiesScopesAndHistoryAndRelationsFollowTheSurvivor) {
  Entities({"medvedev", "dmitry-medvedev", "pakistan", "sco"});
  Put(Rel("consult", "dmitry-medvedev", "consulted", "pakistan"));
  Put(Rel("member", "pakistan", "member_of", "sco"));
  const int64_t before = Latest();
  v1::MergeEntitiesRequest merge;
  merge.set_survivor("medvedev");
  merge.add_ids("dmitry-medvedev");
  v1::MergeResponse merged;
  ASSERT_TRUE(ingest_->MergeEntities(Ctx().get(), merge, &merged).ok());
  EXPECT_EQ(merged.revision(), before + 1);
  EXPECT_EQ(std::vector<std::string>(merged.entity().merged_ids().begin(), merged.entity().merged_ids().end()),
            std::vector<std::string>{"dmitry-medvedev"});
  // One change, seen in the scope of either entity and in the whole graph's.
  v1::Scope survivor;
  survivor.set_entity_id("medvedev");
  v1::Scope other;
  other.set_entity_id("sco");
  for (const v1::Scope& scope : {v1::Scope(), survivor}) {
    const auto changes = DiffRevisions(before, merged.revision(), scope);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].kind(), v1::ENTITY_MERGED);
    EXPECT_EQ(changes[0].id(), "dmitry-medvedev");
    EXPECT_EQ(changes[0].entity_before().merged_into(), "");
    EXPECT_EQ(changes[0].entity_after().merged_into(), "medvedev");
  }
  EXPECT_TRUE(DiffRevisions(before, merged.revision(), other).empty());
  // A relation written later naming the merged id is a change in the survivor's scope.
  Put(Rel("consult-2", "pakistan", "consulted", "dmitry-medvedev"));
  const auto later = DiffRevisions(merged.revision(), Latest(), survivor);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].relation_after().object_id(), "medvedev");
  EXPECT_EQ(later[0].relation_after().written_object(), "dmitry-medvedev");
  // Unmerged: a change again; the history says which version did what.
  v1::UnmergeEntityRequest unmerge;
  unmerge.set_id("dmitry-medvedev");
  ASSERT_TRUE(ingest_->UnmergeEntity(Ctx().get(), unmerge, &merged).ok());
  EXPECT_EQ(merged.entity().id(), "dmitry-medvedev");
  v1::GetHistoryRequest history;
  history.set_entity_id("dmitry-medvedev");
  v1::GetHistoryResponse page;
  ASSERT_TRUE(diff_->GetHistory(Ctx().get(), history, &page).ok());
  std::vector<v1::ChangeKind> kinds;
  for (const auto& v : page.versions()) kinds.push_back(v.kind());
  EXPECT_EQ(kinds, (std::vector<v1::ChangeKind>{v1::ENTITY_CREATED, v1::ENTITY_MERGED, v1::ENTITY_UNMERGED}));
  // The same history in pages of one: each kind still known from the version before it.
  history.set_page_size(1);
  kinds.clear();
  do {
    page.Clear();
    ASSERT_TRUE(diff_->GetHistory(Ctx().get(), history, &page).ok());
    for (const auto& v : page.versions()) kinds.push_back(v.kind());
    history.set_page_token(page.next_page_token());
  } while (!page.next_page_token().empty());
  EXPECT_EQ(kinds, (std::vector<v1::ChangeKind>{v1::ENTITY_CREATED, v1::ENTITY_MERGED, v1::ENTITY_UNMERGED}));
}

TEST_F(DiffTest, ADeletionIsAChangeInDiffsAndHistoryAndReadsBeforeItAreUnchanged) {
  Entities({"putin", "pakistan", "sco"});
  Put(Rel("visit", "putin", "visited", "pakistan"));
  Put(Rel("member", "pakistan", "member_of", "sco"));
  const int64_t before = Latest();
  v1::DeleteEntityRequest del;
  del.set_id("putin");
  v1::DeleteResponse deleted;
  grpc::Status refused = ingest_->DeleteEntity(Ctx().get(), del, &deleted);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message().rfind("id: entity 'putin' is named by 1 current relation", 0), 0u)
      << refused.error_message();
  del.set_cascade(true);
  ASSERT_TRUE(ingest_->DeleteEntity(Ctx().get(), del, &deleted).ok());
  EXPECT_EQ(deleted.revision(), before + 1);
  EXPECT_EQ(std::vector<std::string>(deleted.retracted_relation_ids().begin(), deleted.retracted_relation_ids().end()),
            std::vector<std::string>{"visit"});
  EXPECT_TRUE(deleted.changed_relation_ids().empty());

  // The revision's changes: the cascade's retraction, then the tombstone.
  const auto changes = DiffRevisions(before, deleted.revision());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].kind(), v1::RELATION_RETRACTED);
  EXPECT_EQ(changes[0].id(), "visit");
  EXPECT_EQ(changes[1].kind(), v1::ENTITY_DELETED);
  EXPECT_EQ(changes[1].entity_before().label(), "Label of putin");
  EXPECT_TRUE(changes[1].entity_after().deleted());

  // Reads: gone now, there as of before.
  v1::GetEntityRequest get;
  get.set_id("putin");
  v1::Entity entity;
  EXPECT_EQ(query_->GetEntity(Ctx().get(), get, &entity).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_as_of_revision(before);
  ASSERT_TRUE(query_->GetEntity(Ctx().get(), get, &entity).ok());
  EXPECT_EQ(entity.label(), "Label of putin");

  // Written again: a new life, created anew in the history.
  Entities({"putin"});
  v1::GetHistoryRequest history;
  history.set_entity_id("putin");
  v1::GetHistoryResponse page;
  ASSERT_TRUE(diff_->GetHistory(Ctx().get(), history, &page).ok());
  std::vector<v1::ChangeKind> kinds;
  for (const auto& v : page.versions()) kinds.push_back(v.kind());
  EXPECT_EQ(kinds, (std::vector<v1::ChangeKind>{v1::ENTITY_CREATED, v1::ENTITY_DELETED, v1::ENTITY_CREATED}));
  // The same in pages of 2: the second page starts right after the tombstone.
  history.set_page_size(2);
  ASSERT_TRUE(diff_->GetHistory(Ctx().get(), history, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  history.set_page_token(page.next_page_token());
  ASSERT_TRUE(diff_->GetHistory(Ctx().get(), history, &page).ok());
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).kind(), v1::ENTITY_CREATED) << "a version after a tombstone on the next page";
  EXPECT_EQ(DiffRevisions(deleted.revision(), Latest())[0].kind(), v1::ENTITY_CREATED);

  // A document: cascade takes it out of sources.
  v1::PutDocumentsRequest docs;
  docs.add_documents()->set_id("d1");
  docs.add_documents()->set_id("d2");
  v1::PutDocumentsResponse docs_written;
  ASSERT_TRUE(ingest_->PutDocuments(Ctx().get(), docs, &docs_written).ok());
  v1::Relation cited = Rel("cited", "pakistan", "member_of", "sco");
  for (const char* d : {"d1", "d2"}) {
    v1::Source* source = cited.add_sources();
    source->set_document_id(d);
    source->set_end(10);
  }
  Put(cited);
  v1::DeleteDocumentRequest del_doc;
  del_doc.set_id("d1");
  del_doc.set_cascade(true);
  ASSERT_TRUE(ingest_->DeleteDocument(Ctx().get(), del_doc, &deleted).ok());
  EXPECT_EQ(std::vector<std::string>(deleted.changed_relation_ids().begin(), deleted.changed_relation_ids().end()),
            std::vector<std::string>{"cited"});
  const auto doc_changes = DiffRevisions(deleted.revision() - 1, deleted.revision());
  ASSERT_EQ(doc_changes.size(), 2u);
  EXPECT_EQ(doc_changes[0].kind(), v1::RELATION_CHANGED);
  EXPECT_EQ(doc_changes[0].relation_after().sources_size(), 1);
  EXPECT_EQ(doc_changes[1].kind(), v1::DOCUMENT_DELETED);
}

TEST_F(DiffTest, ReadsOlderThanTheRetentionHorizonAreOutOfRangeAndNameTheOldestRevision) {
  server_.reset();
  service::ServerConfig config;
  config.store.retain_revisions = 3;
  Start(config);
  Entities({"a", "b"});
  for (int i = 0; i < 9; ++i) Put(Rel("r" + std::to_string(i), "a", "met", "b"));
  ASSERT_EQ(Latest(), 10);
  v1::GetEntityRequest get;
  get.set_id("a");
  get.set_as_of_revision(5);
  v1::Entity e;
  grpc::Status s = query_->GetEntity(Ctx().get(), get, &e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.error_message().find("oldest revision kept, 7"), std::string::npos) << s.error_message();
  get.set_as_of_revision(7);
  EXPECT_TRUE(query_->GetEntity(Ctx().get(), get, &e).ok());

  v1::DiffRevisionsRequest old_diff;
  old_diff.set_from_revision(2);
  auto ctx = Ctx();
  auto reader = diff_->DiffRevisions(ctx.get(), old_diff);
  v1::Change c;
  EXPECT_FALSE(reader->Read(&c));
  s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.error_message().find("oldest revision available is 7"), std::string::npos) << s.error_message();
  EXPECT_EQ(DiffRevisions(7, 0).size(), 3u);
}

TEST_F(DiffTest, ALiveWatcherThatFallsTooFarBehindIsToldWhereToResume) {
  server_.reset();
  service::ServerConfig config;
  config.diff.watch_max_lag = 5;
  Start(config);
  Entities({"a", "b"});
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  req.set_from_revision(Latest());
  auto reader = diff_->Watch(&ctx, req);
  Put(Rel("first", "a", "met", "b"));
  v1::Change c;
  ASSERT_TRUE(reader->Read(&c));  // caught up: the stream is live
  // Large changes fill the flow-control windows while the client does not read.
  v1::Relation big = Rel("", "a", "met", "b");
  (*big.mutable_qualifiers())["filler"].set_text(std::string(60'000, 'x'));
  for (int i = 0; i < 150; ++i) Put(big);
  int read = 0;
  while (reader->Read(&c)) ++read;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("resume with"), std::string::npos) << s.error_message();
  EXPECT_LT(read, 150);
}

TEST_F(DiffTest, ShutdownEndsWatchesWithUnavailableAndWhereToResume) {
  Entities({"a", "b"});
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  auto reader = diff_->Watch(&ctx, req);
  v1::Change c, last;
  ASSERT_TRUE(reader->Read(&c));
  ASSERT_TRUE(reader->Read(&last));  // both entities of revision 1
  std::thread stopper([&] { server_->Shutdown(); });
  while (reader->Read(&c)) {
  }
  grpc::Status s = reader->Finish();
  stopper.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Either names the same position: after revision 1, or right after its last change.
  const bool by_revision = s.error_message().find("from_revision=1") != std::string::npos;
  const bool by_token = s.error_message().find("resume_token=" + last.resume_token()) != std::string::npos;
  EXPECT_TRUE(by_revision || by_token) << s.error_message();
}

}  // namespace
}  // namespace annals
