// QueryService's graph queries: Traverse, FindPaths, Timeline, Aggregate, Conflicts.
// Validation and bounds here; the algorithms are in storage/graph_query.h and
// storage/relation_views.h.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "service/query_service.h"
#include "service/read_point.h"
#include "service/record_convert.h"
#include "service/relation_filter_parse.h"
#include "service/request_validation.h"
#include "storage/graph_query.h"
#include "storage/relation_views.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

// A count the caller may leave 0 (default) but not set beyond the server's cap.
absl::StatusOr<int> Bounded(std::string_view field, int32_t requested, int default_value, int cap) {
  if (requested < 0) return BadField(field, absl::StrCat("must not be negative"));
  if (requested > cap)
    return BadField(field, absl::StrCat("at most ", cap, " on this server"));
  return requested == 0 ? std::min(default_value, cap) : requested;
}

storage::QueryBudget BudgetOf(const QueryLimits& limits, grpc::CallbackServerContext* ctx) {
  storage::QueryBudget b;
  b.max_fan_out = limits.max_fan_out;
  b.max_results = limits.max_results;
  b.max_steps = limits.max_steps;
  b.deadline = std::min(absl::Now() + limits.default_deadline, absl::FromChrono(ctx->deadline()));
  return b;
}

// Every graph response ends the same way: the revision answered at, and where it stopped.
template <typename Response>
void Finish(const storage::Stop& stop, int64_t rev, Response* response) {
  response->set_revision(rev);
  response->set_truncated(stop.truncated);
  if (!stop.truncated) return;
  response->mutable_truncation()->set_bound(stop.bound);
  response->mutable_truncation()->set_hint(stop.hint);
}

storage::Period PeriodOf(v1::Granularity g) {
  switch (g) {
    case v1::MONTH: return storage::Period::kMonth;
    case v1::QUARTER: return storage::Period::kQuarter;
    default: return storage::Period::kYear;
  }
}

v1::Date DateOfDay(int64_t day) {
  const storage::CivilDay c = storage::CivilOf(day);
  v1::Date d;
  d.set_year(c.year);
  d.set_month(c.month);
  d.set_day(c.day);
  return d;
}

}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::Traverse(grpc::CallbackServerContext* ctx,
                                                     const v1::TraverseRequest* request,
                                                     v1::TraverseResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (request->start_ids().empty()) return BadField("start_ids", "at least one is required");
    if (request->start_ids_size() > kMaxPageSize)
      return BadField("start_ids", absl::StrCat("at most ", kMaxPageSize));
    for (int i = 0; i < request->start_ids_size(); ++i)
      RETURN_IF_ERROR(CheckId(absl::StrCat("start_ids[", i, "]"), request->start_ids(i)));
    ASSIGN_OR_RETURN(int depth, Bounded("max_depth", request->max_depth(), 2, limits_.max_depth));
    ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
    storage::QueryBudget budget = BudgetOf(limits_, ctx);
    ASSIGN_OR_RETURN(budget.max_fan_out, Bounded("max_fan_out", request->max_fan_out(), limits_.max_fan_out, limits_.max_fan_out));
    ASSIGN_OR_RETURN(budget.max_results, Bounded("max_results", request->max_results(), limits_.max_results, limits_.max_results));
    ASSIGN_OR_RETURN(storage::View view, ViewOf("view", request->view()));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    std::vector<std::string> starts(request->start_ids().begin(), request->start_ids().end());
    auto traversed = storage::Traverse(*store, rev, starts, depth, filter, budget, view);
    if (!traversed.ok()) return storage::RenameField(traversed.status(), "starts", "start_ids");
    storage::TraverseResult& found = *traversed;
    for (size_t i = 0; i < found.entities.size(); ++i) {
      ToApi(found.entities[i], response->add_entities());
      response->add_depths(found.depths[i]);
    }
    for (const auto& r : found.relations) ToApi(r, response->add_relations());
    for (const auto& id : found.frontier) response->add_frontier(id);
    Finish(found.stop, rev, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::FindPaths(grpc::CallbackServerContext* ctx,
                                                      const v1::FindPathsRequest* request,
                                                      v1::FindPathsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    RETURN_IF_ERROR(CheckId("source_id", request->source_id()));
    RETURN_IF_ERROR(CheckId("target_id", request->target_id()));
    if (request->source_id() == request->target_id())
      return BadField("target_id", "must differ from source_id");
    ASSIGN_OR_RETURN(int hops, Bounded("max_hops", request->max_hops(), 3, limits_.max_depth));
    ASSIGN_OR_RETURN(int k, Bounded("k", request->k(), 1, 100));
    ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    auto searched = storage::FindPaths(*store, rev, request->source_id(), request->target_id(), hops, filter,
                                       request->time_respecting(), k, BudgetOf(limits_, ctx));
    if (!searched.ok())
      return storage::RenameField(storage::RenameField(searched.status(), "source", "source_id"), "target", "target_id");
    storage::PathsResult& found = *searched;
    for (const auto& path : found.paths) {
      auto* p = response->add_paths();
      for (const auto& step : path) {
        auto* s = p->add_steps();
        *s->mutable_relation() = ToApi(step.relation);
        s->set_forward(step.forward);
        s->set_entity_id(step.entity_id);
        if (step.arrival != storage::kMinusInfinity) *s->mutable_earliest_arrival() = DateOfDay(step.arrival);
      }
    }
    Finish(found.stop, rev, response);
    return absl::OkStatus();
  });
}

