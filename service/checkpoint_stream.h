// CheckpointStream: the reactor of AdminService.StreamCheckpoint. It cuts a checkpoint of
// the store (Store::Backup) into a temporary directory beside the database, streams a
// header and then every file in chunks of at most 1 MiB (each file's last chunk carries
// the digest of the whole file), and removes the directory when the call ends, however it
// ends. cluster/bootstrap.h is the receiving end.
#pragma once

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <string>

#include "annals/v1/admin.grpc.pb.h"
#include "storage/stable_digest.h"
#include "storage/store.h"

namespace annals::service {

class CheckpointStream final : public grpc::ServerWriteReactor<v1::CheckpointChunk> {
 public:
  static constexpr int64_t kChunkBytes = 1 << 20;

  // Cuts the checkpoint and starts writing; a failure finishes the call with its status.
  CheckpointStream(storage::Store* store, const std::string& db_path);
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  // Writes the next chunk, or finishes the call after the last one.
  void WriteNext();

  std::string dir_;  // the checkpoint's temporary directory ("" when none was made)
  v1::CheckpointHeader header_;
  int file_ = 0;        // the file being sent
  int64_t offset_ = 0;  // the next byte of it
  std::ifstream in_;
  storage::StableDigest digest_;
  v1::CheckpointChunk chunk_;
};

}  // namespace annals::service
