#include "service/admin_service.h"

#include "service/checkpoint_stream.h"

#include <google/protobuf/util/time_util.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace annals::service {

absl::Status ValidateBackupDir(const std::string& dir, const std::string& backup_root) {
  namespace fs = std::filesystem;
  if (dir.empty()) return absl::InvalidArgumentError("target_dir: required (an absolute path on the server host)");
  const fs::path path(dir);
  if (!path.is_absolute())
    return absl::InvalidArgumentError(absl::StrCat("target_dir: must be an absolute path, got \"", dir, "\""));
  for (const auto& part : path)
    if (part == "." || part == "..")
      return absl::InvalidArgumentError(
          absl::StrCat("target_dir: must not contain \".\" or \"..\" components, got \"", dir, "\""));
  if (!backup_root.empty()) {
    const fs::path root = fs::path(backup_root).lexically_normal();
    const fs::path rel = path.lexically_normal().lexically_relative(root);
    if (rel.empty() || rel == "." || *rel.begin() == "..")
      return absl::InvalidArgumentError(
          absl::StrCat("target_dir: must be inside the server's --backup-root ", backup_root, ", got \"", dir, "\""));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(grpc::CallbackServerContext* ctx, const v1::BackupRequest* request,
                                                   v1::BackupResponse* response) {
  return Reply(ctx, [&]() -> absl::Status {
    if (auto s = ValidateBackupDir(request->target_dir(), backup_root_); !s.ok()) return s;
    auto store = slot_->Get();
    if (!store.ok()) return store.status();
    auto result = (*store)->Backup(request->target_dir());
    if (on_backup_ && (result.ok() || (result.status().code() != absl::StatusCode::kInvalidArgument &&
                                       result.status().code() != absl::StatusCode::kAlreadyExists &&
                                       result.status().code() != absl::StatusCode::kFailedPrecondition)))
      on_backup_(result.ok() ? result->revision : 0, result.ok());
    if (!result.ok()) return result.status();
    response->set_target_dir(request->target_dir());
    response->set_revision(result->revision);
    response->set_size_bytes(result->size_bytes);
    *response->mutable_taken_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::CheckpointChunk>* AdminServiceImpl::StreamCheckpoint(
    grpc::CallbackServerContext*, const v1::StreamCheckpointRequest*) {
  auto store = slot_->Get();
  if (!store.ok()) {
    // A reactor that only refuses: the database is not open yet.
    class Refused : public grpc::ServerWriteReactor<v1::CheckpointChunk> {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpc(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(store.status());
  }
  return new CheckpointStream(*store, db_path_);
}

}  // namespace annals::service
