// `annals admin ...`: operating the server (AdminService).
#include <filesystem>
#include <iostream>

#include "annals/v1/admin.grpc.pb.h"
#include "clients/cli/cli_commands.h"
#include "clients/cli/cli_format.h"

namespace annals::cli {

int AdminBackup(Connection& c, const std::string& dir) {
  // The directory is on the server host; an absolute path is required there, so a relative
  // one is refused here rather than resolved against this client's working directory.
  if (dir.empty() || !std::filesystem::path(dir).is_absolute())
    return Usage("admin backup: DIR must be an absolute path on the server host, got \"" + dir + "\"");
  auto admin = v1::AdminService::NewStub(c.channel);
  v1::BackupRequest request;
  request.set_target_dir(dir);
  v1::BackupResponse response;
  auto ctx = c.Call();
  if (grpc::Status s = admin->Backup(ctx.get(), request, &response); !s.ok()) return Fail(s);
  if (c.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "backup of revision " << response.revision() << " written to " << response.target_dir() << " ("
              << response.size_bytes() << " bytes)\n"
              << "restore: annalsd --db " << response.target_dir() << "  (or a copy of it)\n";
  }
  return 0;
}

int ClusterStatus(Connection& c) {
  auto admin = v1::AdminService::NewStub(c.channel);
  v1::ClusterStatus status;
  if (grpc::Status s = admin->GetClusterStatus(c.Call().get(), v1::GetClusterStatusRequest(), &status); !s.ok())
    return Fail(s);
  if (c.json) {
    std::cout << ToJson(status) << "\n";
    return 0;
  }
  std::cout << "cluster " << status.cluster() << ", as " << status.node_id() << " sees it\n"
            << "leader: " << (status.leader_id().empty() ? "none known" : status.leader_id() + " at " + status.leader_address())
            << "\n"
            << "log: head " << status.head_position() << ", etcd holds " << status.log_entries() << " entries from "
            << status.first_position() << "\n";
  if (!status.failure().empty()) std::cout << "this replica stopped applying the log: " << status.failure() << "\n";
  std::cout << "\nmember\taddress\tapplied\tdurable\tlag\n";
  for (const auto& m : status.members())
    std::cout << m.node_id() << (m.leader() ? " (leader)" : "") << "\t" << m.address() << "\t" << m.applied_position()
              << "\t" << m.durable_position() << "\t" << m.lag() << "\n";
  std::cout << "\netcd\tstate\tversion\tdb size\tin use\traft index\n";
  for (const auto& e : status.etcd()) {
    if (!e.error().empty()) {
      std::cout << e.endpoint() << "\tunreachable: " << e.error() << "\n";
      continue;
    }
    std::cout << e.endpoint() << "\t" << (e.leader() ? "leader" : "follower") << "\t" << e.version() << "\t"
              << e.db_size_bytes() << "\t" << e.db_size_in_use_bytes() << "\t" << e.raft_index() << "\n";
  }
  return 0;
}

}  // namespace annals::cli
