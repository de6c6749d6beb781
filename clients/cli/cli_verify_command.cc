// `annals verify --db DIR`: the offline consistency check of storage/verify.h, run on the
// database directory of a stopped server (read-only; no server is contacted). Exit code 0
// when the database is consistent, 1 when it is not (each problem printed), 2 when it
// cannot be read.
#include <iostream>

#include <nlohmann/json.hpp>

#include "clients/cli/cli_commands.h"
#include "storage/verify.h"

namespace annals::cli {

int Verify(const std::string& db, bool json, int max_problems) {
  storage::VerifyOptions options;
  options.max_reported = max_problems;
  auto report = storage::VerifyDatabase(db, options);
  if (!report.ok()) {
    std::cerr << "annals: verify: " << report.status().message() << "\n";
    return 2;
  }
  if (json) {
    nlohmann::json out = {
        {"ok", report->ok()},
        {"revision", report->revision},
        {"pruned_through", report->pruned_through},
        {"entity_versions", report->entity_versions},
        {"document_versions", report->document_versions},
        {"relation_versions", report->relation_versions},
        {"index_entries", report->index_entries},
        {"name_entries", report->name_entries},
        {"change_records", report->change_records},
        {"request_records", report->request_records},
        {"position", report->position},
        {"log_entries", report->log_entries},
        {"problem_count", report->problem_count},
        {"problems", report->problems},
    };
    std::cout << out.dump() << "\n";
  } else {
    std::cout << report->Summary();
  }
  return report->ok() ? 0 : 1;
}

}  // namespace annals::cli
