// annals diff, watch, history: what changed, in revisions and in valid time.
#include <iostream>

#include "annals/v1/diff.grpc.pb.h"
#include "clients/cli/cli_args.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {
namespace {

// Two ids scope a diff to the relations between them, one id to an entity's relations.
void SetScope(const DiffOptions& o, v1::Scope* scope) {
  if (o.entities.size() == 1) scope->set_entity_id(o.entities[0]);
  if (o.entities.size() == 2)
    for (const auto& id : o.entities) scope->add_between(id);
  for (const auto& p : o.predicates) scope->add_predicates(p);
  scope->set_document_id(o.document);
}

std::string Describe(const v1::Relation& r) {
  return r.subject() + " --" + r.predicate() + "--> " + FormatObject(r) + "  [" + FormatRange(r.valid()) + ", " +
         v1::Status_Name(r.status()) + "]";
}

// One line per change, for people.
void PrintChange(const v1::Change& c) {
  std::cout << "r" << c.revision() << "  " << v1::ChangeKind_Name(c.kind()) << "  " << c.id();
  if (c.has_relation_after()) {
    std::cout << "  " << Describe(c.relation_after());
    if (c.has_relation_before() && c.kind() == v1::RELATION_CHANGED)
      std::cout << "   (was " << FormatRange(c.relation_before().valid()) << ", "
                << v1::Status_Name(c.relation_before().status()) << ")";
  } else if (c.has_entity_after()) {
    std::cout << "  " << c.entity_after().label();
  } else if (c.has_document_after()) {
    std::cout << "  " << c.document_after().title();
  }
  std::cout << "\n";
}

int StreamChanges(Connection& c, grpc::ClientReader<v1::Change>* reader) {
  v1::Change change;
  int count = 0;
  while (reader->Read(&change)) {
    ++count;
    if (c.json)
      std::cout << ToJson(change) << "\n" << std::flush;
    else
      PrintChange(change), std::cout << std::flush;
  }
  if (auto s = reader->Finish(); !s.ok()) return Fail(s);
  if (!c.json) std::cout << count << " change(s)\n";
  return 0;
}

}  // namespace

int Diff(Connection& c, const DiffOptions& o) {
  auto stub = v1::DiffService::NewStub(c.channel);
  const bool by_revision = o.from_rev >= 0 || o.to_rev > 0;
  const bool by_date = !o.at.empty() || !o.vs.empty();
  if (by_revision == by_date) return Usage("give --from-rev/--to-rev (what the service learned) or --at/--vs (how the world changed)");
  if (o.entities.size() > 2) return Usage("give at most two entity ids: one for its relations, two for the relations between them");
  if (by_revision) {
    v1::DiffRevisionsRequest request;
    request.set_from_revision(std::max<int64_t>(0, o.from_rev));
    request.set_to_revision(o.to_rev);
    SetScope(o, request.mutable_scope());
    auto ctx = c.Call();
    *request.mutable_consistency() = c.consistency;
    auto reader = stub->DiffRevisions(ctx.get(), request);
    return StreamChanges(c, reader.get());
  }
  v1::DiffValidTimesRequest request;
  auto a = ParseDate(o.at), b = ParseDate(o.vs);
  if (!a || !b) return Usage("--at and --vs both want a date: YYYY, YYYY-MM or YYYY-MM-DD");
  *request.mutable_at_a() = *a;
  *request.mutable_at_b() = *b;
  request.set_mode(o.certainly ? v1::CERTAINLY : v1::POSSIBLY);
  request.set_include_continued(o.continued);
  request.set_as_of_revision(o.as_of);
  SetScope(o, request.mutable_scope());
  v1::DiffValidTimesResponse response;
  *request.mutable_consistency() = c.consistency;
  if (auto s = stub->DiffValidTimes(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  auto section = [](const char* title, const google::protobuf::RepeatedPtrField<v1::Relation>& rs) {
    std::cout << title << " (" << rs.size() << ")\n";
    for (const auto& r : rs) std::cout << "  " << r.id() << "  " << Describe(r) << "\n";
  };
  // Say what "held" means in the mode asked: may have held (possibly) or must have (certainly).
  const std::string held = o.certainly ? "certainly held" : "may have held";
  const std::string not_held = o.certainly ? "not certainly" : "cannot have held";
  section(("began: " + held + " at " + o.vs + ", " + not_held + " at " + o.at).c_str(), response.began());
  section(("ended: " + held + " at " + o.at + ", " + not_held + " at " + o.vs).c_str(), response.ended());
  if (o.continued) section(("continued: " + held + " at both").c_str(), response.continued());
  std::cout << "at revision " << response.revision() << (o.certainly ? ", certainly" : ", possibly")
            << (response.truncated() ? " (truncated: narrow the scope)" : "") << "\n";
  return 0;
}

int Watch(Connection& c, const DiffOptions& o, const std::string& resume_token) {
  auto stub = v1::DiffService::NewStub(c.channel);
  v1::WatchRequest request;
  request.set_from_revision(std::max<int64_t>(0, o.from_rev));
  request.set_resume_token(resume_token);
  SetScope(o, request.mutable_scope());
  grpc::ClientContext ctx;  // no deadline: a watch runs until stopped
  *request.mutable_consistency() = c.consistency;
  auto reader = stub->Watch(&ctx, request);
  return StreamChanges(c, reader.get());
}

int History(Connection& c, const std::string& id, const std::string& kind) {
  auto stub = v1::DiffService::NewStub(c.channel);
  const std::vector<std::string> kinds = kind.empty() ? std::vector<std::string>{"relation", "entity", "document"}
                                                      : std::vector<std::string>{kind};
  grpc::Status last;
  for (const auto& k : kinds) {
    v1::GetHistoryRequest request;
    if (k == "relation") request.set_relation_id(id);
    else if (k == "entity") request.set_entity_id(id);
    else if (k == "document") request.set_document_id(id);
    else return Usage("--kind is relation, entity or document");
    v1::GetHistoryResponse all;
    for (;;) {
      v1::GetHistoryResponse page;
      *request.mutable_consistency() = c.consistency;
      last = stub->GetHistory(c.Call().get(), request, &page);
      if (!last.ok()) break;
      all.mutable_versions()->MergeFrom(page.versions());
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    if (last.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    if (!last.ok()) return Fail(last);
    if (c.json) {
      std::cout << ToJson(all) << "\n";
      return 0;
    }
    for (const auto& v : all.versions()) {
      std::cout << "r" << v.revision() << "  " << v1::ChangeKind_Name(v.kind()) << "  ";
      if (v.has_relation()) std::cout << Describe(v.relation());
      if (v.has_entity() && v.entity().deleted()) std::cout << "(tombstone: deleted)";
      if (v.has_entity() && !v.entity().deleted()) std::cout << v.entity().label() << " (" << v.entity().kind() << ")";
      if (v.has_entity() && !v.entity().merged_into().empty()) std::cout << " merged into " << v.entity().merged_into();
      if (v.has_document()) std::cout << (v.document().deleted() ? "(tombstone: deleted)" : v.document().title());
      std::cout << "\n";
    }
    return 0;
  }
  return Fail(last);
}

}  // namespace annals::cli
