#include "cluster/cluster_keys.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace annals::cluster {

std::string ClusterKeys::Log(int64_t position) const {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020" PRId64, position);
  return LogPrefix() + digits;
}

std::optional<int64_t> ClusterKeys::ParseLog(const std::string& key) const {
  const std::string prefix = LogPrefix();
  int64_t position = 0;
  if (!absl::StartsWith(key, prefix) || !absl::SimpleAtoi(key.substr(prefix.size()), &position)) return std::nullopt;
  return position;
}

std::optional<MemberState> ClusterKeys::ParseMember(const std::string& key, const std::string& value) const {
  const std::string prefix = MembersPrefix();
  if (!absl::StartsWith(key, prefix)) return std::nullopt;
  MemberState m;
  m.node_id = key.substr(prefix.size());
  std::vector<std::string> parts = absl::StrSplit(value, absl::MaxSplits(' ', 2));
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &m.durable) || !absl::SimpleAtoi(parts[1], &m.applied))
    return std::nullopt;
  m.address = parts[2];
  return m;
}

std::string MemberValue(int64_t durable, int64_t applied, const std::string& address) {
  return absl::StrCat(durable, " ", applied, " ", address);
}

}  // namespace annals::cluster
