// `annalsd --load`: commits JSON Lines files, one commit per file, in the order given
// (a directory contributes its *.jsonl in name order). Each file is sent with a request id
// derived from its content, so loading the same files on every start writes nothing new.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cluster/committer.h"
#include "storage/store.h"

namespace annals::service {

// Loads every file; reports each to `log`. Returns INVALID_ARGUMENT listing the bad lines
// ("PATH:LINE: field: reason") of every file that was rejected (nothing of those is written).
absl::Status LoadJsonlPaths(cluster::Committer& committer, const std::vector<std::string>& paths, std::ostream& log);

}  // namespace annals::service
