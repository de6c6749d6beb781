#include "storage/graph_query.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "storage/status_macros.h"

namespace annals::storage {
namespace {

// One relation seen from one of its entities.
struct Edge {
  std::shared_ptr<const RelationRecord> relation;
  std::string other;  // the entity at the far end
  bool forward;       // the near entity is the subject
  int64_t s_lo, e_hi;
};

// The relations at each entity, loaded once per query, in relation-id order.
class Adjacency {
 public:
  Adjacency(Store& store, int64_t rev, const RelationFilter& filter, int fan_out, View view = View::kFull)
      : store_(store), rev_(rev), filter_(filter), fan_out_(fan_out), view_(view) {}

  // The edges at `entity` that the filter allows to walk away from it.
  absl::StatusOr<const std::vector<Edge>*> From(const std::string& entity) {
    ASSIGN_OR_RETURN(const auto* all, All(entity));
    auto& cached = from_[entity];
    if (!cached) {
      cached = std::make_unique<std::vector<Edge>>();
      for (const Edge& e : *all)
        if ((e.forward && filter_.outgoing) || (!e.forward && filter_.incoming)) cached->push_back(e);
    }
    return cached.get();
  }
  // The edges at `entity` along which a walk may arrive at it (from Edge::other).
  absl::StatusOr<const std::vector<Edge>*> Into(const std::string& entity) {
    ASSIGN_OR_RETURN(const auto* all, All(entity));
    auto& cached = into_[entity];
    if (!cached) {
      cached = std::make_unique<std::vector<Edge>>();
      // Arriving at `entity` as the object means walking forward from the subject.
      for (const Edge& e : *all)
        if ((!e.forward && filter_.outgoing) || (e.forward && filter_.incoming)) cached->push_back(e);
    }
    return cached.get();
  }
  bool truncated_somewhere() const { return !truncated_at_.empty(); }
  const std::string& first_truncated() const { return truncated_at_.front(); }
  bool truncated(const std::string& entity) const {
    return std::find(truncated_at_.begin(), truncated_at_.end(), entity) != truncated_at_.end();
  }
  int64_t loaded() const { return loaded_; }

 private:
  absl::StatusOr<const std::vector<Edge>*> All(const std::string& entity) {
    auto& cached = all_[entity];
    if (cached) return cached.get();
    RelationFilter at = filter_;
    at.entity_id = entity;
    at.outgoing = at.incoming = true;  // both, so Into() can use them too
    ASSIGN_OR_RETURN(RelationPage page, store_.FindRelations(at, rev_, "", fan_out_, view_));
    if (!page.next_cursor.empty()) truncated_at_.push_back(entity);
    cached = std::make_unique<std::vector<Edge>>();
    for (auto& hit : page.hits) {
      if (hit.relation.object_case() != RelationRecord::kObjectId) continue;  // literal: no entity there
      auto bounds = BoundsOf(hit.relation.valid());
      if (!bounds.ok()) continue;
      Edge e;
      e.forward = hit.outgoing;
      e.other = hit.outgoing ? hit.relation.object_id() : hit.relation.subject();
      e.s_lo = bounds->s_lo;
      e.e_hi = bounds->e_hi;
      e.relation = std::make_shared<const RelationRecord>(std::move(hit.relation));
      cached->push_back(std::move(e));
    }
    std::sort(cached->begin(), cached->end(), [](const Edge& a, const Edge& b) {
      return std::tie(a.relation->id(), a.forward) < std::tie(b.relation->id(), b.forward);
    });
    loaded_ += static_cast<int64_t>(cached->size());
    return cached.get();
  }

