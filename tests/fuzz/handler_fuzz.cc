// libFuzzer: request handling in-process against a temporary database (built with
// -DANNALS_FUZZ_HANDLERS=ON). The first byte picks a request type; the rest is decoded as
// that protobuf message and served the way its handler serves it:
//   PutRelations, UpsertEntities, PutDocuments, Ingest   -> CommitItems (service/write_path.h),
//                                                           the whole write path of the RPCs
//   RetractRelation                                      -> its checks, then Store::Commit
//   ListRelations                                        -> the handler's validation and page
//                                                           token, then Store::ListRelations
//   GetHistory (relation)                                -> page size, token, Store::History
// Invariants: nothing crashes; errors are request errors (never INTERNAL, DATA_LOSS or
// UNKNOWN); INVALID_ARGUMENT names a field; a failed write leaves the revision unchanged;
// every few hundred commits storage/verify.h finds the database consistent.
#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "annals/v1/diff.pb.h"
#include "annals/v1/ingest.pb.h"
#include "annals/v1/query.pb.h"
#include "service/page_token.h"
#include "service/record_convert.h"
#include "service/relation_filter_parse.h"
#include "service/request_validation.h"
#include "service/write_path.h"
#include "storage/store.h"
#include "storage/verify.h"

namespace {

using namespace annals;

std::string db_path;
std::unique_ptr<storage::Store> store;
int commits = 0;
int verifications = 0;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    fprintf(stderr, "handler_fuzz: invariant broken: %s\n", what.c_str());
    abort();
  }
}

void CheckError(const absl::Status& s, const char* rpc) {
  if (s.ok()) return;
  const auto code = s.code();
  Check(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
            code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kAlreadyExists ||
            code == absl::StatusCode::kOutOfRange,
        std::string(rpc) + ": not a request error: " + s.ToString());
  if (code == absl::StatusCode::kInvalidArgument) {
    const std::string msg(s.message());
    const size_t colon = msg.find(": ");
    Check(colon != std::string::npos && colon > 0, std::string(rpc) + ": INVALID_ARGUMENT names no field: " + msg);
  }
}

void AfterCommit() {
  if (++commits % 300 != 0) return;
  auto report = storage::VerifyDatabase(db_path);
  Check(report.ok(), "verify could not read the database: " + report.status().ToString());
  Check(report->ok(), "verify found problems:\n" + report->Summary());
  ++verifications;
}

template <typename Request>
bool Decode(FuzzedDataProvider& in, Request* request) {
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  return request->ParseFromString(bytes);
}

void Write(const google::protobuf::Message& request, const std::string& request_id,
           const service::Items<v1::Entity>& entities, const service::Items<v1::Document>& documents,
           const service::Items<v1::Relation>& relations, const char* rpc) {
  if (entities.empty() && documents.empty() && relations.empty()) return;  // RequireItems
  const int64_t before = store->LatestRevision();
  cluster::LocalCommitter local(store.get());
  service::WriteOutcome w = service::CommitItems(local, request, request_id, entities, documents, relations);
  CheckError(w.status, rpc);
  if (!w.status.ok()) {
    Check(store->LatestRevision() == before, std::string(rpc) + ": a failed write moved the revision");
    return;
  }
  // A replayed request_id answers with its first commit's (older) revision.
  if (!w.result.replayed) Check(w.result.revision >= before, "a write went back in time");
  if (w.result.written_count() > 0 && !w.result.replayed) {
    Check(w.result.revision == before + 1, "a write took more than one revision");
    AfterCommit();
  }
}

void List(const v1::ListRelationsRequest& request) {
  auto run = [&]() -> absl::Status {
    auto parsed = service::RelationFilterOf(request);
    if (!parsed.ok()) return parsed.status();
    const storage::RelationFilter& filter = *parsed;
    auto size = service::PageSize("page_size", request.page_size(), 100);
    if (!size.ok()) return size.status();
    service::PageToken page;
    if (!request.page_token().empty()) {
      auto token = service::DecodePageToken(request.page_token(),
                                            service::Fingerprint(request, {"page_token", "page_size"}));
      if (!token.ok()) return token.status();
      page = *token;
      if (auto r = store->ResolveRevision(page.revision); !r.ok()) return r.status();
    } else {
      auto rev = store->ResolveRevision(request.as_of_revision());
      if (!rev.ok()) return rev.status();
      page.revision = *rev;
    }
    auto found = store->FindRelations(filter, page.revision, page.cursor, *size);
    if (!found.ok()) return found.status();
    Check(static_cast<int>(found->hits.size()) <= *size, "a page larger than its size");
    for (const auto& hit : found->hits) {
      const storage::RelationRecord& r = hit.relation;
      Check(!r.retracted(), "a listing shows a retracted relation");
      Check(r.revision() <= page.revision, "a listing shows the future");
      if (!request.subject().empty()) Check(r.subject() == request.subject(), "a listing ignores its subject");
      if (!request.predicate().empty()) Check(r.predicate() == request.predicate(), "a listing ignores its predicate");
      Check(storage::Matches(filter, r), "a listing shows a relation its filter does not pass");
    }
    return absl::OkStatus();
  };
  CheckError(run(), "ListRelations");
}

