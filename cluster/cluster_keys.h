// The etcd keys of one cluster and the values that are not plain numbers, each builder
// beside its decoder. The layout and what each key means are drawn in cluster/replica.h.
//
//   /annals/<cluster>/head             "<position>"
//   /annals/<cluster>/log/<position>   a LogEntry; the position as 20 decimal digits, so keys sort by it
//   /annals/<cluster>/leader           "<node id> <address>"
//   /annals/<cluster>/anchor           "<position> <digest>"
//   /annals/<cluster>/members/<node>   "<durable> <applied> <address>" (MemberValue)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace annals::cluster {

// One registered member, as its members/ key says.
struct MemberState {
  std::string node_id, address;
  int64_t durable = 0, applied = 0;
};

// The address a member key holds while its node receives a peer's copy (cluster/bootstrap.h):
// it holds the trim back, but has nothing to send yet.
inline constexpr char kJoiningAddress[] = "joining";

class ClusterKeys {
 public:
  explicit ClusterKeys(const std::string& cluster) : prefix_("/annals/" + cluster + "/") {}

  std::string Head() const { return prefix_ + "head"; }
  std::string Leader() const { return prefix_ + "leader"; }
  std::string Anchor() const { return prefix_ + "anchor"; }

  std::string LogPrefix() const { return prefix_ + "log/"; }
  std::string Log(int64_t position) const;
  // The position of a log key; nullopt for any other key.
  std::optional<int64_t> ParseLog(const std::string& key) const;

  std::string MembersPrefix() const { return prefix_ + "members/"; }
  std::string Member(const std::string& node_id) const { return MembersPrefix() + node_id; }
  // A member key and its value; nullopt when either is not one.
  std::optional<MemberState> ParseMember(const std::string& key, const std::string& value) const;

 private:
  std::string prefix_;
};

// The value of members/<node>.
std::string MemberValue(int64_t durable, int64_t applied, const std::string& address);

}  // namespace annals::cluster