  Store& store_;
  int64_t rev_;
  RelationFilter filter_;
  int fan_out_;
  View view_;
  absl::flat_hash_map<std::string, std::unique_ptr<std::vector<Edge>>> all_, from_, into_;
  std::vector<std::string> truncated_at_;
  int64_t loaded_ = 0;
};

// `field` names the argument of the storage call ("starts[2]", "source").
absl::Status RequireEntity(Store& store, const std::string& id, int64_t rev, const std::string& field) {
  ASSIGN_OR_RETURN(auto e, store.GetEntity(id, rev));
  if (!e)
    return FieldFailure(absl::StatusCode::kNotFound, field,
                        absl::StrCat("entity '", id, "' does not exist at revision ", rev));
  return absl::OkStatus();
}

void StopAt(Stop* stop, std::string bound, std::string hint) {
  if (stop->truncated) return;
  stop->truncated = true;
  stop->bound = std::move(bound);
  stop->hint = std::move(hint);
}

}  // namespace

absl::StatusOr<TraverseResult> Traverse(Store& store, int64_t rev, const std::vector<std::string>& starts,
                                        int max_depth, const RelationFilter& filter, const QueryBudget& budget,
                                        View view) {
  TraverseResult out;
  Adjacency adjacency(store, rev, filter, budget.max_fan_out, view);
  absl::flat_hash_map<std::string, int> depth_of;
  absl::flat_hash_set<std::string> relations_seen;
  std::deque<std::string> queue;
  auto full = [&] {
    return static_cast<int>(out.entities.size() + out.relations.size()) >= budget.max_results;
  };
  for (size_t i = 0; i < starts.size(); ++i) {
    const std::string& id = starts[i];
    if (depth_of.contains(id)) continue;
    RETURN_IF_ERROR(RequireEntity(store, id, rev, absl::StrCat("starts[", i, "]")));
    depth_of[id] = 0;
    queue.push_back(id);
  }
  auto add_entity = [&](const std::string& id, int depth) -> absl::Status {
    ASSIGN_OR_RETURN(auto e, store.GetEntity(id, rev));
    if (e) {
      out.entities.push_back(std::move(*e));
      out.depths.push_back(depth);
    }
    return absl::OkStatus();
  };
  for (const auto& id : queue) RETURN_IF_ERROR(add_entity(id, 0));
  while (!queue.empty()) {
    const std::string id = queue.front();
    const int depth = depth_of[id];
    if (depth >= max_depth) {
      queue.pop_front();
      continue;
    }
    if (absl::Now() > budget.deadline) {
      StopAt(&out.stop, "deadline", "traverse again from the frontier with start_ids, or narrow the query");
      break;
    }
    if (full()) {
      StopAt(&out.stop, "max_results", "traverse again from the frontier with start_ids and the remaining depth");
      break;
    }
    queue.pop_front();
    ASSIGN_OR_RETURN(const auto* edges, adjacency.From(id));
    if (adjacency.truncated(id))
      StopAt(&out.stop, "max_fan_out",
             absl::StrCat("'", id, "' has more relations than max_fan_out; raise it or narrow predicates/window"));
    bool stopped_here = false;
    for (const Edge& e : *edges) {
      if (full()) {
        StopAt(&out.stop, "max_results", "traverse again from the frontier with start_ids and the remaining depth");
        out.frontier.push_back(id);
        stopped_here = true;
        break;
      }
      if (relations_seen.insert(e.relation->id()).second) out.relations.push_back(*e.relation);
      if (!depth_of.contains(e.other)) {
        depth_of[e.other] = depth + 1;
        queue.push_back(e.other);
        RETURN_IF_ERROR(add_entity(e.other, depth + 1));
      }
    }
    if (stopped_here) break;
  }
  for (const auto& id : queue)
    if (depth_of[id] < max_depth) out.frontier.push_back(id);
  return out;
}

absl::StatusOr<PathsResult> FindPaths(Store& store, int64_t rev, const std::string& source,
                                      const std::string& target, int max_hops, const RelationFilter& filter,
                                      bool time_respecting, int k, const QueryBudget& budget) {
  RETURN_IF_ERROR(RequireEntity(store, source, rev, "source"));
  RETURN_IF_ERROR(RequireEntity(store, target, rev, "target"));
  PathsResult out;
  Adjacency adjacency(store, rev, filter, budget.max_fan_out);
  auto s_lo = [&](const Edge& e) { return time_respecting ? e.s_lo : kMinusInfinity; };
  auto e_hi = [&](const Edge& e) { return time_respecting ? e.e_hi : kPlusInfinity; };

  // Backward pass: latest[r][v] = the latest arrival day at v from which the target can be
  // reached in at most r more hops (kMinusInfinity: it cannot). Walking edge e from v to u
  // with arrival a needs e_hi >= a and max(a, s_lo) <= latest[r-1][u], so the best a is
  // min(e_hi, latest[r-1][u]) provided s_lo <= latest[r-1][u].
  std::vector<absl::flat_hash_map<std::string, int64_t>> latest(max_hops + 1);
  latest[0][target] = kPlusInfinity;
  int64_t steps = 0;
  for (int r = 1; r <= max_hops; ++r) {
    latest[r] = latest[r - 1];
    for (const auto& [u, bound] : latest[r - 1]) {
      if (r > 1 && u == source) continue;  // paths do not pass through the source
      ASSIGN_OR_RETURN(const auto* into, adjacency.Into(u));
      for (const Edge& e : *into) {
        if (++steps > budget.max_steps || (steps % 1024 == 0 && absl::Now() > budget.deadline)) {
          StopAt(&out.stop, steps > budget.max_steps ? "max_steps" : "deadline",
                 "lower max_hops, or narrow predicates/window");
          return out;
        }
        if (e.other == target) continue;  // paths end at the target
        if (s_lo(e) > bound) continue;
        const int64_t a = std::min(e_hi(e), bound);
        auto [it, inserted] = latest[r].try_emplace(e.other, a);
        if (!inserted && it->second < a) it->second = a;
      }
    }
  }
  auto reachable = [&](const std::string& v, int hops_left, int64_t arrival) {
    auto it = latest[hops_left].find(v);
    return it != latest[hops_left].end() && it->second >= arrival;
  };

  // Forward pass: iterative deepening over the length, depth-first within one length,
  // edges in relation-id order, so results are deterministic.
  PathResult path;
  absl::flat_hash_set<std::string> on_path = {source};
  std::function<absl::Status(const std::string&, int64_t, int, int)> walk =
      [&](const std::string& v, int64_t arrival, int depth, int length) -> absl::Status {
    if (static_cast<int>(out.paths.size()) >= k || out.stop.truncated) return absl::OkStatus();
    ASSIGN_OR_RETURN(const auto* from, adjacency.From(v));
    for (const Edge& e : *from) {
      if (++steps > budget.max_steps || (steps % 1024 == 0 && absl::Now() > budget.deadline)) {
        StopAt(&out.stop, steps > budget.max_steps ? "max_steps" : "deadline",
               "lower max_hops or k, or narrow predicates/window");
        return absl::OkStatus();
      }
      if (on_path.contains(e.other)) continue;
      if (e_hi(e) < arrival) continue;  // it was over before we could get here
      const int64_t next = std::max(arrival, s_lo(e));
      const int left = length - depth - 1;
      if (left == 0 ? e.other != target : (e.other == target || !reachable(e.other, left, next))) continue;
      path.push_back({*e.relation, e.forward, e.other, time_respecting ? next : kMinusInfinity});
      if (left == 0) {
        out.paths.push_back(path);
      } else {
        on_path.insert(e.other);
        RETURN_IF_ERROR(walk(e.other, next, depth + 1, length));
        on_path.erase(e.other);
      }
      path.pop_back();
      if (static_cast<int>(out.paths.size()) >= k || out.stop.truncated) return absl::OkStatus();
    }
    return absl::OkStatus();
  };
  for (int length = 1; length <= max_hops && static_cast<int>(out.paths.size()) < k && !out.stop.truncated; ++length)
    if (reachable(source, length, kMinusInfinity)) RETURN_IF_ERROR(walk(source, kMinusInfinity, 0, length));
  if (!out.stop.truncated && adjacency.truncated_somewhere())
    StopAt(&out.stop, "max_fan_out",
           absl::StrCat("'", adjacency.first_truncated(),
                        "' has more relations than max_fan_out, so paths through them may be missing"));
  return out;
}

}  // namespace annals::storage
