// The gRPC services through a real annalsd server on 127.0.0.1:0, a real RocksDB in a
// temporary directory, and the generated stubs.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

#include "tests/support/api_records.h"
#include "tests/support/dates.h"
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "annals/v1/admin.grpc.pb.h"
#include "annals/v1/diff.grpc.pb.h"
#include "annals/v1/ingest.grpc.pb.h"
#include "annals/v1/query.grpc.pb.h"
#include "service/jsonl_load.h"
#include "service/request_validation.h"
#include "service/server.h"
#include "tests/support/health.grpc.pb.h"
#include "tests/support/temp_dir.h"

namespace annals {
namespace {

using annals::testing::TempDir;

v1::Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<v1::Date>(y, m, d); }

using annals::testing::Entity;
using annals::testing::Relation;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.db_path = dir_.Sub("db");
    config.drain_timeout = absl::Seconds(2);
    std::ostringstream log;
    auto server = service::AnnalsServer::Start(config, log);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
    ingest_ = v1::IngestService::NewStub(channel_);
    query_ = v1::QueryService::NewStub(channel_);
  }
  void TearDown() override { server_.reset(); }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }
  int64_t Latest() { return server_->store()->LatestRevision(); }

  // Pakistan, Russia, Zardari and a document, at revision 1.
  void AddBasics() {
    v1::UpsertEntitiesRequest req;
    *req.add_entities() = Entity("pakistan", "Pakistan");
    *req.add_entities() = Entity("russia", "Russia");
    *req.add_entities() = Entity("zardari", "Asif Ali Zardari", "person");
    v1::UpsertEntitiesResponse resp;
    ASSERT_TRUE(ingest_->UpsertEntities(Ctx().get(), req, &resp).ok());
    v1::PutDocumentsRequest docs;
    auto* d = docs.add_documents();
    d->set_id("doc-1");
    d->set_title("A report");
    *d->mutable_published() = D(2011, 5);
    v1::PutDocumentsResponse docs_resp;
    ASSERT_TRUE(ingest_->PutDocuments(Ctx().get(), docs, &docs_resp).ok());
  }
  grpc::Status Put(v1::PutRelationsRequest req, v1::PutRelationsResponse* resp = nullptr) {
    v1::PutRelationsResponse ignored;
    return ingest_->PutRelations(Ctx().get(), req, resp ? resp : &ignored);
  }
  grpc::Status PutOne(const v1::Relation& r, v1::PutRelationsResponse* resp = nullptr) {
    v1::PutRelationsRequest req;
    *req.add_relations() = r;
    return Put(req, resp);
  }

  TempDir dir_;
  std::unique_ptr<service::AnnalsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::QueryService::Stub> query_;
};

TEST_F(ServiceTest, HealthIsServingForTheServerAndEachService) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  for (const char* name : {"", "annals.v1.IngestService", "annals.v1.QueryService"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(Ctx().get(), req, &resp).ok()) << name;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
}

