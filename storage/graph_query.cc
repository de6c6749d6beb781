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

// The relations at each entity as their index entries hold them (BASIC), loaded once per
// query, in relation-id order. FindPaths comes back to entities (from both balls), so it
// keeps them.
class Adjacency {
 public:
  Adjacency(Store& store, int64_t rev, const RelationFilter& filter, int fan_out)
      : store_(store), rev_(rev), filter_(filter), fan_out_(fan_out) {}

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
    ASSIGN_OR_RETURN(RelationPage page, store_.FindRelations(at, rev_, "", fan_out_, View::kBasic));
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
  // Each relation is moved into the answer once, from the first expanded entity that reads
  // it (one between two expanded entities is read at both); no adjacency is kept (a walk
  // never comes back to an entity it expanded). Relations come in each entity's scan order
  // (relation_filter.h, PlanScans: outgoing, then incoming). The relation
  // records built, copied and destroyed on the way through a shared adjacency were most
  // of a busiest-entity traversal's CPU (profiled: bench/README.md, "fifth look").
  TraverseResult out;
  absl::flat_hash_map<std::string, int> depth_of;
  absl::flat_hash_set<std::string> relations_seen;
  std::deque<std::string> queue;
  // Entities reached, in order; their records are read together at the end (one
  // iterator for all: storage/store.h, GetEntities), each once.
  std::vector<std::string> reached;
  auto full = [&] {
    return static_cast<int>(reached.size() + out.relations.size()) >= budget.max_results;
  };
  for (size_t i = 0; i < starts.size(); ++i) {
    RETURN_IF_ERROR(RequireEntity(store, starts[i], rev, absl::StrCat("starts[", i, "]")));
    // A merged entity is walked as its survivor, which every relation's ends resolve to.
    const std::string id = store.ResolveEntityId(starts[i], rev);
    if (depth_of.contains(id)) continue;
    depth_of[id] = 0;
    queue.push_back(id);
  }
  for (const auto& id : queue) reached.push_back(id);
  RelationFilter at = filter;  // anchored at each entity expanded, in the walk's directions
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
    at.entity_id = id;
    ASSIGN_OR_RETURN(RelationPage page, store.FindRelations(at, rev, "", budget.max_fan_out, view));
    if (!page.next_cursor.empty())
      StopAt(&out.stop, "max_fan_out",
             absl::StrCat("'", id, "' has more relations than max_fan_out; raise it or narrow predicates/window"));
    bool stopped_here = false;
    for (RelationHit& hit : page.hits) {
      RelationRecord& r = hit.relation;
      if (r.object_case() != RelationRecord::kObjectId) continue;  // literal: no entity there
      if (full()) {
        StopAt(&out.stop, "max_results", "traverse again from the frontier with start_ids and the remaining depth");
        out.frontier.push_back(id);
        stopped_here = true;
        break;
      }
      const std::string& other = hit.outgoing ? r.object_id() : r.subject();
      if (!depth_of.contains(other)) {
        depth_of[other] = depth + 1;
        queue.push_back(other);
        reached.push_back(other);
      }
      if (relations_seen.insert(r.id()).second) out.relations.push_back(std::move(r));
    }
    if (stopped_here) break;
  }
  for (const auto& id : queue)
    if (depth_of[id] < max_depth) out.frontier.push_back(id);
  ASSIGN_OR_RETURN(auto records, store.GetEntities(reached, rev));
  for (size_t i = 0; i < reached.size(); ++i) {
    if (!records[i]) continue;  // a relation's end always exists; nothing to show otherwise
    out.entities.push_back(std::move(*records[i]));
    out.depths.push_back(depth_of[reached[i]]);
  }
  return out;
}

