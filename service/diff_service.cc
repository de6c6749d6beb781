#include "service/diff_service.h"

#include <map>
#include <optional>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "service/page_token.h"
#include "service/read_point.h"
#include "service/record_convert.h"
#include "service/request_validation.h"
#include "service/write_path.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

// A stream that ends at once with an error.
class RefusedStream final : public grpc::ServerWriteReactor<v1::Change> {
 public:
  explicit RefusedStream(const absl::Status& s) { Finish(ToGrpc(s)); }
  void OnDone() override { delete this; }
};

// The relations of a scope holding in a window at `rev`, by id; `truncated` when the
// scope had more than `cap`.
absl::StatusOr<std::map<std::string, storage::RelationRecord>> HoldingIn(
    storage::Store& store, const ScopeFilter& scope, const storage::DayWindow& window,
    const std::vector<int>& statuses, int64_t rev, int cap, bool* truncated) {
  storage::RelationFilter filter = scope.relations;
  filter.statuses = statuses;
  filter.window = window;
  ASSIGN_OR_RETURN(storage::RelationPage page, store.FindRelations(filter, rev, "", cap));
  *truncated = *truncated || !page.next_cursor.empty();
  std::map<std::string, storage::RelationRecord> out;
  for (auto& hit : page.hits) out.emplace(hit.relation.id(), std::move(hit.relation));  // a self-relation comes twice
  return out;
}

storage::DayWindow DateWindow(const v1::Date& date, v1::WindowMode mode) {
  const storage::Date d = ToRecord(date);
  return {storage::FirstDay(d), storage::LastDay(d),
          mode == v1::CERTAINLY ? storage::Certainty::kCertainly : storage::Certainty::kPossibly};
}

}  // namespace

grpc::ServerWriteReactor<v1::Change>* DiffServiceImpl::DiffRevisions(grpc::CallbackServerContext* ctx,
                                                                     const v1::DiffRevisionsRequest* request) {
  auto stream = [&]() -> absl::StatusOr<ChangeStream*> {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (request->from_revision() < 0) return BadField("from_revision", "must not be negative");
    if (request->to_revision() < 0) return BadField("to_revision", "must not be negative");
    RETURN_IF_ERROR(AwaitConsistency(*slot_, *ctx, request->consistency()));
    RETURN_IF_ERROR(AwaitRevision(*slot_, *ctx, request->to_revision(), "to_revision"));
    const int64_t latest = store->LatestRevision();
    const int64_t to = request->to_revision() == 0 ? latest : request->to_revision();
    if (to > latest)
      return OutOfRangeField("to_revision", absl::StrCat("", to, " is after the latest revision ", latest));
    if (request->from_revision() > to)
      return BadField("from_revision", absl::StrCat("", request->from_revision(),
                                                     " is after to_revision ", to));
    RETURN_IF_ERROR(storage::UnderField("from_revision", store->CheckChangesAvailable(request->from_revision())));
    ASSIGN_OR_RETURN(ScopeFilter scope, ScopeOf(request->scope()));
    return new ChangeStream(store, std::move(scope), {request->from_revision() + 1, 0}, to, nullptr, 0);
  }();
  if (!stream.ok()) return new RefusedStream(stream.status());
  (*stream)->Pump();
  return *stream;
}

