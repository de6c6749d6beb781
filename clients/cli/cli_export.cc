// annals export: the graph at one revision as JSON Lines that `annals import` reads back
// into an identical graph: documents, then entities, then relations (every status; not
// retracted ones), without the output-only fields (revision, recorded_at).
#include <fstream>
#include <iostream>

#include "annals/v1/jsonl.pb.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {

int Export(Connection& c, const std::string& path, int64_t as_of) {
  std::ofstream file;
  if (path != "-") {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) return Usage(path + ": cannot write");
  }
  std::ostream& out = path == "-" ? std::cout : file;
  int64_t rev = as_of, documents = 0, entities = 0, relations = 0;
  auto emit = [&](v1::JsonlRecord record) { out << ToJson(record) << "\n"; };

  v1::ListDocumentsRequest docs;
  docs.set_page_size(1000);
  docs.set_as_of_revision(rev);
  for (;;) {
    v1::ListDocumentsResponse page;
    *docs.mutable_consistency() = c.consistency;
    if (auto s = c.query->ListDocuments(c.Call().get(), docs, &page); !s.ok()) return Fail(s);
    if (rev == 0) rev = page.revision();  // every later read at this one revision
    for (auto d : page.documents()) {
      d.clear_revision();
      d.clear_recorded_at();
      v1::JsonlRecord r;
      *r.mutable_document() = std::move(d);
      emit(std::move(r));
      ++documents;
    }
    if (page.next_page_token().empty()) break;
    docs.set_page_token(page.next_page_token());
  }

  v1::SearchEntitiesRequest ents;  // the empty query lists every entity, each once
  ents.set_page_size(1000);
  ents.set_as_of_revision(rev);
  for (;;) {
    v1::SearchEntitiesResponse page;
    *ents.mutable_consistency() = c.consistency;
    if (auto s = c.query->SearchEntities(c.Call().get(), ents, &page); !s.ok()) return Fail(s);
    for (auto e : page.entities()) {
      e.clear_revision();
      e.clear_recorded_at();
      v1::JsonlRecord r;
      *r.mutable_entity() = std::move(e);
      emit(std::move(r));
      ++entities;
    }
    if (page.next_page_token().empty()) break;
    ents.set_page_token(page.next_page_token());
  }

  v1::ListRelationsRequest rels;
  for (int s = v1::Status_MIN; s <= v1::Status_MAX; ++s) rels.add_statuses(static_cast<v1::Status>(s));
  rels.set_page_size(1000);
  rels.set_as_of_revision(rev);
  for (;;) {
    v1::ListRelationsResponse page;
    *rels.mutable_consistency() = c.consistency;
    if (auto s = c.query->ListRelations(c.Call().get(), rels, &page); !s.ok()) return Fail(s);
    for (auto rel : page.relations()) {
      rel.clear_revision();
      rel.clear_recorded_at();
      v1::JsonlRecord r;
      *r.mutable_relation() = std::move(rel);
      emit(std::move(r));
      ++relations;
    }
    if (page.next_page_token().empty()) break;
    rels.set_page_token(page.next_page_token());
  }
  out.flush();
  if (!out) return Usage(path + ": write failed");
  std::cerr << "exported " << documents << " documents, " << entities << " entities, " << relations
            << " relations at revision " << rev << "\n";
  return 0;
}

}  // namespace annals::cli
