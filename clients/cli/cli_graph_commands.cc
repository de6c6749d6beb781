// annals traverse, paths, timeline, aggregate, conflicts: the graph queries.
#include <iostream>
#include <set>

#include "clients/cli/cli_args.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {
namespace {

// Shared by every graph command: --predicate, --status and the window flags.
template <typename Request>
bool FillCommon(const GraphOptions& o, Request* request) {
  for (const auto& p : o.predicates) request->add_predicates(p);
  for (const auto& name : o.statuses) {
    auto status = ParseStatus(name);
    if (!status) {
      std::cerr << "annals: --status '" << name << "' is not one of asserted, planned, postponed, cancelled, denied\n";
      return false;
    }
    request->add_statuses(*status);
  }
  bool has_window = false;
  if (!BuildWindow(o.window, request->mutable_window(), &has_window)) return false;
  if (!has_window) request->clear_window();
  request->set_as_of_revision(o.as_of);
  return true;
}

std::optional<v1::Direction> DirectionOf(const std::string& text) {
  std::string upper = text;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  v1::Direction d;
  if (!v1::Direction_Parse(upper, &d)) return std::nullopt;
  return d;
}

std::optional<v1::Granularity> GranularityOf(const std::string& text) {
  std::string upper = text;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  v1::Granularity g;
  if (!v1::Granularity_Parse(upper, &g)) return std::nullopt;
  return g;
}

void PrintTruncation(bool truncated, const v1::Truncation& t) {
  if (truncated) std::cout << "truncated at " << t.bound() << ": " << t.hint() << "\n";
}

std::string Line(const v1::Relation& r) {
  return r.subject() + " --" + r.predicate() + "--> " + FormatObject(r) + "  [" + FormatRange(r.valid()) + "]";
}

}  // namespace

int Traverse(Connection& c, const GraphOptions& o) {
  v1::TraverseRequest request;
  for (const auto& id : o.entities) request.add_start_ids(id);
  request.set_max_depth(o.depth);
  auto direction = DirectionOf(o.direction);
  if (!direction) return Usage("--direction is out, in or both");
  request.set_direction(*direction);
  request.set_max_fan_out(o.fan_out);
  request.set_max_results(o.limit);
  request.set_view(ViewOf(o.view));
  if (!FillCommon(o, &request)) return 2;
  v1::TraverseResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->Traverse(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) return std::cout << ToJson(response) << "\n", 0;
  Table entities({"DEPTH", "ENTITY", "KIND", "LABEL"});
  for (int i = 0; i < response.entities_size(); ++i)
    entities.Add({std::to_string(response.depths(i)), response.entities(i).id(), response.entities(i).kind(),
                  response.entities(i).label()});
  entities.Print(std::cout);
  std::cout << "\n";
  PrintRelationTable(response.relations(), std::cout);
  std::cout << response.entities_size() << " entities, " << response.relations_size() << " relations at revision "
            << response.revision() << "\n";
  PrintTruncation(response.truncated(), response.truncation());
  if (!response.frontier().empty()) {
    std::cout << "frontier:";
    for (const auto& id : response.frontier()) std::cout << " " << id;
    std::cout << "\n";
  }
  return 0;
}

int Paths(Connection& c, const GraphOptions& o) {
  if (o.entities.size() != 2) return Usage("paths wants SOURCE and TARGET");
  v1::FindPathsRequest request;
  request.set_source_id(o.entities[0]);
  request.set_target_id(o.entities[1]);
  request.set_max_hops(o.depth);
  auto direction = DirectionOf(o.direction);
  if (!direction) return Usage("--direction is out, in or both");
  request.set_direction(*direction);
  request.set_time_respecting(o.time_respecting);
  request.set_k(o.k);
  if (!FillCommon(o, &request)) return 2;
  v1::FindPathsResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->FindPaths(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) return std::cout << ToJson(response) << "\n", 0;
  int n = 0;
  for (const auto& path : response.paths()) {
    std::cout << "path " << ++n << " (" << path.steps_size() << " hops)\n";
    for (const auto& step : path.steps()) {
      std::cout << "  " << (step.forward() ? "-> " : "<- ") << step.entity_id() << "  via " << step.relation().id()
                << "  " << Line(step.relation());
      if (step.has_earliest_arrival()) std::cout << "  arrive >= " << FormatDate(step.earliest_arrival());
      std::cout << "\n";
    }
  }
  if (n == 0) std::cout << "no path within " << (o.depth ? o.depth : 3) << " hops" << (o.time_respecting ? " that respects time" : "") << "\n";
  std::cout << "at revision " << response.revision() << "\n";
  PrintTruncation(response.truncated(), response.truncation());
  return 0;
}

