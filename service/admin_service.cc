#include "service/admin_service.h"

#include "service/checkpoint_stream.h"
#include "service/request_validation.h"

#include <google/protobuf/util/time_util.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace annals::service {

absl::Status ValidateBackupDir(const std::string& dir, const std::string& backup_root) {
  namespace fs = std::filesystem;
  if (dir.empty()) return BadField("target_dir", "required (an absolute path on the server host)");
  const fs::path path(dir);
  if (!path.is_absolute())
    return BadField("target_dir", absl::StrCat("must be an absolute path, got \"", dir, "\""));
  for (const auto& part : path)
    if (part == "." || part == "..")
      return BadField("target_dir", absl::StrCat("must not contain \".\" or \"..\" components, got \"", dir, "\""));
  if (!backup_root.empty()) {
    const fs::path root = fs::path(backup_root).lexically_normal();
    const fs::path rel = path.lexically_normal().lexically_relative(root);
    if (rel.empty() || rel == "." || *rel.begin() == "..")
      return BadField("target_dir",
                      absl::StrCat("must be inside the server's --backup-root ", backup_root, ", got \"", dir, "\""));
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
    if (!result.ok()) return storage::UnderField("target_dir", result.status());
    response->set_target_dir(request->target_dir());
    response->set_revision(result->revision);
    response->set_size_bytes(result->size_bytes);
    *response->mutable_taken_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetClusterStatus(grpc::CallbackServerContext* ctx,
                                                             const v1::GetClusterStatusRequest*,
                                                             v1::ClusterStatus* response) {
  return Reply(ctx, [&]() -> absl::Status {
    cluster::Replica* replica = replica_.load();
    if (replica == nullptr)
      return absl::FailedPreconditionError("this annalsd is a single node, not a cluster member (no --etcd-endpoints)");
    auto view = replica->Describe();
    if (!view.ok()) return view.status();
    response->set_cluster(replica->options().cluster);
    response->set_node_id(replica->options().node_id);
    response->set_leader_id(view->self.leader_id);
    response->set_leader_address(view->self.leader_address);
    response->set_head_position(view->head);
    response->set_first_position(view->first);
    response->set_log_entries(view->log_entries);
    response->set_failure(view->self.failure);
    for (const auto& m : view->members) {
      auto* out = response->add_members();
      out->set_node_id(m.node_id);
      out->set_address(m.address);
      out->set_applied_position(m.applied);
      out->set_durable_position(m.durable);
      out->set_lag(std::max<int64_t>(0, view->head - m.applied));
      out->set_leader(m.node_id == view->self.leader_id);
    }
    for (const auto& e : view->etcd) {
      auto* out = response->add_etcd();
      out->set_endpoint(e.endpoint);
      out->set_error(e.error);
      out->set_version(e.version);
      out->set_db_size_bytes(e.db_size);
      out->set_db_size_in_use_bytes(e.db_size_in_use);
      out->set_leader(e.leader);
      out->set_raft_index(e.raft_index);
    }
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