grpc::ServerWriteReactor<v1::Change>* DiffServiceImpl::Watch(grpc::CallbackServerContext* ctx,
                                                             const v1::WatchRequest* request) {
  auto stream = [&]() -> absl::StatusOr<ChangeStream*> {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (!hub_->accepting()) return absl::UnavailableError("the server is shutting down; retry elsewhere or later");
    if (request->from_revision() < 0) return BadField("from_revision", "must not be negative");
    RETURN_IF_ERROR(AwaitConsistency(*slot_, *ctx, request->consistency()));
    FeedPosition start;
    if (!request->resume_token().empty()) {
      if (request->from_revision() != 0)
        return BadField("from_revision", "give either from_revision or resume_token");
      ASSIGN_OR_RETURN(start, PositionAfterToken(request->resume_token()));
      RETURN_IF_ERROR(AwaitRevision(*slot_, *ctx, start.revision, "resume_token"));
      if (start.revision > store->LatestRevision())
        return OutOfRangeField("resume_token", "points after the latest revision");
    } else {
      RETURN_IF_ERROR(AwaitRevision(*slot_, *ctx, request->from_revision(), "from_revision"));
      if (request->from_revision() > store->LatestRevision())
        return OutOfRangeField("from_revision", absl::StrCat("", request->from_revision(),
                                                  " is after the latest revision ", store->LatestRevision()));
      start = {request->from_revision() + 1, 0};
    }
    RETURN_IF_ERROR(storage::UnderField("from_revision", store->CheckChangesAvailable(start.revision - 1)));
    ASSIGN_OR_RETURN(ScopeFilter scope, ScopeOf(request->scope()));
    return new ChangeStream(store, std::move(scope), start, -1, hub_, limits_.watch_max_lag);
  }();
  if (!stream.ok()) return new RefusedStream(stream.status());
  (*stream)->Pump();
  return *stream;
}

grpc::ServerUnaryReactor* DiffServiceImpl::DiffValidTimes(grpc::CallbackServerContext* ctx,
                                                          const v1::DiffValidTimesRequest* request,
                                                          v1::DiffValidTimesResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    for (auto [field, date] : {std::pair{"at_a", &request->at_a()}, std::pair{"at_b", &request->at_b()}}) {
      if (!storage::IsSet(ToRecord(*date))) return BadField(field, "is required");
      if (auto s = storage::ValidateDate(ToRecord(*date)); !s.ok()) return storage::UnderField(field, s);
    }
    if (!v1::WindowMode_IsValid(request->mode()))
      return BadField("mode", absl::StrCat("unknown value ", static_cast<int>(request->mode())));
    ASSIGN_OR_RETURN(ScopeFilter scope, ScopeOf(request->scope()));
    ASSIGN_OR_RETURN(std::vector<int> statuses, StatusFilter("statuses", request->statuses()));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    bool truncated = false;
    ASSIGN_OR_RETURN(auto at_a, HoldingIn(*store, scope, DateWindow(request->at_a(), request->mode()), statuses, rev,
                                          limits_.max_diff_relations, &truncated));
    ASSIGN_OR_RETURN(auto at_b, HoldingIn(*store, scope, DateWindow(request->at_b(), request->mode()), statuses, rev,
                                          limits_.max_diff_relations, &truncated));
    for (const auto& [id, r] : at_b) {
      if (!at_a.contains(id))
        *response->add_began() = ToApi(r);
      else if (request->include_continued())
        *response->add_continued() = ToApi(r);
    }
    for (const auto& [id, r] : at_a)
      if (!at_b.contains(id)) *response->add_ended() = ToApi(r);
    response->set_revision(rev);
    response->set_truncated(truncated);
    ctx->AddTrailingMetadata(kRevisionTrailer, std::to_string(rev));
    return absl::OkStatus();
  });
}