int Timeline(Connection& c, const GraphOptions& o) {
  if (o.entities.empty() || o.entities.size() > 2) return Usage("timeline wants ENTITY or ENTITY OTHER");
  v1::TimelineRequest request;
  request.set_entity_id(o.entities[0]);
  if (o.entities.size() == 2) request.set_other_id(o.entities[1]);
  auto g = GranularityOf(o.by);
  if (!g) return Usage("--by is year, quarter or month");
  request.set_granularity(*g);
  request.set_max_results(o.limit);
  if (!FillCommon(o, &request)) return 2;
  v1::TimelineResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->Timeline(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) return std::cout << ToJson(response) << "\n", 0;
  for (const auto& group : response.groups()) {
    std::cout << group.period() << "\n";
    for (const auto& r : group.relations())
      std::cout << "  " << Line(r) << "  " << v1::Status_Name(r.status()) << "  " << FormatSources(r) << "\n";
  }
  if (!response.documents().empty()) {
    std::cout << "sources:\n";
    for (const auto& d : response.documents())
      std::cout << "  " << d.id() << "  " << d.title() << (d.has_published() ? " (" + FormatDate(d.published()) + ")" : "") << "\n";
  }
  std::cout << "at revision " << response.revision() << "\n";
  PrintTruncation(response.truncated(), response.truncation());
  return 0;
}

int Aggregate(Connection& c, const GraphOptions& o) {
  if (o.entities.empty() || o.entities.size() > 2) return Usage("aggregate wants ENTITY or ENTITY OTHER");
  v1::AggregateRequest request;
  request.set_entity_id(o.entities[0]);
  if (o.entities.size() == 2) request.set_other_id(o.entities[1]);
  auto g = GranularityOf(o.by);
  if (!g) return Usage("--by is year, quarter or month");
  request.set_period(*g);
  request.set_group_by_predicate(o.by_predicate);
  if (!FillCommon(o, &request)) return 2;
  v1::AggregateResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->Aggregate(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) return std::cout << ToJson(response) << "\n", 0;
  Table table({"PERIOD", "PREDICATE", "CERTAIN", "POSSIBLE", "SUMS (certain / possible)"});
  for (const auto& b : response.buckets()) {
    std::string sums;
    for (const auto& s : b.sums()) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "%.15g / %.15g %s", s.amount(), s.possible_amount(), s.unit().c_str());
      sums += (sums.empty() ? "" : "; ") + std::string(buf);
    }
    table.Add({b.period(), b.predicate(), std::to_string(b.count()), std::to_string(b.possible_count()), sums});
  }
  table.Print(std::cout);
  std::cout << response.unplaced_count() << " relation(s) with no placeable start; at revision " << response.revision() << "\n";
  PrintTruncation(response.truncated(), response.truncation());
  return 0;
}

int Conflicts(Connection& c, const GraphOptions& o) {
  v1::ConflictsRequest request;
  if (o.entities.size() > 2) return Usage("conflicts wants ENTITY [OTHER] or --document D");
  if (!o.entities.empty()) request.set_entity_id(o.entities[0]);
  if (o.entities.size() == 2) request.set_other_id(o.entities[1]);
  request.set_document_id(o.document);
  for (const auto& name : o.statuses) {
    auto status = ParseStatus(name);
    if (!status) return Usage("--status is one of asserted, planned, postponed, cancelled, denied");
    request.add_statuses(*status);
  }
  request.set_as_of_revision(o.as_of);
  request.set_max_groups(o.limit);
  v1::ConflictsResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->Conflicts(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) return std::cout << ToJson(response) << "\n", 0;
  for (const auto& g : response.groups()) {
    std::cout << g.subject() << " --" << g.predicate() << "--> " << (g.object().empty() ? "(values)" : g.object())
              << "   disagree on " << g.reason() << "\n";
    for (const auto& r : g.claims())
      std::cout << "  " << r.id() << "  " << (r.object_case() == v1::Relation::kValue ? FormatValue(r.value()) + "  " : "")
                << FormatRange(r.valid()) << "  " << FormatSources(r) << "\n";
  }
  std::cout << response.groups_size() << " group(s) at revision " << response.revision() << "\n";
  PrintTruncation(response.truncated(), response.truncation());
  return 0;
}

}  // namespace annals::cli
