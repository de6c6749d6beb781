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

}  // namespace annals::cli