namespace {

// The relations of an entity or a pair, for Timeline, Aggregate and Conflicts.
template <typename Request>
absl::StatusOr<storage::RelationSet> ScopedRelations(storage::Store& store, const Request& request,
                                                     const storage::RelationFilter& filter, int64_t rev,
                                                     const storage::QueryBudget& budget) {
  RETURN_IF_ERROR(CheckId("entity_id", request.entity_id()));
  return storage::RelationsOf(store, rev, filter, budget);
}

}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::Timeline(grpc::CallbackServerContext* ctx,
                                                     const v1::TimelineRequest* request,
                                                     v1::TimelineResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (!v1::Granularity_IsValid(request->granularity()))
      return BadField("granularity", "unknown value");
    storage::QueryBudget budget = BudgetOf(limits_, ctx);
    ASSIGN_OR_RETURN(budget.max_results, Bounded("max_results", request->max_results(), limits_.max_results, limits_.max_results));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
    ASSIGN_OR_RETURN(storage::RelationSet set, ScopedRelations(*store, *request, filter, rev, budget));
    std::set<std::string> documents;
    for (const auto& r : set.relations)
      for (const auto& s : r.sources()) documents.insert(s.document_id());
    for (auto& group : storage::GroupTimeline(std::move(set.relations), PeriodOf(request->granularity()))) {
      auto* g = response->add_groups();
      g->set_period(group.period);
      for (const auto& r : group.relations) *g->add_relations() = ToApi(r);
    }
    for (const auto& id : documents) {
      ASSIGN_OR_RETURN(auto doc, store->GetDocument(id, rev));
      if (doc) ToApi(*doc, response->add_documents());
    }
    Finish(set.stop, rev, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::Aggregate(grpc::CallbackServerContext* ctx,
                                                      const v1::AggregateRequest* request,
                                                      v1::AggregateResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    if (!v1::Granularity_IsValid(request->period())) return BadField("period", "unknown value");
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
    ASSIGN_OR_RETURN(storage::RelationSet set, ScopedRelations(*store, *request, filter, rev, BudgetOf(limits_, ctx)));
    storage::AggregateResult agg =
        storage::AggregateRelations(set.relations, PeriodOf(request->period()), request->group_by_predicate());
    for (const auto& b : agg.buckets) {
      auto* out = response->add_buckets();
      out->set_period(b.period);
      out->set_predicate(b.predicate);
      out->set_count(b.count);
      out->set_possible_count(b.possible_count);
      for (const auto& s : b.sums) {
        auto* sum = out->add_sums();
        sum->set_unit(s.unit);
        sum->set_amount(s.amount);
        sum->set_possible_amount(s.possible_amount);
      }
    }
    response->set_unplaced_count(agg.unplaced);
    Finish(set.stop, rev, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::Conflicts(grpc::CallbackServerContext* ctx,
                                                      const v1::ConflictsRequest* request,
                                                      v1::ConflictsResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Store * store, slot_->Get());
    const bool by_document = !request->document_id().empty();
    if (by_document == !request->entity_id().empty())
      return BadField("entity_id", "give entity_id (and other_id for a pair) or document_id");
    if (by_document && !request->other_id().empty())
      return BadField("other_id", "goes with entity_id, not document_id");
    ASSIGN_OR_RETURN(int max_groups, Bounded("max_groups", request->max_groups(), 100, 1000));
    ASSIGN_OR_RETURN(int64_t rev, ReadRevision(*slot_, *ctx, request->consistency(), request->as_of_revision()));
    const storage::QueryBudget budget = BudgetOf(limits_, ctx);
    storage::RelationSet set;
    if (by_document) {
      // The document's claims, and every claim on the same subject-predicate-object.
      RETURN_IF_ERROR(CheckId("document_id", request->document_id()));
      ASSIGN_OR_RETURN(storage::RelationFilter cites, RelationFilterOf(*request));
      ASSIGN_OR_RETURN(storage::RelationPage page, store->FindRelations(cites, rev, "", budget.max_results));
      if (!page.next_cursor.empty()) set.stop = {true, "max_results", "the document cites more claims than max_results"};
      std::set<std::string> seen;
      for (const auto& hit : page.hits) {
        const storage::RelationRecord& r = hit.relation;
        storage::RelationFilter same;  // the same subject-predicate-object
        same.entity_id = r.subject();
        same.incoming = false;
        same.predicates = {r.predicate()};
        same.other_id = r.object_id();
        same.statuses = cites.statuses;
        ASSIGN_OR_RETURN(storage::RelationPage peers, store->FindRelations(same, rev, "", 1000));
        for (auto& p : peers.hits)
          if (seen.insert(p.relation.id()).second) set.relations.push_back(std::move(p.relation));
      }
    } else {
      ASSIGN_OR_RETURN(storage::RelationFilter filter, RelationFilterOf(*request));
      ASSIGN_OR_RETURN(set, ScopedRelations(*store, *request, filter, rev, budget));
    }
    std::vector<storage::ConflictGroupResult> groups = storage::FindConflicts(set.relations);
    if (by_document)  // only the groups the document takes part in
      std::erase_if(groups, [&](const storage::ConflictGroupResult& g) {
        return std::none_of(g.claims.begin(), g.claims.end(), [&](const storage::RelationRecord& r) {
          return std::any_of(r.sources().begin(), r.sources().end(),
                             [&](const storage::Source& s) { return s.document_id() == request->document_id(); });
        });
      });
    if (static_cast<int>(groups.size()) > max_groups) {
      groups.resize(max_groups);
      set.stop = {true, "max_groups", "raise max_groups or narrow the scope"};
    }
    for (const auto& g : groups) {
      auto* out = response->add_groups();
      out->set_subject(g.subject);
      out->set_predicate(g.predicate);
      out->set_object(g.object);
      out->set_reason(g.reason);
      for (const auto& c : g.claims) *out->add_claims() = ToApi(c);
    }
    Finish(set.stop, rev, response);
    return absl::OkStatus();
  });
}

}  // namespace annals::service