TEST_F(ServiceTest, UpsertThenGetEntityReportsRevisionAndTime) {
  v1::UpsertEntitiesRequest req;
  auto* e = req.add_entities();
  *e = Entity("abdullah-gul", "Abdullah Gül", "person");
  e->add_aliases("Gul");
  (*e->mutable_attributes())["office"].set_text("president");
  v1::UpsertEntitiesResponse resp;
  ASSERT_TRUE(ingest_->UpsertEntities(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.revision(), 1);
  EXPECT_EQ(resp.written_count(), 1);
  ASSERT_EQ(resp.entities_size(), 1);
  EXPECT_EQ(resp.entities(0).revision(), 1);
  EXPECT_GT(resp.entities(0).recorded_at().seconds(), 1700000000);

  v1::GetEntityRequest get;
  get.set_id("abdullah-gul");
  v1::Entity got;
  auto ctx = Ctx();
  ASSERT_TRUE(query_->GetEntity(ctx.get(), get, &got).ok());
  EXPECT_EQ(got.label(), "Abdullah Gül");
  EXPECT_EQ(got.attributes().at("office").text(), "president");
  auto trailer = ctx->GetServerTrailingMetadata().find("annals-revision");
  ASSERT_NE(trailer, ctx->GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "1");

  // The same entity again writes nothing.
  ASSERT_TRUE(ingest_->UpsertEntities(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.written_count(), 0);
  EXPECT_EQ(resp.unchanged_count(), 1);
  EXPECT_EQ(Latest(), 1);

  get.set_id("nobody");
  EXPECT_EQ(query_->GetEntity(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_id("abdullah-gul");
  get.set_as_of_revision(9);
  EXPECT_EQ(query_->GetEntity(Ctx().get(), get, &got).error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

// Every kind of bad relation: the code, the field named, and nothing written.
TEST_F(ServiceTest, BadRelationsAreRejectedNamingTheFieldAndWriteNothing) {
  AddBasics();
  struct Case {
    const char* name;
    std::function<void(v1::Relation*)> spoil;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"bad id", [](v1::Relation* r) { r->set_id("Not An Id"); }, "relations[0].id"},
      {"no subject", [](v1::Relation* r) { r->clear_subject(); }, "relations[0].subject"},
      {"unknown subject", [](v1::Relation* r) { r->set_subject("nobody"); }, "relations[0].subject"},
      {"unknown object", [](v1::Relation* r) { r->set_object_id("nowhere"); }, "relations[0].object_id"},
      {"no object", [](v1::Relation* r) { r->clear_object(); }, "relations[0].object_id"},
      {"empty predicate", [](v1::Relation* r) { r->clear_predicate(); }, "relations[0].predicate"},
      {"predicate with NUL", [](v1::Relation* r) { r->set_predicate(std::string("a\0b", 3)); }, "relations[0].predicate"},
      {"month 13", [](v1::Relation* r) { *r->mutable_valid()->mutable_start() = D(2011, 13); }, "relations[0].valid.start"},
      {"30 February", [](v1::Relation* r) { *r->mutable_valid()->mutable_end() = D(2011, 2, 30); }, "relations[0].valid.end"},
      {"day without month", [](v1::Relation* r) { *r->mutable_valid()->mutable_start() = D(2011, 0, 5); }, "relations[0].valid.start"},
      {"year 0", [](v1::Relation* r) { *r->mutable_valid()->mutable_start() = D(0, 1, 1); }, "relations[0].valid.start"},
      {"ends before it starts",
       [](v1::Relation* r) {
         *r->mutable_valid()->mutable_start() = D(2012);
         *r->mutable_valid()->mutable_end() = D(2011);
       },
       "relations[0].valid.end"},
      {"confidence 1.5", [](v1::Relation* r) { r->set_confidence(1.5f); }, "relations[0].confidence"},
      {"confidence NaN", [](v1::Relation* r) { r->set_confidence(std::nanf("")); }, "relations[0].confidence"},
      {"unknown status", [](v1::Relation* r) { r->set_status(static_cast<v1::Status>(99)); }, "relations[0].status"},
      {"empty span",
       [](v1::Relation* r) {
         auto* s = r->add_sources();
         s->set_document_id("doc-1");
         s->set_begin(10);
         s->set_end(10);
       },
       "relations[0].sources[0].end"},
      {"unknown document",
       [](v1::Relation* r) {
         auto* s = r->add_sources();
         s->set_document_id("doc-404");
         s->set_begin(0);
         s->set_end(10);
       },
       "relations[0].sources[0].document_id"},
      {"NaN value",
       [](v1::Relation* r) { r->mutable_value()->set_number(std::numeric_limits<double>::quiet_NaN()); },
       "relations[0].value.number"},
  };
  const int64_t before = Latest();
  for (const auto& c : cases) {
    v1::PutRelationsRequest req;
    *req.add_relations() = Relation("zardari", "visited", "russia");  // a good one first
    v1::Relation bad = Relation("zardari", "visited", "russia");
    c.spoil(&bad);
    req.clear_relations();
    *req.add_relations() = bad;
    *req.add_relations() = Relation("zardari", "met", "pakistan");
    grpc::Status s = Put(req);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_EQ(s.error_message().rfind(std::string(c.field) + ": ", 0), 0u)
        << c.name << ": message was '" << s.error_message() << "'";
    EXPECT_EQ(Latest(), before) << c.name << " wrote something";
  }
  v1::PutRelationsRequest empty;
  EXPECT_EQ(Put(empty).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, PutRelationsAssignsIdsAndAnIdWritesNewVersions) {
  AddBasics();
  v1::Relation r = Relation("zardari", "visited", "russia");
  *r.mutable_valid()->mutable_start() = D(2011, 5, 11);
  *r.mutable_valid()->mutable_end() = D(2011, 5, 13);
  v1::PutRelationsResponse resp;
  ASSERT_TRUE(PutOne(r, &resp).ok());
  ASSERT_EQ(resp.relations_size(), 1);
  const std::string id = resp.relations(0).id();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(resp.relations(0).revision(), resp.revision());
  // Sent again without an id: a second claim with a new id.
  ASSERT_TRUE(PutOne(r, &resp).ok());
  EXPECT_NE(resp.relations(0).id(), id);
  // With the id: a new version of the same relation.
  r.set_id(id);
  r.set_status(v1::POSTPONED);
  ASSERT_TRUE(PutOne(r, &resp).ok());
  EXPECT_EQ(resp.relations(0).id(), id);
  EXPECT_EQ(resp.relations(0).status(), v1::POSTPONED);
  v1::GetRelationRequest get;
  get.set_id(id);
  get.set_as_of_revision(resp.revision() - 1);
  v1::Relation old_version;
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &old_version).ok());
  EXPECT_EQ(old_version.status(), v1::STATUS_UNSPECIFIED);
}

TEST_F(ServiceTest, ARequestIdReplaysTheFirstResponseAndRefusesAnotherPayload) {
  AddBasics();
  v1::PutRelationsRequest req;
  req.set_request_id("0f8c-retry-me");
  *req.add_relations() = Relation("zardari", "visited", "russia");
  v1::PutRelationsResponse first, second;
  ASSERT_TRUE(Put(req, &first).ok());
  const int64_t after_first = Latest();
  ASSERT_TRUE(Put(req, &second).ok());
  EXPECT_EQ(second.revision(), first.revision());
  EXPECT_EQ(second.relations(0).id(), first.relations(0).id());
  EXPECT_EQ(Latest(), after_first);
  req.mutable_relations(0)->set_predicate("met");
  grpc::Status s = Put(req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(s.error_message().rfind("request_id: ", 0), 0u) << s.error_message();
  req.set_request_id("has space");
  EXPECT_EQ(Put(req).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, RetractRelationHidesItFromReadsButKeepsItsHistory) {
  AddBasics();
  v1::Relation r = Relation("zardari", "visited", "russia");
  r.set_id("visit-1");
  ASSERT_TRUE(PutOne(r).ok());
  const int64_t before = Latest();
  v1::RetractRelationRequest retract;
  retract.set_id("visit-1");
  retract.set_reason("duplicate of another claim");
  v1::Relation retracted;
  ASSERT_TRUE(ingest_->RetractRelation(Ctx().get(), retract, &retracted).ok());
  EXPECT_TRUE(retracted.retracted());
  EXPECT_EQ(retracted.retraction_reason(), "duplicate of another claim");
  EXPECT_EQ(retracted.revision(), before + 1);

  v1::GetRelationRequest get;
  get.set_id("visit-1");
  v1::Relation got;
  EXPECT_EQ(query_->GetRelation(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_show_retracted(true);
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &got).ok());
  EXPECT_TRUE(got.retracted());
  get.set_show_retracted(false);
  get.set_as_of_revision(before);
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &got).ok());
  EXPECT_FALSE(got.retracted());

  EXPECT_EQ(ingest_->RetractRelation(Ctx().get(), retract, &got).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  retract.set_id("never-was");
  EXPECT_EQ(ingest_->RetractRelation(Ctx().get(), retract, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  retract.set_id("");
  EXPECT_EQ(ingest_->RetractRelation(Ctx().get(), retract, &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, PageTokensKeepTheirRevisionAndBelongToTheirQuery) {
  AddBasics();
  v1::PutRelationsRequest req;
  for (int i = 0; i < 7; ++i) {
    v1::Relation r = Relation("zardari", "visited", "russia");
    r.set_id("v" + std::to_string(i));
    *r.mutable_valid()->mutable_start() = D(2000 + i);
    *req.add_relations() = r;
  }
  ASSERT_TRUE(Put(req).ok());
  v1::ListRelationsRequest list;
  list.set_subject("zardari");
  list.set_page_size(3);
  v1::ListRelationsResponse page;
  ASSERT_TRUE(query_->ListRelations(Ctx().get(), list, &page).ok());
  ASSERT_EQ(page.relations_size(), 3);
  const int64_t rev = page.revision();
  // A write between pages must not show up in later pages of the same listing.
  v1::Relation late = Relation("zardari", "visited", "pakistan");
  late.set_id("v-late");
  ASSERT_TRUE(PutOne(late).ok());
  std::set<std::string> seen;
  for (const auto& r : page.relations()) seen.insert(r.id());
  while (!page.next_page_token().empty()) {
    list.set_page_token(page.next_page_token());
    ASSERT_TRUE(query_->ListRelations(Ctx().get(), list, &page).ok());
    EXPECT_EQ(page.revision(), rev);
    for (const auto& r : page.relations()) EXPECT_TRUE(seen.insert(r.id()).second) << r.id() << " twice";
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_FALSE(seen.contains("v-late"));

  // A token is refused by another query, and garbage is refused.
  list.set_page_size(3);
  list.clear_page_token();
  ASSERT_TRUE(query_->ListRelations(Ctx().get(), list, &page).ok());
  list.set_page_token(page.next_page_token());
  list.set_predicate("met");
  grpc::Status s = query_->ListRelations(Ctx().get(), list, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("page_token: ", 0), 0u);
  list.set_page_token("not-a-token!");
  EXPECT_EQ(query_->ListRelations(Ctx().get(), list, &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  list.clear_page_token();
  list.set_page_size(-1);
  EXPECT_EQ(query_->ListRelations(Ctx().get(), list, &page).error_message(), "page_size: must not be negative");
  list.set_page_size(1001);
  EXPECT_EQ(query_->ListRelations(Ctx().get(), list, &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, ListRelationsAppliesTheWindowRule) {
  AddBasics();
  v1::Relation may = Relation("zardari", "visited", "russia");
  may.set_id("may-visit");
  *may.mutable_valid()->mutable_start() = D(2011, 5);
  *may.mutable_valid()->mutable_end() = D(2011, 5);
  v1::Relation since = Relation("russia", "supports", "pakistan");
  since.set_id("support");
  *since.mutable_valid()->mutable_start() = D(2011);
  ASSERT_TRUE(PutOne(may).ok());
  ASSERT_TRUE(PutOne(since).ok());
  auto ids = [&](v1::Date from, v1::Date to, v1::WindowMode mode) {
    v1::ListRelationsRequest list;
    *list.mutable_window()->mutable_start() = from;
    *list.mutable_window()->mutable_end() = to;
    list.mutable_window()->set_mode(mode);
    v1::ListRelationsResponse resp;
    EXPECT_TRUE(query_->ListRelations(Ctx().get(), list, &resp).ok());
    std::set<std::string> out;
    for (const auto& r : resp.relations()) out.insert(r.id());
    return out;
  };
  using S = std::set<std::string>;
  // Support since 2011 began on some day of 2011 and held from then: certainly in 2011 too.
  EXPECT_EQ(ids(D(2011), D(2011), v1::CERTAINLY), (S{"may-visit", "support"}));
  EXPECT_EQ(ids(D(2011, 6, 1), D(2011, 6, 1), v1::CERTAINLY), (S{}));
  EXPECT_EQ(ids(D(2011, 5, 10), D(2011, 5, 20), v1::POSSIBLY), (S{"may-visit", "support"}));
  EXPECT_EQ(ids(D(2011, 5, 10), D(2011, 5, 20), v1::CERTAINLY), (S{}));
  EXPECT_EQ(ids(D(2011, 6), D(2011, 6), v1::POSSIBLY), (S{"support"}));
  EXPECT_EQ(ids(D(2012, 6, 1), D(2012, 6, 1), v1::CERTAINLY), (S{"support"}));
  EXPECT_EQ(ids(D(2010), D(2010), v1::POSSIBLY), (S{}));
  v1::ListRelationsRequest bad;
  *bad.mutable_window()->mutable_start() = D(2011, 2, 30);
  v1::ListRelationsResponse resp;
  grpc::Status s = query_->ListRelations(Ctx().get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("window.start: ", 0), 0u) << s.error_message();
}

TEST_F(ServiceTest, NeighborsCarryTheEntityAtTheOtherEnd) {
  AddBasics();
  ASSERT_TRUE(PutOne(Relation("zardari", "visited", "russia")).ok());
  ASSERT_TRUE(PutOne(Relation("russia", "supports", "pakistan")).ok());
  v1::NeighborsRequest req;
  req.set_entity_id("russia");
  v1::NeighborsResponse resp;
  ASSERT_TRUE(query_->Neighbors(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.neighbors_size(), 2);
  std::map<std::string, std::string> by_direction;
  for (const auto& n : resp.neighbors())
    by_direction[v1::Direction_Name(n.direction())] = n.neighbor().label();
  EXPECT_EQ(by_direction["OUT"], "Pakistan");
  EXPECT_EQ(by_direction["IN"], "Asif Ali Zardari");
  req.set_limit(1);
  ASSERT_TRUE(query_->Neighbors(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.neighbors_size(), 1);
  EXPECT_TRUE(resp.truncated());
  req.set_entity_id("atlantis");
  EXPECT_EQ(query_->Neighbors(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_entity_id("russia");
  req.set_direction(static_cast<v1::Direction>(7));
  EXPECT_EQ(query_->Neighbors(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A relation from an entity to itself: the entity is its own neighbour, once each way.
  ASSERT_TRUE(PutOne(Relation("russia", "reorganised", "russia")).ok());
  req.set_direction(v1::BOTH);
  req.set_limit(10);
  resp.Clear();
  ASSERT_TRUE(query_->Neighbors(Ctx().get(), req, &resp).ok());
  std::multiset<std::string> self;
  for (const auto& n : resp.neighbors())
    if (n.relation().predicate() == "reorganised") self.insert(v1::Direction_Name(n.direction()) + " " + n.neighbor().label());
  EXPECT_EQ(self, (std::multiset<std::string>{"IN Russia", "OUT Russia"}));
}

// Neighbors in pages (AIP-158) and views (AIP-157): pages of 2 walk every neighbour once,
// in the documented order, each token bound to its query and revision; `truncated` is set
// exactly when a next page exists; BASIC carries the relation without its sources and the
// other entity with only its id, label and kind, as of the revision read.
TEST_F(ServiceTest, NeighborsComeInPagesAndViews) {
  AddBasics();
  auto put = [&](const std::string& id, const std::string& s, const std::string& p, const std::string& o, int year) {
    v1::Relation r = Relation(s, p, o);
    r.set_id(id);
    *r.mutable_valid()->mutable_start() = D(year);
    auto* source = r.add_sources();
    source->set_document_id("doc-1");
    source->set_begin(0);
    source->set_end(5);
    ASSERT_TRUE(PutOne(r).ok());
  };
  put("v1", "zardari", "visited", "russia", 2011);
  put("v2", "zardari", "visited", "pakistan", 2009);
  put("m1", "zardari", "met", "russia", 2012);
  put("i1", "russia", "hosted", "zardari", 2011);
  put("i2", "pakistan", "elected", "zardari", 2008);
  v1::NeighborsRequest req;
  req.set_entity_id("zardari");
  req.set_page_size(2);
  req.set_view(v1::BASIC);
  std::vector<std::string> order;
  int64_t first_revision = 0;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    v1::NeighborsResponse resp;
    ASSERT_TRUE(query_->Neighbors(Ctx().get(), req, &resp).ok());
    if (pages == 0) {
      first_revision = resp.revision();
      // A write between pages does not show: the listing reads its first page's revision.
      put("late", "zardari", "met", "pakistan", 2013);
    }
    EXPECT_EQ(resp.revision(), first_revision);
    EXPECT_EQ(resp.truncated(), !resp.next_page_token().empty());
    for (const auto& n : resp.neighbors()) {
      order.push_back(n.relation().id());
      EXPECT_EQ(n.relation().sources_size(), 0) << "BASIC carries no sources";
      EXPECT_TRUE(n.relation().valid().has_start()) << "BASIC keeps the valid time";
      EXPECT_FALSE(n.neighbor().label().empty());
      EXPECT_EQ(n.neighbor().revision(), 0) << "BASIC names the other entity only";
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  // Outgoing by predicate ("met" < "visited"), then by start; then incoming.
  EXPECT_EQ(order, (std::vector<std::string>{"m1", "v2", "v1", "i2", "i1"}));

  // A token belongs to its query: another entity or predicate list is refused, while
  // page_size, limit, view and consistency may change between pages.
  v1::NeighborsRequest first;
  first.set_entity_id("zardari");
  first.set_limit(2);
  v1::NeighborsResponse page;
  ASSERT_TRUE(query_->Neighbors(Ctx().get(), first, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  EXPECT_EQ(page.neighbors(0).relation().sources_size(), 1) << "FULL is the default";
  EXPECT_GT(page.neighbors(0).neighbor().revision(), 0) << "FULL carries the whole entity";
  v1::NeighborsRequest next = first;
  next.set_page_token(page.next_page_token());
  next.set_limit(0);
  next.set_page_size(3);
  next.set_view(v1::BASIC);
  v1::NeighborsResponse rest;
  ASSERT_TRUE(query_->Neighbors(Ctx().get(), next, &rest).ok());
  EXPECT_EQ(rest.neighbors_size(), 3);
  EXPECT_EQ(page.neighbors(1).relation().id(), "late") << "a new listing sees the late write";
  EXPECT_EQ(rest.neighbors(0).relation().id(), "v2");
  EXPECT_TRUE(rest.truncated()) << "i1 is still to come";
  next.set_entity_id("russia");
  EXPECT_EQ(query_->Neighbors(Ctx().get(), next, &rest).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  next.set_entity_id("zardari");
  next.add_predicates("met");
  grpc::Status other = query_->Neighbors(Ctx().get(), next, &rest);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(other.error_message().find("page_token"), std::string::npos) << other.error_message();

  // GetRelation and ListRelations take the view too.
  v1::GetRelationRequest get;
  get.set_id("v1");
  get.set_view(v1::BASIC);
  v1::Relation got;
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.sources_size(), 0);
  EXPECT_EQ(got.subject(), "zardari");
  get.set_view(v1::FULL);
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.sources_size(), 1);
  v1::ListRelationsRequest list;
  list.set_predicate("visited");
  list.set_view(v1::BASIC);
  v1::ListRelationsResponse listed;
  ASSERT_TRUE(query_->ListRelations(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.relations_size(), 2);
  for (const auto& r : listed.relations()) {
    EXPECT_EQ(r.sources_size(), 0);
    EXPECT_EQ(r.object_id().empty(), false);
  }
}

// One predicate rule (1 to 128 bytes, storage::kMaxPredicateBytes) for what is written and
// what is asked, in every request that takes predicates, each error naming its own field.
// Before, Neighbors and ListRelations took up to 1,024 bytes (Neighbors an empty predicate
// too) while writes, the graph queries and scopes took 128 and refused an empty one.
TEST_F(ServiceTest, EveryRequestChecksPredicatesByTheSameRule) {
  AddBasics();
  auto diff = v1::DiffService::NewStub(channel_);
  using Call = std::function<grpc::Status(const std::string&)>;
  const std::vector<std::pair<std::string, Call>> calls = {
      {"relations[0].predicate", [&](const std::string& p) { return PutOne(Relation("russia", p, "pakistan")); }},
      {"predicate", [&](const std::string& p) {
         v1::ListRelationsRequest r;
         r.set_predicate(p);
         v1::ListRelationsResponse out;
         return query_->ListRelations(Ctx().get(), r, &out);
       }},
      {"predicates[1]", [&](const std::string& p) {
         v1::NeighborsRequest r;
         r.set_entity_id("russia");
         r.add_predicates("visited");
         r.add_predicates(p);
         v1::NeighborsResponse out;
         return query_->Neighbors(Ctx().get(), r, &out);
       }},
      {"predicates[0]", [&](const std::string& p) {
         v1::TraverseRequest r;
         r.add_start_ids("russia");
         r.add_predicates(p);
         v1::TraverseResponse out;
         return query_->Traverse(Ctx().get(), r, &out);
       }},
      {"predicates[0]", [&](const std::string& p) {
         v1::FindPathsRequest r;
         r.set_source_id("russia");
         r.set_target_id("pakistan");
         r.add_predicates(p);
         v1::FindPathsResponse out;
         return query_->FindPaths(Ctx().get(), r, &out);
       }},
      {"predicates[0]", [&](const std::string& p) {
         v1::TimelineRequest r;
         r.set_entity_id("russia");
         r.add_predicates(p);
         v1::TimelineResponse out;
         return query_->Timeline(Ctx().get(), r, &out);
       }},
      {"scope.predicates[0]", [&](const std::string& p) {
         v1::DiffValidTimesRequest r;
         *r.mutable_at_a() = D(2010);
         *r.mutable_at_b() = D(2011);
         r.mutable_scope()->add_predicates(p);
         v1::DiffValidTimesResponse out;
         return diff->DiffValidTimes(Ctx().get(), r, &out);
       }},
  };
  const std::string longest(128, 'p'), too_long(129, 'p');
  for (const auto& [field, call] : calls) {
    EXPECT_TRUE(call(longest).ok()) << field << ": " << call(longest).error_message();
    const grpc::Status refused = call(too_long);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(refused.error_message(), field + ": longer than 128 bytes");
    const grpc::Status control = call("met\x01");
    EXPECT_EQ(control.error_message(), field + ": contains a control character");
    // An empty predicate: "any" where the field is one optional filter, refused in a list.
    const grpc::Status empty = call("");
    if (field == "predicate")
      EXPECT_TRUE(empty.ok()) << empty.error_message();
    else
      EXPECT_EQ(empty.error_message(), field + ": is required") << field;
  }
}

// Every relation read takes the same filter and answers by it: the relations between two
// entities come back alike from ListRelations (one side each), Timeline (a pair) and a
// DiffValidTimes scope (`between`).
TEST_F(ServiceTest, EveryRelationReadFiltersAPairAlike) {
  AddBasics();
  ASSERT_TRUE(PutOne(Relation("zardari", "visited", "russia")).ok());
  ASSERT_TRUE(PutOne(Relation("russia", "supports", "pakistan")).ok());
  ASSERT_TRUE(PutOne(Relation("pakistan", "trades_with", "russia")).ok());
  ASSERT_TRUE(PutOne(Relation("pakistan", "visited", "pakistan")).ok());
  std::set<std::string> want;  // every relation between russia and pakistan, found by predicate
  for (const std::string p : {"supports", "trades_with"}) want.insert(p);

  std::set<std::string> listed;
  for (bool flip : {false, true}) {
    v1::ListRelationsRequest r;
    r.set_subject(flip ? "pakistan" : "russia");
    r.set_object_id(flip ? "russia" : "pakistan");
    v1::ListRelationsResponse out;
    ASSERT_TRUE(query_->ListRelations(Ctx().get(), r, &out).ok());
    for (const auto& rel : out.relations()) listed.insert(rel.predicate());
  }
  EXPECT_EQ(listed, want);

  v1::TimelineRequest t;
  t.set_entity_id("russia");
  t.set_other_id("pakistan");
  v1::TimelineResponse timeline;
  ASSERT_TRUE(query_->Timeline(Ctx().get(), t, &timeline).ok());
  std::set<std::string> in_timeline;
  for (const auto& g : timeline.groups())
    for (const auto& rel : g.relations()) in_timeline.insert(rel.predicate());
  EXPECT_EQ(in_timeline, want);

  auto diff = v1::DiffService::NewStub(channel_);
  v1::DiffValidTimesRequest d;
  *d.mutable_at_a() = D(1900);
  *d.mutable_at_b() = D(2011);
  d.set_include_continued(true);
  d.mutable_scope()->add_between("pakistan");
  d.mutable_scope()->add_between("russia");
  v1::DiffValidTimesResponse changed;
  ASSERT_TRUE(diff->DiffValidTimes(Ctx().get(), d, &changed).ok());
  std::set<std::string> in_scope;
  for (const auto& rel : changed.began()) in_scope.insert(rel.predicate());
  for (const auto& rel : changed.ended()) in_scope.insert(rel.predicate());
  for (const auto& rel : changed.continued()) in_scope.insert(rel.predicate());
  EXPECT_EQ(in_scope, want);
  // `between` and entity_id exclude each other: one anchor per scope.
  d.mutable_scope()->set_entity_id("russia");
  const grpc::Status both = diff->DiffValidTimes(Ctx().get(), d, &changed);
  EXPECT_EQ(both.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(both.error_message(), "scope.between: give entity_id or between, not both");
}

// Every read RPC of QueryService and DiffService takes a ReadConsistency named
// `consistency` (checked on the descriptors, so a new read RPC cannot forget it) and waits
// as it says: on a single node a min_revision after the latest is OUT_OF_RANGE naming the
// field, and what it has applied is read at once, in either mode.
TEST_F(ServiceTest, EveryReadTakesAConsistencyAndHonoursIt) {
  for (const char* name : {"annals.v1.QueryService", "annals.v1.DiffService"}) {
    const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* field = service->method(i)->input_type()->FindFieldByName("consistency");
      ASSERT_NE(field, nullptr) << service->method(i)->full_name();
      EXPECT_EQ(field->message_type(), v1::ReadConsistency::descriptor()) << service->method(i)->full_name();
    }
  }
  AddBasics();
  v1::PutRelationsResponse put;
  ASSERT_TRUE(PutOne(Relation("zardari", "visited", "russia"), &put).ok());
  const std::string relation_id = put.relations(0).id();
  auto diff = v1::DiffService::NewStub(channel_);
  using Call = std::function<grpc::Status(const v1::ReadConsistency&)>;
  std::vector<std::pair<std::string, Call>> reads = {
      {"GetEntity", [&](const v1::ReadConsistency& c) { v1::GetEntityRequest r; r.set_id("russia"); *r.mutable_consistency() = c; v1::Entity out; return query_->GetEntity(Ctx().get(), r, &out); }},
      {"BatchGetEntities", [&](const v1::ReadConsistency& c) { v1::BatchGetEntitiesRequest r; r.add_ids("russia"); *r.mutable_consistency() = c; v1::BatchGetEntitiesResponse out; return query_->BatchGetEntities(Ctx().get(), r, &out); }},
      {"SearchEntities", [&](const v1::ReadConsistency& c) { v1::SearchEntitiesRequest r; r.set_query("rus"); *r.mutable_consistency() = c; v1::SearchEntitiesResponse out; return query_->SearchEntities(Ctx().get(), r, &out); }},
      {"GetRelation", [&](const v1::ReadConsistency& c) { v1::GetRelationRequest r; r.set_id(relation_id); *r.mutable_consistency() = c; v1::Relation out; return query_->GetRelation(Ctx().get(), r, &out); }},
      {"GetDocument", [&](const v1::ReadConsistency& c) { v1::GetDocumentRequest r; r.set_id("doc-1"); *r.mutable_consistency() = c; v1::Document out; return query_->GetDocument(Ctx().get(), r, &out); }},
      {"ListDocuments", [&](const v1::ReadConsistency& c) { v1::ListDocumentsRequest r; *r.mutable_consistency() = c; v1::ListDocumentsResponse out; return query_->ListDocuments(Ctx().get(), r, &out); }},
      {"ListRelations", [&](const v1::ReadConsistency& c) { v1::ListRelationsRequest r; *r.mutable_consistency() = c; v1::ListRelationsResponse out; return query_->ListRelations(Ctx().get(), r, &out); }},
      {"Neighbors", [&](const v1::ReadConsistency& c) { v1::NeighborsRequest r; r.set_entity_id("russia"); *r.mutable_consistency() = c; v1::NeighborsResponse out; return query_->Neighbors(Ctx().get(), r, &out); }},
      {"Traverse", [&](const v1::ReadConsistency& c) { v1::TraverseRequest r; r.add_start_ids("russia"); *r.mutable_consistency() = c; v1::TraverseResponse out; return query_->Traverse(Ctx().get(), r, &out); }},
      {"FindPaths", [&](const v1::ReadConsistency& c) { v1::FindPathsRequest r; r.set_source_id("zardari"); r.set_target_id("russia"); *r.mutable_consistency() = c; v1::FindPathsResponse out; return query_->FindPaths(Ctx().get(), r, &out); }},
      {"Timeline", [&](const v1::ReadConsistency& c) { v1::TimelineRequest r; r.set_entity_id("russia"); *r.mutable_consistency() = c; v1::TimelineResponse out; return query_->Timeline(Ctx().get(), r, &out); }},
      {"Aggregate", [&](const v1::ReadConsistency& c) { v1::AggregateRequest r; r.set_entity_id("russia"); *r.mutable_consistency() = c; v1::AggregateResponse out; return query_->Aggregate(Ctx().get(), r, &out); }},
      {"Conflicts", [&](const v1::ReadConsistency& c) { v1::ConflictsRequest r; r.set_entity_id("russia"); *r.mutable_consistency() = c; v1::ConflictsResponse out; return query_->Conflicts(Ctx().get(), r, &out); }},
      {"DiffValidTimes", [&](const v1::ReadConsistency& c) { v1::DiffValidTimesRequest r; *r.mutable_at_a() = D(2010); *r.mutable_at_b() = D(2012); *r.mutable_consistency() = c; v1::DiffValidTimesResponse out; return diff->DiffValidTimes(Ctx().get(), r, &out); }},
      {"GetHistory", [&](const v1::ReadConsistency& c) { v1::GetHistoryRequest r; r.set_entity_id("russia"); *r.mutable_consistency() = c; v1::GetHistoryResponse out; return diff->GetHistory(Ctx().get(), r, &out); }},
      {"DiffRevisions", [&](const v1::ReadConsistency& c) { v1::DiffRevisionsRequest r; *r.mutable_consistency() = c; auto ctx = Ctx(); auto reader = diff->DiffRevisions(ctx.get(), r); v1::Change change; while (reader->Read(&change)) {} return reader->Finish(); }},
  };
  const int64_t latest = Latest();
  ASSERT_EQ(latest, 3);
  for (const auto& [name, call] : reads) {
    v1::ReadConsistency c;
    c.set_min_revision(latest);
    EXPECT_TRUE(call(c).ok()) << name << ": " << call(c).error_message();
    c.set_mode(v1::ReadConsistency::LINEARIZABLE);
    EXPECT_TRUE(call(c).ok()) << name << ": " << call(c).error_message();
    c.set_min_revision(latest + 5);
    grpc::Status beyond = call(c);
    EXPECT_EQ(beyond.error_code(), grpc::StatusCode::OUT_OF_RANGE) << name;
    EXPECT_EQ(beyond.error_message(), "consistency.min_revision: 8 is after the latest revision 3") << name;
    c.set_min_revision(-1);
    EXPECT_EQ(call(c).error_message(), "consistency.min_revision: must not be negative") << name;
    c.set_min_revision(0);
    c.set_mode(static_cast<v1::ReadConsistency::Mode>(7));
    EXPECT_EQ(call(c).error_message(), "consistency.mode: unknown value 7") << name;
  }
  // Watch follows forever when it may start, so only its refusal is checked here.
  v1::WatchRequest watch;
  watch.mutable_consistency()->set_min_revision(latest + 1);
  auto ctx = Ctx();
  auto reader = diff->Watch(ctx.get(), watch);
  v1::Change change;
  EXPECT_FALSE(reader->Read(&change));
  grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(refused.error_message(), "consistency.min_revision: 4 is after the latest revision 3");

  // A listing goes on under another consistency: the token does not cover it.
  v1::SearchEntitiesRequest search;
  search.set_page_size(1);
  v1::SearchEntitiesResponse page;
  ASSERT_TRUE(query_->SearchEntities(Ctx().get(), search, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  search.set_page_token(page.next_page_token());
  search.mutable_consistency()->set_mode(v1::ReadConsistency::LINEARIZABLE);
  search.mutable_consistency()->set_min_revision(latest);
  grpc::Status next = query_->SearchEntities(Ctx().get(), search, &page);
  EXPECT_TRUE(next.ok()) << next.error_message();
}

TEST_F(ServiceTest, ClusterStatusOnASingleNodeSaysItIsNotAMember) {
  auto admin = v1::AdminService::NewStub(channel_);
  v1::ClusterStatus status;
  grpc::Status s = admin->GetClusterStatus(Ctx().get(), v1::GetClusterStatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("single node"), std::string::npos) << s.error_message();
}

TEST_F(ServiceTest, BatchGetAndSearchEntities) {
  AddBasics();
  v1::BatchGetEntitiesRequest batch;
  batch.add_ids("russia");
  batch.add_ids("pakistan");
  v1::BatchGetEntitiesResponse got;
  ASSERT_TRUE(query_->BatchGetEntities(Ctx().get(), batch, &got).ok());
  ASSERT_EQ(got.entities_size(), 2);
  EXPECT_EQ(got.entities(0).id(), "russia");
  batch.add_ids("atlantis");
  grpc::Status s = query_->BatchGetEntities(Ctx().get(), batch, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("atlantis"), std::string::npos);

  v1::SearchEntitiesRequest search;
  search.set_query("ZARD");
  v1::SearchEntitiesResponse found;
  ASSERT_TRUE(query_->SearchEntities(Ctx().get(), search, &found).ok());
  ASSERT_EQ(found.entities_size(), 1);
  EXPECT_EQ(found.entities(0).id(), "zardari");
  search.set_query("");
  search.set_kind("state");
  search.set_page_size(1);
  ASSERT_TRUE(query_->SearchEntities(Ctx().get(), search, &found).ok());
  ASSERT_EQ(found.entities_size(), 1);
  EXPECT_EQ(found.entities(0).id(), "pakistan");
  search.set_page_token(found.next_page_token());
  ASSERT_TRUE(query_->SearchEntities(Ctx().get(), search, &found).ok());
  ASSERT_EQ(found.entities_size(), 1);
  EXPECT_EQ(found.entities(0).id(), "russia");
  EXPECT_TRUE(found.next_page_token().empty());
}

TEST_F(ServiceTest, IngestAcksEachBatchInOrderAndABadBatchCommitsNothing) {
  AddBasics();
  grpc::ClientContext ctx;
  auto stream = ingest_->Ingest(&ctx);
  v1::IngestRequest good;
  *good.add_entities() = Entity("karzai", "Hamid Karzai", "person");
  *good.add_relations() = Relation("zardari", "met", "karzai");
  v1::IngestRequest bad;
  *bad.add_relations() = Relation("zardari", "met", "pakistan");
  *bad.add_relations() = Relation("nobody", "met", "pakistan");
  v1::IngestRequest good2;
  *good2.add_relations() = Relation("karzai", "visited", "pakistan");
  const int64_t before = Latest();
  std::vector<v1::IngestResponse> acks;
  for (const auto* batch : {&good, &bad, &good2}) {
    ASSERT_TRUE(stream->Write(*batch));
    v1::IngestResponse ack;
    ASSERT_TRUE(stream->Read(&ack));
    acks.push_back(ack);
  }
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(acks[0].batch_index(), 0);
  EXPECT_EQ(acks[0].revision(), before + 1);
  EXPECT_EQ(acks[0].entities_written(), 1);
  EXPECT_EQ(acks[0].relations_written(), 1);
  EXPECT_EQ(acks[1].batch_index(), 1);
  EXPECT_EQ(acks[1].revision(), 0);
  ASSERT_EQ(acks[1].errors_size(), 1);
  EXPECT_EQ(acks[1].errors(0).field(), "relations[1].subject");
  EXPECT_EQ(acks[2].batch_index(), 2);
  EXPECT_EQ(acks[2].revision(), before + 2) << "the bad batch took no revision";
  v1::ListRelationsRequest list;
  list.set_object_id("pakistan");
  v1::ListRelationsResponse resp;
  ASSERT_TRUE(query_->ListRelations(Ctx().get(), list, &resp).ok());
  ASSERT_EQ(resp.relations_size(), 1) << "only good2's relation points at pakistan";
  EXPECT_EQ(resp.relations(0).subject(), "karzai");
}

// The stream reads ahead while a batch commits (service/ingest_stream.h): a client that
// writes every batch before reading any ack still gets one ack per batch, in order, each
// batch its own revision, and a bad batch in the middle changes nothing around it.
TEST_F(ServiceTest, IngestWrittenAheadIsCommittedAndAckedInStreamOrder) {
  AddBasics();
  const int64_t before = Latest();
  grpc::ClientContext ctx;
  auto stream = ingest_->Ingest(&ctx);
  constexpr int kBatches = 20, kBad = 7;
  for (int b = 0; b < kBatches; ++b) {
    v1::IngestRequest batch;
    for (int i = 0; i < 50; ++i) {
      v1::Relation r = Relation("zardari", "met", "russia");
      r.set_id(absl::StrCat("ahead-", b, "-", i));
      if (b == kBad && i == 25) r.set_subject("nobody");  // the whole batch is rejected
      *batch.add_relations() = r;
    }
    ASSERT_TRUE(stream->Write(batch));
  }
  stream->WritesDone();
  int64_t expected_revision = before;
  for (int b = 0; b < kBatches; ++b) {
    v1::IngestResponse ack;
    ASSERT_TRUE(stream->Read(&ack)) << "no ack for batch " << b;
    EXPECT_EQ(ack.batch_index(), b);
    if (b == kBad) {
      EXPECT_EQ(ack.revision(), 0);
      ASSERT_EQ(ack.errors_size(), 1);
      EXPECT_EQ(ack.errors(0).field(), "relations[25].subject");
      continue;
    }
    EXPECT_EQ(ack.revision(), ++expected_revision) << "batch " << b;
    EXPECT_EQ(ack.relations_written(), 50);
  }
  v1::IngestResponse extra;
  EXPECT_FALSE(stream->Read(&extra)) << "one ack per batch, no more";
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(Latest(), before + kBatches - 1);
  v1::GetRelationRequest get;
  v1::Relation got;
  get.set_id(absl::StrCat("ahead-", kBad, "-0"));
  EXPECT_EQ(query_->GetRelation(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_id(absl::StrCat("ahead-", kBatches - 1, "-49"));
  ASSERT_TRUE(query_->GetRelation(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.revision(), before + kBatches - 1);
}

TEST_F(ServiceTest, LoadReportsBadLinesWithFileAndLineAndCommitsNothingOfThatFile) {
  const std::string path = dir_.Sub("bad.jsonl");
  std::ofstream(path) << R"({"entity": {"id": "a", "label": "A"}})" << "\n"
                      << "\n"
                      << R"({"entity": {"id": "b", "label": "B", "colour": "red"}})" << "\n"
                      << R"({"relation": {"subject": "a", "predicate": "p", "objectId": "zzz"}})" << "\n";
  std::ostringstream log;
  cluster::LocalCommitter local(server_->store());
  absl::Status s = service::LoadJsonlPaths(local, {path}, log);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(path + ":3: "), std::string::npos) << s.message();
  EXPECT_EQ(Latest(), 0);
  // Fixed: the unknown field goes, and the relation's object exists.
  std::ofstream(path) << R"({"entity": {"id": "a", "label": "A"}})" << "\n"
                      << R"({"relation": {"subject": "a", "predicate": "p", "objectId": "zzz"}})" << "\n";
  s = service::LoadJsonlPaths(local, {path}, log);
  EXPECT_NE(s.message().find(path + ":2: relations[0].object_id: entity 'zzz' does not exist"), std::string::npos)
      << s.message();
  std::ofstream(path) << R"({"entity": {"id": "a", "label": "A"}})" << "\n"
                      << R"({"relation": {"subject": "a", "predicate": "p", "objectId": "a"}})" << "\n";
  ASSERT_TRUE(service::LoadJsonlPaths(local, {path}, log).ok());
  EXPECT_EQ(Latest(), 1);
  ASSERT_TRUE(service::LoadJsonlPaths(local, {path}, log).ok());
  EXPECT_EQ(Latest(), 1) << "loading the same file again writes nothing";
}

}  // namespace
// Paths are spelled out only when an error names them; each nesting spells as the API does.
TEST(FieldPathTest, SpellsNestedFieldsIndexesAndMapKeys) {
  const service::FieldPath item("relations", 3);
  EXPECT_EQ(item.str(), "relations[3]");
  EXPECT_EQ(item.Field("sources").Index(0).Field("document_id").str(), "relations[3].sources[0].document_id");
  EXPECT_EQ(item.Field("qualifiers").Key("role").Field("text").str(), "relations[3].qualifiers[\"role\"].text");
  EXPECT_EQ(service::FieldPath("entity_id", -1).str(), "entity_id");
  EXPECT_EQ(item.Field("qualifiers").Key(std::string(100, 'k')).str(),
            "relations[3].qualifiers[\"" + std::string(64, 'k') + "\"]")
      << "a long key is cut at 64 bytes";

  v1::Entity entity;
  entity.set_id("e1");
  entity.set_label("E");
  entity.add_aliases("ok");
  entity.add_aliases("");
  service::FieldErrors errors;
  service::ValidateEntity(entity, service::FieldPath("entities", 7), &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "entities[7].aliases[1]");
}

}  // namespace annals
