// Store::ExclusiveWriter: the bulk loader's narrow door into the store (see store.h).
#include <rocksdb/db.h>

#include "absl/strings/str_cat.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {

Store::ExclusiveWriter::ExclusiveWriter(Store& store) : store_(store), lock_(store.commit_mu_) {
  position_ = store_.LastPosition() + 1;
  revision_ = store_.LatestRevision() + 1;
  recorded_at_ = store_.NextRecordedTimeLocked();
}

Store::ExclusiveWriter::~ExclusiveWriter() = default;

std::unique_ptr<Store::ExclusiveWriter> Store::BeginExclusiveWrite() {
  return std::unique_ptr<ExclusiveWriter>(new ExclusiveWriter(*this));
}

int64_t Store::ExclusiveWriter::next_relation() const { return store_.next_relation_; }
const std::string& Store::ExclusiveWriter::writer_name() const { return store_.options_.writer; }

absl::StatusOr<bool> Store::ExclusiveWriter::LoadCurrent(Cf family, std::string_view id,
                                                         google::protobuf::Message* out) {
  if (revision_ == 1) return false;  // an empty store: no read needed
  return store_.LoadVersion(family, id, revision_ - 1, out);
}

rocksdb::ColumnFamilyHandle* Store::ExclusiveWriter::Handle(Cf family) const { return store_.cf(family); }
std::string Store::ExclusiveWriter::DatabasePath() const { return store_.db_->GetName(); }
void Store::ExclusiveWriter::OptionsFor(Cf family, rocksdb::Options* out) const {
  *out = store_.db_->GetOptions(store_.cf(family));
}

absl::Status Store::ExclusiveWriter::Publish(const std::vector<std::vector<std::string>>& files, const LogEntry& entry) {
  if (entry.position() != position_ || entry.recorded_at_micros() != recorded_at_)
    return absl::InternalError("bulk load: the entry does not match the writer's head");
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (size_t c = 0; c < files.size(); ++c) {
    if (files[c].empty()) continue;
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = store_.cf(static_cast<Cf>(c));
    arg.external_files = files[c];
    arg.options.move_files = true;          // same filesystem: hard links, no copy
    arg.options.snapshot_consistency = true;
    arg.options.allow_global_seqno = true;  // files may overlap existing keys (meta)
    arg.options.allow_blocking_flush = true;
    arg.options.write_global_seqno = false;
    args.push_back(std::move(arg));
  }
  RETURN_IF_ERROR(FromRocks(store_.db_->IngestExternalFiles(args)));
  store_.labels_.Clear();  // the load's entities are not listed here (label_cache.h)
  // Published only now: readers at the new revision see everything, earlier ones nothing.
  if (entry.next_relation() > 0) store_.next_relation_ = entry.next_relation();
  store_.last_recorded_micros_ = recorded_at_;
  store_.position_.store(position_, std::memory_order_release);
  if (entry.revision() > 0) {
    store_.latest_revision_.store(entry.revision(), std::memory_order_release);
    if (store_.commit_listener_) store_.commit_listener_(entry.revision());
  }
  return absl::OkStatus();
}

}  // namespace annals::storage
