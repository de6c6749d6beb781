// annals entity get, relation get, relation list, search, neighbors.
#include <iostream>

#include "clients/cli/cli_args.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {

// --from/--to/--at into a Window; false (after a message) on bad input.
bool BuildWindow(const WindowOptions& w, v1::Window* window, bool* has_window) {
  *has_window = !w.from.empty() || !w.to.empty() || !w.at.empty();
  if (!w.at.empty() && (!w.from.empty() || !w.to.empty())) {
    std::cerr << "annals: --at is a window of its own; it goes without --from/--to\n";
    return false;
  }
  const std::string& from = w.at.empty() ? w.from : w.at;
  const std::string& to = w.at.empty() ? w.to : w.at;
  const bool at = !w.at.empty();
  for (auto [text, flag, out] : {std::tuple{&from, at ? "--at" : "--from", window->mutable_start()},
                                 std::tuple{&to, at ? "--at" : "--to", window->mutable_end()}}) {
    if (text->empty()) continue;
    auto date = ParseDate(*text);
    if (!date) {
      std::cerr << "annals: " << flag << " '" << *text << "' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)\n";
      return false;
    }
    *out = *date;
  }
  if (from.empty()) window->clear_start();
  if (to.empty()) window->clear_end();
  window->set_mode(w.certainly ? v1::CERTAINLY : v1::POSSIBLY);
  return true;
}

namespace {

bool AddStatuses(const std::vector<std::string>& names, google::protobuf::RepeatedField<int>* out) {
  for (const auto& name : names) {
    auto status = ParseStatus(name);
    if (!status) {
      std::cerr << "annals: --status '" << name << "' is not one of asserted, planned, postponed, cancelled, denied\n";
      return false;
    }
    out->Add(*status);
  }
  return true;
}

}  // namespace

int EntityGet(Connection& c, const std::string& id, int64_t as_of) {
  v1::GetEntityRequest request;
  request.set_id(id);
  request.set_as_of_revision(as_of);
  v1::Entity entity;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->GetEntity(c.Call().get(), request, &entity); !s.ok()) return Fail(s);
  if (c.json)
    std::cout << ToJson(entity) << "\n";
  else
    PrintEntity(entity, std::cout);
  return 0;
}

int RelationGet(Connection& c, const std::string& id, int64_t as_of, bool show_retracted, const std::string& view) {
  v1::GetRelationRequest request;
  request.set_id(id);
  request.set_view(ViewOf(view));
  request.set_as_of_revision(as_of);
  request.set_show_retracted(show_retracted);
  v1::Relation relation;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->GetRelation(c.Call().get(), request, &relation); !s.ok()) return Fail(s);
  if (c.json)
    std::cout << ToJson(relation) << "\n";
  else
    PrintRelation(relation, std::cout);
  return 0;
}

int RelationList(Connection& c, const RelationListOptions& o) {
  v1::ListRelationsRequest request;
  request.set_subject(o.subject);
  request.set_predicate(o.predicate);
  request.set_object_id(o.object);
  request.set_document_id(o.document);
  if (!AddStatuses(o.statuses, request.mutable_statuses())) return 2;
  bool has_window = false;
  if (!BuildWindow(o.window, request.mutable_window(), &has_window)) return 2;
  if (!has_window) request.clear_window();
  request.set_as_of_revision(o.as_of);
  request.set_page_size(o.page_size);
  request.set_page_token(o.page_token);
  request.set_view(ViewOf(o.view));
  v1::ListRelationsResponse all;
  for (;;) {
    v1::ListRelationsResponse page;
    *request.mutable_consistency() = c.consistency;
    if (auto s = c.query->ListRelations(c.Call().get(), request, &page); !s.ok()) return Fail(s);
    all.mutable_relations()->MergeFrom(page.relations());
    all.set_revision(page.revision());
    all.set_next_page_token(page.next_page_token());
    if (!o.all_pages || page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  if (c.json) {
    std::cout << ToJson(all) << "\n";
    return 0;
  }
  PrintRelationTable(all.relations(), std::cout);
  std::cout << all.relations_size() << " relation(s) at revision " << all.revision() << "\n";
  if (!all.next_page_token().empty()) std::cout << "more: --page-token " << all.next_page_token() << " (or --all)\n";
  return 0;
}

int Search(Connection& c, const std::string& query, const std::string& kind, int page_size, int64_t as_of,
           const std::string& page_token) {
  v1::SearchEntitiesRequest request;
  request.set_query(query);
  request.set_kind(kind);
  request.set_page_size(page_size);
  request.set_as_of_revision(as_of);
  request.set_page_token(page_token);
  v1::SearchEntitiesResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = c.query->SearchEntities(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"ID", "KIND", "LABEL", "ALIASES"});
  for (const auto& e : response.entities()) {
    std::string aliases;
    for (const auto& a : e.aliases()) aliases += (aliases.empty() ? "" : "; ") + a;
    table.Add({e.id(), e.kind(), e.label(), aliases});
  }
  table.Print(std::cout);
  if (!response.next_page_token().empty()) std::cout << "more: --page-token " << response.next_page_token() << "\n";
  return 0;
}

int Neighbors(Connection& c, const NeighborsOptions& o) {
  v1::NeighborsRequest request;
  request.set_entity_id(o.entity);
  v1::Direction direction;
  std::string upper = o.direction;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!v1::Direction_Parse(upper, &direction)) return Usage("--direction is out, in or both");
  request.set_direction(direction);
  for (const auto& p : o.predicates) request.add_predicates(p);
  if (!AddStatuses(o.statuses, request.mutable_statuses())) return 2;
  bool has_window = false;
  if (!BuildWindow(o.window, request.mutable_window(), &has_window)) return 2;
  if (!has_window) request.clear_window();
  request.set_as_of_revision(o.as_of);
  request.set_page_size(o.page_size);
  request.set_page_token(o.page_token);
  request.set_view(ViewOf(o.view));
  v1::NeighborsResponse response;
  for (;;) {
    v1::NeighborsResponse page;
    *request.mutable_consistency() = c.consistency;
    if (auto s = c.query->Neighbors(c.Call().get(), request, &page); !s.ok()) return Fail(s);
    response.mutable_neighbors()->MergeFrom(page.neighbors());
    response.set_revision(page.revision());
    response.set_truncated(page.truncated());
    response.set_next_page_token(page.next_page_token());
    if (!o.all_pages || page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  if (c.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"DIR", "PREDICATE", "NEIGHBOR", "LABEL", "VALID", "STATUS", "RELATION"});
  for (const auto& n : response.neighbors()) {
    const auto& r = n.relation();
    const bool out = n.direction() == v1::OUT;
    table.Add({out ? "->" : "<-", r.predicate(), out ? FormatObject(r) : r.subject(), n.neighbor().label(),
               FormatRange(r.valid()), v1::Status_Name(r.status()), r.id()});
  }
  table.Print(std::cout);
  std::cout << response.neighbors_size() << " neighbour relation(s) at revision " << response.revision()
            << "\n";
  if (!response.next_page_token().empty())
    std::cout << "more: --page-token " << response.next_page_token() << " (or --all)\n";
  return 0;
}

}  // namespace annals::cli