void History(const v1::GetHistoryRequest& request) {
  auto run = [&]() -> absl::Status {
    if (auto s = service::CheckId("relation_id", request.relation_id()); !s.ok()) return s;
    auto size = service::PageSize("page_size", request.page_size(), 100);
    if (!size.ok()) return size.status();
    int64_t after = 0;
    if (!request.page_token().empty()) {
      auto token = service::DecodePageToken(request.page_token(),
                                            service::Fingerprint(request, {"page_token", "page_size"}));
      if (!token.ok()) return token.status();
      after = token->revision;
    }
    auto page = store->History<storage::RelationRecord>(request.relation_id(), after, *size);
    if (!page.ok()) return page.status();
    int64_t last = after;
    for (const auto& v : page->versions) {
      Check(v.revision() > last, "history out of order");
      last = v.revision();
    }
    return absl::OkStatus();
  };
  CheckError(run(), "GetHistory");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in fuzzed strings is expected
  char pattern[] = "/tmp/annals-handler-fuzz-XXXXXX";
  db_path = std::string(mkdtemp(pattern)) + "/db";
  auto opened = storage::Store::Open(db_path, storage::StoreOptions{});
  Check(opened.ok(), "cannot open the database");
  store = std::move(*opened);
  // Entities and a document the fuzzed relations can name.
  storage::WriteSet seed;
  for (const char* id : {"a", "b", "c", "pakistan", "russia"}) {
    storage::EntityRecord e;
    e.set_id(id);
    e.set_label(std::string("Entity ") + id);
    seed.entities.push_back(e);
  }
  storage::DocumentRecord d;
  d.set_id("d");
  seed.documents.push_back(d);
  Check(store->Commit(seed).ok(), "cannot seed the database");
  std::atexit([] {
    fprintf(stderr, "handler_fuzz: %d commits, %d verify passes, revision %lld\n", commits, verifications,
            static_cast<long long>(store->LatestRevision()));
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(db_path).parent_path(), ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: {
      v1::PutRelationsRequest r;
      if (Decode(in, &r)) Write(r, r.request_id(), {}, {}, r.relations(), "PutRelations");
      break;
    }
    case 1: {
      v1::UpsertEntitiesRequest r;
      if (Decode(in, &r)) Write(r, r.request_id(), r.entities(), {}, {}, "UpsertEntities");
      break;
    }
    case 2: {
      v1::PutDocumentsRequest r;
      if (Decode(in, &r)) Write(r, r.request_id(), {}, r.documents(), {}, "PutDocuments");
      break;
    }
    case 3: {
      v1::IngestRequest r;
      if (Decode(in, &r)) Write(r, r.request_id(), r.entities(), r.documents(), r.relations(), "Ingest");
      break;
    }
    case 4: {
      v1::RetractRelationRequest r;
      if (!Decode(in, &r)) break;
      absl::Status s = service::CheckId("id", r.id());
      if (s.ok()) s = service::CheckRequestId(r.request_id());
      if (s.ok() && r.reason().size() > service::kMaxTextBytes) s = absl::InvalidArgumentError("reason: too long");
      if (s.ok()) {
        storage::WriteSet batch;
        batch.retractions.push_back({r.id(), r.reason()});
        batch.request_id = r.request_id();
        if (!batch.request_id.empty()) batch.fingerprint = service::Fingerprint(r, {"request_id"});
        const int64_t before = store->LatestRevision();
        auto result = store->Commit(batch);
        s = result.status();
        if (result.ok() && result->written_count() > 0 && !result->replayed) AfterCommit();
        if (!s.ok()) Check(store->LatestRevision() == before, "a failed retraction moved the revision");
      }
      CheckError(s, "RetractRelation");
      break;
    }
    case 5: {
      v1::ListRelationsRequest r;
      if (Decode(in, &r)) List(r);
      break;
    }
    case 6: {
      v1::GetHistoryRequest r;
      if (Decode(in, &r)) History(r);
      break;
    }
  }
  return 0;
}
