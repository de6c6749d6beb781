// AdminService: proto/annals/v1/admin.proto. Backup cuts a RocksDB checkpoint of the
// store (storage/store_backup.cc) into a new directory on the server host;
// StreamCheckpoint sends one to the caller (service/checkpoint_stream.h).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "annals/v1/admin.grpc.pb.h"
#include "cluster/replica.h"
#include "service/call_support.h"

namespace annals::service {

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // `backup_root`: when not empty, backups must be written inside this directory.
  // `on_backup(revision, ok)` is told of every backup that reached the database.
  // `db_path`: the database's directory (StreamCheckpoint cuts its checkpoints beside it).
  AdminServiceImpl(const StoreSlot* slot, std::string db_path, std::string backup_root,
                   std::function<void(int64_t, bool)> on_backup = nullptr)
      : slot_(slot), db_path_(std::move(db_path)), backup_root_(std::move(backup_root)),
        on_backup_(std::move(on_backup)) {}

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx, const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;
  grpc::ServerWriteReactor<v1::CheckpointChunk>* StreamCheckpoint(grpc::CallbackServerContext* ctx,
                                                                  const v1::StreamCheckpointRequest* request) override;
  grpc::ServerUnaryReactor* GetClusterStatus(grpc::CallbackServerContext* ctx, const v1::GetClusterStatusRequest* request,
                                             v1::ClusterStatus* response) override;

  // The replica GetClusterStatus describes (nullptr: a single node, or not started yet).
  void SetReplica(cluster::Replica* replica) { replica_.store(replica); }

 private:
  const StoreSlot* slot_;
  std::atomic<cluster::Replica*> replica_{nullptr};
  std::string db_path_;
  std::string backup_root_;
  std::function<void(int64_t, bool)> on_backup_;
};

// INVALID_ARGUMENT naming target_dir unless `dir` is absolute, has no "." or ".."
// components, and (with a root) lies strictly inside `backup_root`.
absl::Status ValidateBackupDir(const std::string& dir, const std::string& backup_root);

}  // namespace annals::service
