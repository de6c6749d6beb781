#include "service/checkpoint_stream.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/grpc_status.h"
#include "storage/key_codec.h"

namespace annals::service {
namespace {

// A directory beside the database (so Backup hard-links its table files) that no other
// stream uses.
std::string TemporaryDirFor(const std::string& db_path) {
  namespace fs = std::filesystem;
  static std::atomic<int> counter{0};
  fs::path db = fs::absolute(fs::path(db_path)).lexically_normal();
  if (db.filename().empty()) db = db.parent_path();
  // The time too: in a container annalsd is PID 1 at every start.
  return absl::StrCat(db.string(), ".checkpoint-", absl::ToUnixMicros(absl::Now()), "-", getpid(), "-",
                      counter.fetch_add(1));
}

}  // namespace

CheckpointStream::CheckpointStream(storage::Store* store, const std::string& db_path) {
  namespace fs = std::filesystem;
  const std::string dir = TemporaryDirFor(db_path);
  auto cut = store->Backup(dir);
  if (!cut.ok()) {
    Finish(ToGrpc(cut.status()));
    return;
  }
  dir_ = dir;
  header_.set_format_version(storage::kFormatVersion);
  header_.set_position(cut->position);
  header_.set_revision(cut->revision);
  if (auto cluster = store->ClusterName(); cluster.ok()) header_.set_cluster(*cluster);
  std::error_code ec;
  // increment(ec), not ++: nothing may throw inside a gRPC callback.
  for (fs::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto* f = header_.add_files();
    f->set_name(fs::relative(it->path(), dir_, ec).string());
    f->set_size(static_cast<int64_t>(it->file_size(ec)));
    header_.set_total_bytes(header_.total_bytes() + f->size());
  }
  if (ec) {
    Finish(grpc::Status(grpc::StatusCode::INTERNAL, absl::StrCat("listing the checkpoint ", dir_, ": ", ec.message())));
    return;
  }
  *chunk_.mutable_header() = header_;
  StartWrite(&chunk_);
}

void CheckpointStream::OnWriteDone(bool ok) {
  if (!ok) {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the receiver went away"));
    return;
  }
  WriteNext();
}

void CheckpointStream::WriteNext() {
  chunk_.Clear();
  if (file_ == header_.files_size()) {
    Finish(grpc::Status::OK);
    return;
  }
  const v1::CheckpointFile& f = header_.files(file_);
  if (offset_ == 0) {
    in_.open(std::filesystem::path(dir_) / f.name(), std::ios::binary);
    digest_ = storage::StableDigest();
  }
  const int64_t n = std::min(kChunkBytes, f.size() - offset_);
  std::string* data = chunk_.mutable_data();
  data->resize(static_cast<size_t>(n));
  if (n > 0 && !in_.read(data->data(), n)) {
    Finish(grpc::Status(grpc::StatusCode::INTERNAL, absl::StrCat("reading ", f.name(), " of the checkpoint failed")));
    return;
  }
  digest_.Add(*data);
  chunk_.set_file(f.name());
  chunk_.set_offset(offset_);
  offset_ += n;
  if (offset_ == f.size()) {
    chunk_.set_file_digest(digest_.Hex());
    in_.close();
    ++file_;
    offset_ = 0;
  }
  StartWrite(&chunk_);
}

void CheckpointStream::OnDone() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  delete this;
}

}  // namespace annals::service