namespace {

// Fills `response` with one page of a record's versions, oldest first.
template <typename Record, typename SetRecord>
absl::Status HistoryPageOf(const StoreSlot& slot, const grpc::CallbackServerContext& ctx, storage::Store& store,
                           const v1::GetHistoryRequest& request, const std::string& id, SetRecord set_record,
                           v1::GetHistoryResponse* response) {
  ASSIGN_OR_RETURN(int size, PageSize("page_size", request.page_size(), 100));
  const std::string digest = Fingerprint(request, {"page_token", "page_size", "consistency"});
  int64_t after = 0;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(PageToken token, DecodePageToken(request.page_token(), digest));
    after = token.revision;
    // The token was made by a replica that had applied `after`: so must this one be.
    RETURN_IF_ERROR(AwaitRevision(slot, ctx, after, "page_token"));
  }
  ASSIGN_OR_RETURN(storage::HistoryPage<Record> page, store.template History<Record>(id, after, size));
  if (page.versions.empty() && after == 0) return absl::NotFoundError(absl::StrCat("'", id, "' has no history"));
  // The version before each one (null: none), which says what kind of change it was: after
  // a retraction or a tombstone the next version starts the record again; after a merge the
  // next is an unmerge. On a later page the page's first follows the version at `after`,
  // the previous page's last.
  std::optional<Record> before_page;
  if (after > 0) {
    ASSIGN_OR_RETURN(storage::HistoryPage<Record> before, store.template History<Record>(id, after - 1, 1));
    if (!before.versions.empty() && before.versions.front().revision() == after)
      before_page = std::move(before.versions.front());
  }
  for (size_t i = 0; i < page.versions.size(); ++i) {
    const Record& rec = page.versions[i];
    auto* v = response->add_versions();
    v->set_revision(rec.revision());
    *v->mutable_recorded_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(rec.recorded_at_micros());
    const Record* previous = i > 0 ? &page.versions[i - 1] : before_page ? &*before_page : nullptr;
    v->set_kind(set_record(rec, v, previous));
  }
  if (page.more) response->set_next_page_token(EncodePageToken({page.versions.back().revision(), ""}, digest));
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* DiffServiceImpl::GetHistory(grpc::CallbackServerContext* ctx,
                                                      const v1::GetHistoryRequest* request,
                                                      v1::GetHistoryResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(AwaitConsistency(*slot_, *ctx, request->consistency()));
    switch (request->target_case()) {
      case v1::GetHistoryRequest::kEntityId:
        RETURN_IF_ERROR(CheckId("entity_id", request->entity_id()));
        return HistoryPageOf<storage::EntityRecord>(
            *slot_, *ctx, *store, *request, request->entity_id(),
            [](const storage::EntityRecord& r, v1::Version* v, const storage::EntityRecord* previous) {
              *v->mutable_entity() = ToApi(r);
              if (r.deleted()) return v1::ENTITY_DELETED;
              if (!r.merged_into().empty()) return v1::ENTITY_MERGED;  // only a merge writes it
              if (previous != nullptr && !previous->merged_into().empty()) return v1::ENTITY_UNMERGED;
              return previous == nullptr || previous->deleted() ? v1::ENTITY_CREATED : v1::ENTITY_CHANGED;
            },
            response);
      case v1::GetHistoryRequest::kDocumentId:
        RETURN_IF_ERROR(CheckId("document_id", request->document_id()));
        return HistoryPageOf<storage::DocumentRecord>(
            *slot_, *ctx, *store, *request, request->document_id(),
            [](const storage::DocumentRecord& r, v1::Version* v, const storage::DocumentRecord* previous) {
              *v->mutable_document() = ToApi(r);
              if (r.deleted()) return v1::DOCUMENT_DELETED;
              return previous == nullptr || previous->deleted() ? v1::DOCUMENT_ADDED : v1::DOCUMENT_CHANGED;
            },
            response);
      case v1::GetHistoryRequest::kRelationId:
        RETURN_IF_ERROR(CheckId("relation_id", request->relation_id()));
        return HistoryPageOf<storage::RelationRecord>(
            *slot_, *ctx, *store, *request, request->relation_id(),
            [](const storage::RelationRecord& r, v1::Version* v, const storage::RelationRecord* previous) {
              *v->mutable_relation() = ToApi(r);
              if (r.retracted()) return v1::RELATION_RETRACTED;
              return previous == nullptr || previous->retracted() ? v1::RELATION_ADDED : v1::RELATION_CHANGED;
            },
            response);
      case v1::GetHistoryRequest::TARGET_NOT_SET: break;
    }
    return BadField("entity_id", "give entity_id, relation_id or document_id");
  });
}

}  // namespace annals::service
