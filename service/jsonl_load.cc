#include "service/jsonl_load.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/grpc_status.h"
#include "service/jsonl_reader.h"
#include "service/write_path.h"
#include "storage/status_macros.h"

namespace annals::service {

absl::Status LoadJsonlPaths(cluster::Committer& committer, const std::vector<std::string>& paths, std::ostream& log) {
  ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandJsonlPaths(paths));
  std::vector<std::string> problems;
  for (const std::string& path : files) {
    ASSIGN_OR_RETURN(JsonlFile file, ReadJsonlFile(path));
    if (!file.errors.empty()) {
      problems.insert(problems.end(), file.errors.begin(), file.errors.end());
      continue;
    }
    if (file.batch.size() == 0) continue;
    const std::string request_id = "load-" + HexDigest(Digest128(file.content));
    const auto& r = file.batch.request;
    WriteOutcome w = CommitItems(committer, r, request_id, r.entities(), r.documents(), r.relations());
    if (!w.status.ok()) {
      if (w.status.code() != absl::StatusCode::kInvalidArgument) return w.status;
      for (const auto& e : ViolationsOf(w.status))
        problems.push_back(absl::StrCat(path, ":", file.batch.LineOf(e.field), ": ", e.field, ": ", e.description));
      continue;
    }
    if (w.result.replayed || w.result.written_count() == 0)
      log << "loaded " << path << ": already there (revision " << w.result.revision << ")\n";
    else
      log << "loaded " << path << ": revision " << w.result.revision << ", " << w.result.written_count()
          << " written, " << w.result.unchanged_count << " unchanged\n";
  }
  if (!problems.empty())
    return absl::InvalidArgumentError(absl::StrCat("rejected lines:\n  ", absl::StrJoin(problems, "\n  ")));
  return absl::OkStatus();
}

}  // namespace annals::service
