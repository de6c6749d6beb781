// annals entity put|delete|merge|unmerge, document put|delete, relation put, relation retract.
#include <iostream>

#include "absl/strings/str_join.h"

#include "clients/cli/cli_args.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {
namespace {

// Fills one endpoint of a range from its options; false (after a message) on a bad date.
bool SetDate(const std::string& text, const char* flag, v1::Date* out) {
  if (text.empty()) return true;
  auto date = ParseDate(text);
  if (!date) {
    std::cerr << "annals: " << flag << " '" << text << "' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)\n";
    return false;
  }
  *out = *date;
  return true;
}

bool BuildRange(const TimeOptions& t, v1::TimeRange* range) {
  if (!t.on.empty() && (!t.start.empty() || !t.end.empty())) {
    std::cerr << "annals: --on is a point event; it goes without --start/--end\n";
    return false;
  }
  const std::string& start = t.on.empty() ? t.start : t.on;
  const std::string& end = t.on.empty() ? t.end : t.on;
  if (!SetDate(start, "--start", range->mutable_start()) ||
      !SetDate(t.start_latest, "--start-latest", range->mutable_start_latest()) ||
      !SetDate(end, "--end", range->mutable_end()) ||
      !SetDate(t.end_latest, "--end-latest", range->mutable_end_latest()))
    return false;
  if (start.empty()) range->clear_start();
  if (t.start_latest.empty()) range->clear_start_latest();
  if (end.empty()) range->clear_end();
  if (t.end_latest.empty()) range->clear_end_latest();
  range->set_start_unknown(t.start_unknown);
  range->set_end_unknown(t.end_unknown);
  return true;
}

}  // namespace