absl::StatusOr<PathsResult> FindPaths(Store& store, int64_t rev, const std::string& source_as_asked,
                                      const std::string& target_as_asked, int max_hops, const RelationFilter& filter,
                                      bool time_respecting, int k, const QueryBudget& budget) {
  RETURN_IF_ERROR(RequireEntity(store, source_as_asked, rev, "source"));
  RETURN_IF_ERROR(RequireEntity(store, target_as_asked, rev, "target"));
  // Merged entities are searched as their survivors, which every relation's ends resolve to.
  const std::string source = store.ResolveEntityId(source_as_asked, rev);
  const std::string target = store.ResolveEntityId(target_as_asked, rev);
  PathsResult out;
  if (source == target) return out;  // one entity since a merge: no path between two ends
  // The search needs only what the index entries hold (the ends and the valid range); the
  // relations of the paths found are read whole at the end. Reading every relation record
  // while searching was most of a search's time (MultiGet and record parsing, profiled).
  Adjacency adjacency(store, rev, filter, budget.max_fan_out);
  auto s_lo = [&](const Edge& e) { return time_respecting ? e.s_lo : kMinusInfinity; };
  auto e_hi = [&](const Edge& e) { return time_respecting ? e.e_hi : kPlusInfinity; };
  int64_t steps = 0;
  auto over_budget = [&] {
    if (++steps <= budget.max_steps && (steps % 1024 != 0 || absl::Now() <= budget.deadline)) return false;
    StopAt(&out.stop, steps > budget.max_steps ? "max_steps" : "deadline",
           "lower max_hops or k, or narrow predicates/window");
    return true;
  };

  // Meet in the middle. Two balls grow one frontier at a time, always the smaller: the
  // relations of every entity within reach_f - 1 hops of the source and reach_b - 1 hops
  // of the target are read (each entity once), so paths of up to reach_f hops can be
  // walked forward from the source and of up to reach_b hops backward from the target.
  // Paths do not pass through either end, so neither ball grows through the other end.
  std::vector<std::string> frontier_f = {source}, frontier_b = {target};
  absl::flat_hash_set<std::string> seen_f = {source}, seen_b = {target};
  int reach_f = 0, reach_b = 0;
  auto grow = [&](bool forward) -> absl::Status {
    std::vector<std::string>& frontier = forward ? frontier_f : frontier_b;
    absl::flat_hash_set<std::string>& seen = forward ? seen_f : seen_b;
    const std::string& other_end = forward ? target : source;
    std::vector<std::string> next;
    for (const std::string& v : frontier) {
      ASSIGN_OR_RETURN(const auto* edges, forward ? adjacency.From(v) : adjacency.Into(v));
      for (const Edge& e : *edges) {
        if (over_budget()) return absl::OkStatus();
        if (seen.insert(e.other).second && e.other != other_end) next.push_back(e.other);
      }
    }
    // A ball with nothing left to grow holds every entity reachable from its end: a walk
    // of any length from there reads only relations already read.
    (forward ? reach_f : reach_b) = next.empty() ? max_hops : (forward ? reach_f : reach_b) + 1;
    frontier = std::move(next);
    return absl::OkStatus();
  };

  // A walk backward from the target: the path from `meet` to the target, in walk order,
  // and the latest arrival at `meet` from which it can still be followed (time-respecting:
  // each hop e needs e_hi >= a and then max(a, s_lo) no later than the next entity's bound).
  struct Tail {
    std::vector<const Edge*> edges;  // Into-edges: edges[0] arrives at the entity after `meet`
    std::vector<const std::string*> entities;  // after `meet`, ending with the target
    int64_t latest = kPlusInfinity;
  };
  PathResult head;
  absl::flat_hash_set<std::string> on_head;
  for (int length = 1; length <= max_hops && static_cast<int>(out.paths.size()) < k && !out.stop.truncated; ++length) {
    while (reach_f + reach_b < length && !out.stop.truncated) {
      const bool grow_f = reach_b >= max_hops || (reach_f < max_hops && frontier_f.size() <= frontier_b.size());
      RETURN_IF_ERROR(grow(grow_f));
    }
    if (out.stop.truncated) break;
    const int ahead = std::min(reach_f, length), behind = length - ahead;

    // The tails of `behind` hops, by the entity they start from.
    absl::flat_hash_map<std::string, std::vector<Tail>> tails;
    Tail tail;
    std::function<absl::Status(const std::string&, int64_t)> back = [&](const std::string& v,
                                                                       int64_t bound) -> absl::Status {
      if (static_cast<int>(tail.edges.size()) == behind) {
        Tail t = tail;
        t.latest = bound;
        std::reverse(t.edges.begin(), t.edges.end());
        std::reverse(t.entities.begin(), t.entities.end());
        tails[v].push_back(std::move(t));
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(const auto* into, adjacency.Into(v));
      for (const Edge& e : *into) {
        if (over_budget()) return absl::OkStatus();
        if (e.other == source || e.other == target || e.other == v) continue;  // the ends are only ends
        if (std::any_of(tail.entities.begin(), tail.entities.end(), [&](const std::string* x) { return *x == e.other; }))
          continue;
        if (s_lo(e) > bound) continue;  // it cannot have started in time for what follows
        tail.edges.push_back(&e);
        tail.entities.push_back(&v);
        RETURN_IF_ERROR(back(e.other, std::min(e_hi(e), bound)));
        tail.edges.pop_back();
        tail.entities.pop_back();
        if (out.stop.truncated) return absl::OkStatus();
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(back(target, kPlusInfinity));
    if (out.stop.truncated) break;

    // Heads of `ahead` hops from the source, depth-first in relation-id order, each joined
    // with every tail that starts where it ends, shares no entity with it and can follow it
    // in time. Deterministic: shortest first, then head order, then tail order.
    on_head = {source};
    std::function<absl::Status(const std::string&, int64_t)> walk = [&](const std::string& v,
                                                                       int64_t arrival) -> absl::Status {
      if (static_cast<int>(head.size()) == ahead) {
        auto it = tails.find(v);
        if (it == tails.end()) return absl::OkStatus();
        for (const Tail& t : it->second) {
          if (static_cast<int>(out.paths.size()) >= k) return absl::OkStatus();
          if (arrival > t.latest) continue;
          if (std::any_of(t.entities.begin(), t.entities.end(), [&](const std::string* x) { return on_head.contains(*x); }))
            continue;
          PathResult path = head;
          int64_t a = arrival;
          for (size_t i = 0; i < t.edges.size(); ++i) {
            const Edge& e = *t.edges[i];  // seen from the entity it arrives at
            a = std::max(a, s_lo(e));
            path.push_back({*e.relation, !e.forward, *t.entities[i], time_respecting ? a : kMinusInfinity});
          }
          out.paths.push_back(std::move(path));
        }
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(const auto* from, adjacency.From(v));
      const bool last = static_cast<int>(head.size()) + 1 == ahead;
      for (const Edge& e : *from) {
        if (over_budget()) return absl::OkStatus();
        if (on_head.contains(e.other)) continue;
        if (e.other == target && !(last && behind == 0)) continue;  // paths end at the target
        if (last && !tails.contains(e.other)) continue;              // no tail starts there
        if (e_hi(e) < arrival) continue;  // it was over before we could get here
        const int64_t next = std::max(arrival, s_lo(e));
        head.push_back({*e.relation, e.forward, e.other, time_respecting ? next : kMinusInfinity});
        on_head.insert(e.other);
        RETURN_IF_ERROR(walk(e.other, next));
        on_head.erase(e.other);
        head.pop_back();
        if (static_cast<int>(out.paths.size()) >= k || out.stop.truncated) return absl::OkStatus();
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(walk(source, kMinusInfinity));
  }
  if (!out.stop.truncated && adjacency.truncated_somewhere())
    StopAt(&out.stop, "max_fan_out",
           absl::StrCat("'", adjacency.first_truncated(),
                        "' has more relations than max_fan_out, so paths through them may be missing"));
  absl::flat_hash_map<std::string, RelationRecord> whole;
  for (PathResult& path : out.paths)
    for (PathStepResult& step : path) {
      auto it = whole.find(step.relation.id());
      if (it == whole.end()) {
        ASSIGN_OR_RETURN(auto record, store.GetRelation(step.relation.id(), rev));
        if (!record)
          return absl::DataLossError(absl::StrCat("relation ", step.relation.id(), " is indexed but cannot be read"));
        store.ResolveEnds(rev, &*record);  // as the search saw it (FindRelations resolves merges)
        it = whole.emplace(step.relation.id(), std::move(*record)).first;
      }
      step.relation = it->second;
    }
  return out;
}

}  // namespace annals::storage