int EntityPut(Connection& c, const EntityPutOptions& o) {
  v1::UpsertEntitiesRequest request;
  auto* e = request.add_entities();
  e->set_id(o.id);
  e->set_kind(o.kind);
  e->set_label(o.label);
  for (const auto& a : o.aliases) e->add_aliases(a);
  e->set_description(o.description);
  request.set_request_id(o.request_id);
  v1::UpsertEntitiesResponse response;
  if (auto s = c.ingest->UpsertEntities(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << (response.written_count() > 0 ? "written" : "unchanged") << " at revision " << response.revision() << "\n";
    for (const auto& entity : response.entities()) PrintEntity(entity, std::cout);
  }
  return 0;
}

int DocumentPut(Connection& c, const DocumentPutOptions& o) {
  v1::PutDocumentsRequest request;
  auto* d = request.add_documents();
  d->set_id(o.id);
  d->set_title(o.title);
  d->set_uri(o.uri);
  d->set_publisher(o.publisher);
  for (const auto& a : o.authors) d->add_authors(a);
  if (!SetDate(o.published, "--published", d->mutable_published())) return 2;
  if (o.published.empty()) d->clear_published();
  request.set_request_id(o.request_id);
  v1::PutDocumentsResponse response;
  if (auto s = c.ingest->PutDocuments(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << (response.written_count() > 0 ? "written" : "unchanged") << " at revision " << response.revision() << "\n";
    for (const auto& doc : response.documents())
      std::cout << doc.id() << "  " << doc.title() << "  revision " << doc.revision() << "\n";
  }
  return 0;
}

int RelationPut(Connection& c, const RelationPutOptions& o) {
  v1::PutRelationsRequest request;
  auto* r = request.add_relations();
  r->set_id(o.id);
  r->set_subject(o.subject);
  r->set_predicate(o.predicate);
  const int objects = !o.object.empty() + !o.text.empty() + o.number.has_value() + !o.quantity.empty() + !o.date.empty();
  if (objects != 1) return Usage("give exactly one object: OBJECT (an entity id), --text, --number, --quantity or --date");
  if (!o.object.empty()) r->set_object_id(o.object);
  if (!o.text.empty()) r->mutable_value()->set_text(o.text);
  if (o.number) r->mutable_value()->set_number(*o.number);
  if (!o.quantity.empty()) {
    auto q = ParseQuantity(o.quantity);
    if (!q) return Usage("--quantity wants 'AMOUNT UNIT', e.g. '630e6 USD'");
    *r->mutable_value()->mutable_quantity() = *q;
  }
  if (!o.date.empty() && !SetDate(o.date, "--date", r->mutable_value()->mutable_date())) return 2;
  if (!BuildRange(o.time, r->mutable_valid())) return 2;
  for (const auto& text : o.sources) {
    auto source = ParseSource(text);
    if (!source) return Usage("--source wants DOC:BEGIN-END[:note], e.g. seed-000:120-184");
    *r->add_sources() = *source;
  }
  if (o.confidence) r->set_confidence(static_cast<float>(*o.confidence));
  auto status = ParseStatus(o.status.empty() ? "asserted" : o.status);
  if (!status) return Usage("--status is one of asserted, planned, postponed, cancelled, denied");
  r->set_status(*status);
  request.set_request_id(o.request_id);
  v1::PutRelationsResponse response;
  if (auto s = c.ingest->PutRelations(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << (response.written_count() > 0 ? "written" : "unchanged") << " at revision " << response.revision() << "\n";
    for (const auto& rel : response.relations()) PrintRelation(rel, std::cout);
  }
  return 0;
}

int RelationRetract(Connection& c, const std::string& id, const std::string& reason, const std::string& request_id) {
  v1::RetractRelationRequest request;
  request.set_id(id);
  request.set_reason(reason);
  request.set_request_id(request_id);
  v1::Relation response;
  if (auto s = c.ingest->RetractRelation(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json)
    std::cout << ToJson(response) << "\n";
  else
    PrintRelation(response, std::cout);
  return 0;
}

namespace {

void PrintDeletion(const char* what, const std::string& id, const v1::DeleteResponse& response) {
  std::cout << what << " '" << id << "' deleted at revision " << response.revision() << "\n";
  if (response.retracted_relation_ids_size() > 0)
    std::cout << "  retracted " << response.retracted_relation_ids_size()
              << " relation(s): " << absl::StrJoin(response.retracted_relation_ids(), " ") << "\n";
  if (response.changed_relation_ids_size() > 0)
    std::cout << "  took it out of the sources of " << response.changed_relation_ids_size()
              << " relation(s): " << absl::StrJoin(response.changed_relation_ids(), " ") << "\n";
}

}  // namespace

namespace {

// One delete RPC, printed the same way for entities and documents.
template <typename Request, typename Rpc>
int Delete(Connection& c, const DeleteOptions& o, const char* what, Rpc rpc) {
  Request request;
  request.set_id(o.id);
  request.set_cascade(o.cascade);
  request.set_request_id(o.request_id);
  v1::DeleteResponse response;
  if (auto s = rpc(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json)
    std::cout << ToJson(response) << "\n";
  else
    PrintDeletion(what, o.id, response);
  return 0;
}

}  // namespace

int EntityDelete(Connection& c, const DeleteOptions& o) {
  return Delete<v1::DeleteEntityRequest>(c, o, "entity", [&](auto* ctx, const auto& req, auto* resp) {
    return c.ingest->DeleteEntity(ctx, req, resp);
  });
}

namespace {

void PrintMerge(const v1::MergeResponse& response) {
  const v1::Entity& e = response.entity();
  std::cout << "'" << e.id() << "' (" << e.label() << ") at revision " << response.revision();
  if (e.merged_ids_size() > 0) std::cout << " stands for " << absl::StrJoin(e.merged_ids(), " ") << " too";
  std::cout << "\n";
}

}  // namespace

int EntityMerge(Connection& c, const MergeOptions& o) {
  v1::MergeEntitiesRequest request;
  request.set_survivor(o.survivor);
  for (const auto& id : o.ids) request.add_ids(id);
  request.set_request_id(o.request_id);
  v1::MergeResponse response;
  if (auto s = c.ingest->MergeEntities(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::cout << "merged " << absl::StrJoin(o.ids, " ") << " into ";
  PrintMerge(response);
  return 0;
}

int EntityUnmerge(Connection& c, const std::string& id, const std::string& request_id) {
  v1::UnmergeEntityRequest request;
  request.set_id(id);
  request.set_request_id(request_id);
  v1::MergeResponse response;
  if (auto s = c.ingest->UnmergeEntity(c.Call().get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::cout << "unmerged ";
  PrintMerge(response);
  return 0;
}

int DocumentDelete(Connection& c, const DeleteOptions& o) {
  return Delete<v1::DeleteDocumentRequest>(c, o, "document", [&](auto* ctx, const auto& req, auto* resp) {
    return c.ingest->DeleteDocument(ctx, req, resp);
  });
}

}  // namespace annals::cli
