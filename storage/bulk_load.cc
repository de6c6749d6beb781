// BulkLoader: one revision from sorted SST files (see bulk_load.h for the rules).
#include "storage/bulk_load.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <filesystem>
#include <set>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/index_entries.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/version_writer.h"

namespace annals::storage {
namespace {

// Key/value pairs of one column family, sorted when written out. They live in fixed 1 MiB
// blocks rather than one growing string: regrowing a string copied the whole buffer each
// time it doubled (13% of a load's time in memmove, profiled).
class KvBuffer {
 public:
  void Add(std::string_view k, std::string_view v) {
    const size_t need = k.size() + v.size();
    if (blocks_.empty() || used_ + need > block_size_) {
      block_size_ = std::max(kBlockBytes, need);
      blocks_.emplace_back(new char[block_size_]);  // not make_unique: that zeroes the block first
      used_ = 0;
      bytes_ += block_size_;
    }
    char* at = blocks_.back().get() + used_;
    std::memcpy(at, k.data(), k.size());
    std::memcpy(at + k.size(), v.data(), v.size());
    used_ += need;
    Entry& e = entries_.emplace_back();
    e.data = at;
    e.key_size = static_cast<uint32_t>(k.size());
    e.value_size = static_cast<uint32_t>(v.size());
    LoadDigits(e, 0);
  }
  size_t bytes() const { return bytes_ + entries_.capacity() * sizeof(Entry); }
  bool empty() const { return entries_.empty(); }
  // Sorts and writes everything to `path`, showing each key to `each_key` first, in order
  // (its error stops the writing); INTERNAL on a duplicate key.
  absl::Status WriteSst(const std::string& path, const rocksdb::Options& options,
                        rocksdb::ColumnFamilyHandle* handle, int64_t* file_bytes,
                        const std::function<absl::Status(std::string_view key)>& each_key) {
    SortFrom(entries_.data(), entries_.data() + entries_.size(), 0);
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, handle);
    RETURN_IF_ERROR(FromRocks(writer.Open(path)));
    for (size_t i = 0; i < entries_.size(); ++i) {
      // In sorted order the keys are scattered over the blocks: ask for them a few entries
      // ahead, so the copy into the table does not wait on memory key by key.
      if (i + kAhead < entries_.size()) Prefetch(entries_[i + kAhead], 0);
      const Entry& e = entries_[i];
      const std::string_view k = Key(e), v = Value(e);
      if (each_key) RETURN_IF_ERROR(each_key(k));
      // SstFileWriter refuses a key not greater than the previous one: a duplicate.
      rocksdb::Status put = writer.Put(rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size()));
      if (put.IsInvalidArgument()) return absl::InternalError("bulk load: the same key twice in one column family");
      RETURN_IF_ERROR(FromRocks(put));
    }
    rocksdb::ExternalSstFileInfo info;
    RETURN_IF_ERROR(FromRocks(writer.Finish(&info)));
    *file_bytes = static_cast<int64_t>(info.file_size);
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  static constexpr size_t kDigit = 16;  // key bytes an entry carries for sorting
  static constexpr size_t kAhead = 8;   // entries prefetched ahead of a pass over them
  struct Entry {
    uint64_t p0 = 0, p1 = 0;  // key bytes [depth, depth + 16), big-endian, zero-padded
    const char* data = nullptr;
    uint32_t key_size = 0, value_size = 0;
  };
  static std::string_view Key(const Entry& e) { return {e.data, e.key_size}; }
  static std::string_view Value(const Entry& e) { return {e.data + e.key_size, e.value_size}; }
  static void Prefetch(const Entry& e, size_t depth) {
    __builtin_prefetch(e.data + depth);
    if (e.key_size + e.value_size > depth + 64) __builtin_prefetch(e.data + depth + 64);
  }
  static void LoadDigits(Entry& e, size_t depth) {
    uint64_t p[2] = {0, 0};
    for (size_t i = 0; i < kDigit; ++i) {
      const size_t at = depth + i;
      p[i / 8] = (p[i / 8] << 8) | (at < e.key_size ? static_cast<uint8_t>(e.data[at]) : 0);
    }
    e.p0 = p[0];
    e.p1 = p[1];
  }
  // Sorts [begin, end) by key bytes, all of them equal before `depth`. A radix sort on
  // 16-byte digits: entries are sorted by the digit they carry, and each run that ties is
  // sorted again on its next digit. Each key is read once per digit of prefix it shares,
  // where a comparison sort read both keys at every tie: those reads missed the cache
  // (the keys are scattered over the blocks) and were two thirds of a spill (perf).
  static void SortFrom(Entry* begin, Entry* end, size_t depth) {
    std::sort(begin, end, [](const Entry& a, const Entry& b) { return a.p0 != b.p0 ? a.p0 < b.p0 : a.p1 < b.p1; });
    for (Entry* run = begin; run != end;) {
      Entry* next = run + 1;
      while (next != end && next->p0 == run->p0 && next->p1 == run->p1) ++next;
      if (next - run > 1) {
        const bool longer = std::any_of(run, next, [&](const Entry& e) { return e.key_size > depth + kDigit; });
        if (longer) {
          for (Entry* e = run; e != next; ++e) {
            if (next - e > static_cast<std::ptrdiff_t>(kAhead)) Prefetch(e[kAhead], depth + kDigit);
            LoadDigits(*e, depth + kDigit);
          }
          SortFrom(run, next, depth + kDigit);
        } else {
          // Equal up to their ends (zero-padded): each is a prefix of the longer ones.
          std::sort(run, next, [](const Entry& a, const Entry& b) { return a.key_size < b.key_size; });
        }
      }
      run = next;
    }
  }
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_size_ = 0, used_ = 0, bytes_ = 0;
  std::vector<Entry> entries_;
};

// The buffers of every column family, filled together and written out together.
using FamilyBuffers = std::array<KvBuffer, static_cast<size_t>(Cf::kCount)>;

// A list of ids, each ended by 00 (what a spill gathers from its sorted keys), read front
// to back: Next() moves `id` to the next one, false at the end.
struct IdListReader {
  std::string_view rest, id;
  bool Next() {
    if (rest.empty()) return false;
    const size_t end = rest.find('\0');
    id = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    return true;
  }
};

absl::Status RelationGivenTwice(std::string_view id) {
  return absl::InvalidArgumentError(absl::StrCat("relation '", std::string(id), "' appears twice in the load"));
}

}  // namespace

// The loader writes through the store's ExclusiveWriter (store.h): it holds the commit
// lock, and its Publish ingests the files and makes them the next log entry.
class BulkLoader::Impl {
 public:
  Impl(Store& store, BulkLoadOptions options)
      : writer_(store.BeginExclusiveWrite()),
        options_(options),
        sink_(this),
        versions_(sink_, writer_->revision(), writer_->recorded_at_micros()) {
    rev_ = writer_->revision();
    now_ = writer_->recorded_at_micros();
    next_relation_ = writer_->next_relation();
    dir_ = absl::StrCat(writer_->DatabasePath(), "/bulk-", rev_, "-tmp");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);  // a leftover of a load that never finished
    std::filesystem::create_directories(dir_, ec);
    if (ec) status_ = absl::InternalError(absl::StrCat("bulk load: cannot create ", dir_, ": ", ec.message()));
  }
  ~Impl() {
    AwaitSpill().IgnoreError();  // its files are in dir_
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int64_t revision() const { return rev_; }

  absl::Status AddEntity(const EntityRecord& entity) {
    RETURN_IF_ERROR(status_);
    if (!entities_.insert(entity.id()).second)
      return Sticky(absl::InvalidArgumentError(absl::StrCat("entity '", entity.id(), "' appears twice in the load")));
    *part_.add_entities() = entity;
    EntityRecord previous;
    ASSIGN_OR_RETURN(bool had, Sticky(writer_->LoadCurrent(Cf::kEntities, entity.id(), &previous)));
    if (had && !previous.merged_into().empty())  // as UpsertEntities refuses it (store_commit.cc)
      return Sticky(absl::FailedPreconditionError(
          absl::StrCat("entity '", entity.id(), "' is merged into '", previous.merged_into(),
                       "': write the survivor, or unmerge it first")));
    if (VersionWriter::Unchanged(had ? &previous : nullptr, entity)) {
      ++stats_.unchanged_count;
      return absl::OkStatus();
    }
    versions_.Entity(entity, had ? &previous : nullptr);
    ++stats_.entities_written;
    return MaybeSpill();
  }

  absl::Status AddDocument(const DocumentRecord& document) {
    RETURN_IF_ERROR(status_);
    if (!documents_.insert(document.id()).second)
      return Sticky(absl::InvalidArgumentError(absl::StrCat("document '", document.id(), "' appears twice in the load")));
    *part_.add_documents() = document;
    DocumentRecord previous;
    ASSIGN_OR_RETURN(bool had, Sticky(writer_->LoadCurrent(Cf::kDocuments, document.id(), &previous)));
    if (VersionWriter::Unchanged(had ? &previous : nullptr, document)) {
      ++stats_.unchanged_count;
      return absl::OkStatus();
    }
    versions_.Document(document, had ? &previous : nullptr);
    ++stats_.documents_written;
    return MaybeSpill();
  }

  absl::StatusOr<std::string> AddRelation(RelationRecord rec) {
    RETURN_IF_ERROR(status_);
    const bool assigned = rec.id().empty();
    if (assigned) {
      ASSIGN_OR_RETURN(std::string id, AssignRelationId());
      rec.set_id(std::move(id));
    }
    // A repeat within the load is found when the relation keys are sorted (WriteFamilies);
    // only explicit ids the counter could also make are remembered here, so it skips them.
    if (!assigned && LooksAssigned(rec.id())) explicit_counter_ids_.insert(rec.id());
    if (!assigned) {
      RelationRecord ignored;
      ASSIGN_OR_RETURN(bool exists, Sticky(writer_->LoadCurrent(Cf::kRelations, rec.id(), &ignored)));
      if (exists)
        return Sticky(absl::InvalidArgumentError(absl::StrCat(
            "relation '", rec.id(), "' already exists: a bulk load only adds relations")));
    }
    auto bounds = BoundsOf(rec.valid());
    if (!bounds.ok()) return Sticky(absl::InvalidArgumentError(absl::StrCat("relation '", rec.id(), "': ", bounds.status().message())));
    // The entities and documents it names are collected from the sorted out, in and
    // by_document keys (WriteFamilies) and checked by Finish.
    rec.set_retracted(false);
    rec.clear_retraction_reason();
    *part_.add_relations() = rec;
    versions_.Relation(rec, *bounds, nullptr);
    ++stats_.relations_written;
    RETURN_IF_ERROR(MaybeSpill());
    return rec.id();
  }

  absl::StatusOr<BulkLoadStats> Finish() {
    RETURN_IF_ERROR(status_);
    status_ = absl::FailedPreconditionError("bulk load: Finish() was called already");
    // The change-log record, the counters and the log entry's last part (its header) go
    // into the same atomic ingestion.
    const int64_t written = stats_.entities_written + stats_.documents_written + stats_.relations_written;
    LogEntry header;
    if (written > 0) {
      ChangeRecord& change = versions_.mutable_change();
      // The order every writer applies an entry's items in (Store::Apply), so a replay of
      // this entry writes the same change record.
      std::stable_sort(change.mutable_changes()->begin(), change.mutable_changes()->end(),
                       [](const ChangeEntry& a, const ChangeEntry& b) {
                         return ChangeKindOrder(a.kind()) < ChangeKindOrder(b.kind());
                       });
      change.set_position(writer_->position());
      Put(Cf::kChanges, key::Change(rev_), SerializeDeterministic(change));
      Put(Cf::kMeta, "revision", U64Value(rev_));
      Put(Cf::kMeta, "position", U64Value(writer_->position()));
      header.set_format(kLogEntryFormat);
      header.set_position(writer_->position());
      header.set_recorded_at_micros(now_);
      header.set_writer(absl::StrCat(writer_->writer_name(), " bulk-load"));
      header.set_revision(rev_);
      header.set_bulk(true);
      if (next_relation_ != writer_->next_relation()) {
        header.set_next_relation(next_relation_);
        Put(Cf::kMeta, "next_relation", U64Value(next_relation_));
      }
      header.MergeFrom(part_);
      part_ = std::move(header);
      header = part_;  // what Publish checks; its items do not matter there
      PutLogPart();
    }
    RETURN_IF_ERROR(Spill());
    RETURN_IF_ERROR(CheckRelationIdsAcrossSpills());
    // References: to items of the load, or to records current before it (a tombstone is
    // not one: the entity or document was deleted).
    for (const auto& id : referenced_entities_) {
      if (entities_.contains(id)) continue;
      EntityRecord current;
      ASSIGN_OR_RETURN(bool exists, writer_->LoadCurrent(Cf::kEntities, id, &current));
      if (!exists || current.deleted()) return absl::InvalidArgumentError(absl::StrCat("entity '", id, "' does not exist"));
    }
    for (const auto& id : referenced_documents_) {
      if (documents_.contains(id)) continue;
      DocumentRecord current;
      ASSIGN_OR_RETURN(bool exists, writer_->LoadCurrent(Cf::kDocuments, id, &current));
      if (!exists || current.deleted()) return absl::InvalidArgumentError(absl::StrCat("document '", id, "' does not exist"));
    }
    if (written == 0) {
      stats_.revision = rev_ - 1;
      return stats_;
    }

    std::vector<std::vector<std::string>> files(static_cast<size_t>(Cf::kCount));
    for (int c = 0; c < static_cast<int>(Cf::kCount); ++c) files[c] = files_[c];
    RETURN_IF_ERROR(writer_->Publish(files, header));
    stats_.revision = rev_;
    return stats_;
  }

 private:
  absl::Status Sticky(absl::Status s) {
    if (!s.ok() && status_.ok()) status_ = s;
    return s;
  }
  template <typename T>
  absl::StatusOr<T> Sticky(absl::StatusOr<T> s) {
    if (!s.ok() && status_.ok()) status_ = s.status();
    return s;
  }
  void Put(Cf family, std::string_view k, std::string_view v) {
    (*buffers_)[static_cast<int>(family)].Add(k, v);
  }
  // The loader's keys go to the buffers of the current spill.
  class BufferSink : public KeySink {
   public:
    explicit BufferSink(Impl* impl) : impl_(impl) {}
    void Put(Cf family, std::string_view k, std::string_view v) override { impl_->Put(family, k, v); }

   private:
    Impl* impl_;
  };
  // The items added since the last part, as one part of the load's log entry: its bytes
  // go into the log family's table file beside the keys they made.
  void PutLogPart() {
    Put(Cf::kLog, key::Log(writer_->position(), log_parts_++), SerializeDeterministic(part_));
    part_.Clear();
  }
  absl::StatusOr<std::string> AssignRelationId() {
    for (;;) {
      std::string id = absl::StrCat("r", next_relation_++);
      if (explicit_counter_ids_.contains(id)) continue;
      RelationRecord ignored;
      ASSIGN_OR_RETURN(bool taken, Sticky(writer_->LoadCurrent(Cf::kRelations, id, &ignored)));
      if (!taken) return id;
    }
  }
  // Once the buffers hold `spill_bytes`, they are written out on a background thread while
  // the caller goes on adding (the sort and the SST writing used to wait for Finish, on a
  // machine whose second core sat idle meanwhile). At most one spill runs; a second waits
  // for it, so memory stays under about twice `spill_bytes`.
  absl::Status MaybeSpill() {
    size_t total = 0;
    for (const auto& b : *buffers_) total += b.bytes();
    if (total < options_.spill_bytes) return absl::OkStatus();
    PutLogPart();
    RETURN_IF_ERROR(Sticky(AwaitSpill()));
    auto full = std::move(buffers_);
    buffers_ = std::make_unique<FamilyBuffers>();
    const int seq = spill_seq_++;
    spilling_ = std::async(std::launch::async, [this, seq, full = std::move(full)]() mutable {
      return WriteFamilies(*full, seq, 1);
    });
    return absl::OkStatus();
  }
  absl::Status AwaitSpill() {
    if (!spilling_.valid()) return absl::OkStatus();
    return spilling_.get();
  }
  // Writes every non-empty buffer of `buffers` as one SST file of its family, on `threads`
  // threads (the families are independent), and records the files.
  absl::Status WriteFamilies(FamilyBuffers& buffers, int seq, int threads) {
    constexpr int kFamilies = static_cast<int>(Cf::kCount);
    std::vector<absl::Status> statuses(kFamilies);
    std::vector<int64_t> bytes(kFamilies, 0);
    std::vector<std::string> paths(kFamilies);
    // What the sorted keys tell, gathered on the way to the files: the distinct first ids
    // of out, in and by_document (the entities and documents named), and the relation ids
    // in order, where a repeat is a relation given twice.
    std::vector<std::string> named(kFamilies);  // distinct first ids, each ended by 00
    std::string relation_ids;                   // every relation id, each ended by 00
    std::atomic<int> next{0};
    auto work = [&] {
      for (int c; (c = next.fetch_add(1)) < kFamilies;) {
        KvBuffer& buffer = buffers[c];
        if (buffer.empty()) continue;
        rocksdb::ColumnFamilyHandle* handle = writer_->Handle(static_cast<Cf>(c));
        rocksdb::Options table_options;
        writer_->OptionsFor(static_cast<Cf>(c), &table_options);
        paths[c] = absl::StrCat(dir_, "/", CfName(static_cast<Cf>(c)), "-", seq, ".sst");
        statuses[c] = buffer.WriteSst(paths[c], table_options, handle, &bytes[c],
                                      KeyObserver(static_cast<Cf>(c), &named[c], &relation_ids));
        buffer = KvBuffer();
      }
    };
    std::thread helper;
    if (threads > 1) helper = std::thread(work);
    work();
    if (helper.joinable()) helper.join();
    std::lock_guard<std::mutex> lock(files_mu_);
    for (int c = 0; c < kFamilies; ++c) {
      RETURN_IF_ERROR(statuses[c]);
      if (paths[c].empty()) continue;
      files_[c].push_back(paths[c]);
      ++stats_.sst_files;
      stats_.sst_bytes += bytes[c];
    }
    for (Cf family : {Cf::kOut, Cf::kIn, Cf::kByDocument}) {
      auto& into = family == Cf::kByDocument ? referenced_documents_ : referenced_entities_;
      for (IdListReader ids{named[static_cast<int>(family)], {}}; ids.Next();) into.emplace(ids.id);
    }
    if (!relation_ids.empty()) relation_id_runs_.push_back(std::move(relation_ids));
    return absl::OkStatus();
  }
  // What WriteFamilies learns from the sorted keys of `family` (see there).
  std::function<absl::Status(std::string_view)> KeyObserver(Cf family, std::string* named, std::string* relation_ids) {
    if (family == Cf::kRelations)
      return [relation_ids, last = std::string_view()](std::string_view k) mutable -> absl::Status {
        const auto version = key::ParseVersion(k);
        if (!version) return absl::InternalError("bulk load: built a malformed relations key");
        const std::string_view id = version->id;
        if (id == last) return RelationGivenTwice(id);
        last = id;  // the key stays in the buffer until the file is written
        relation_ids->append(id.data(), id.size()).push_back('\0');
        return absl::OkStatus();
      };
    if (family == Cf::kOut || family == Cf::kIn || family == Cf::kByDocument)
      return [family, named, last = std::string_view()](std::string_view k) mutable -> absl::Status {
        const auto entry = key::ParseRelationIndex(family, k);
        if (!entry) return absl::InternalError(absl::StrCat("bulk load: built a malformed ", CfName(family), " key"));
        const std::string_view id = family == Cf::kByDocument ? entry->document : entry->entity;
        if (id != last) named->append(id.data(), id.size()).push_back('\0');
        last = id;
        return absl::OkStatus();
      };
    return nullptr;
  }
  // A relation given in two spills: each spill's ids are in order, so one merge finds it.
  absl::Status CheckRelationIdsAcrossSpills() const {
    if (relation_id_runs_.size() < 2) return absl::OkStatus();
    auto later = [](const IdListReader& a, const IdListReader& b) { return a.id > b.id; };
    std::vector<IdListReader> heap;
    for (const auto& run : relation_id_runs_) {
      IdListReader c{run, {}};
      if (c.Next()) heap.push_back(c);
    }
    std::make_heap(heap.begin(), heap.end(), later);
    std::string_view last;
    bool any = false;
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      IdListReader& c = heap.back();
      if (any && c.id == last) return RelationGivenTwice(c.id);
      last = c.id;
      any = true;
      if (c.Next())
        std::push_heap(heap.begin(), heap.end(), later);
      else
        heap.pop_back();
    }
    return absl::OkStatus();
  }
  // "r" and digits: an id the relation counter could also assign.
  static bool LooksAssigned(std::string_view id) {
    return id.size() > 1 && id[0] == 'r' &&
           std::all_of(id.begin() + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  // The last spill, at Finish: waits for a background one, then writes the rest on two threads.
  absl::Status Spill() {
    RETURN_IF_ERROR(AwaitSpill());
    return WriteFamilies(*buffers_, spill_seq_++, 2);
  }

  std::unique_ptr<Store::ExclusiveWriter> writer_;
  BulkLoadOptions options_;
  BufferSink sink_;
  VersionWriter versions_;
  LogEntry part_;  // the items since the last log part
  uint32_t log_parts_ = 0;
  absl::Status status_;
  int64_t rev_ = 0, now_ = 0, next_relation_ = 1;
  std::string dir_;
  BulkLoadStats stats_;
  std::unique_ptr<FamilyBuffers> buffers_ = std::make_unique<FamilyBuffers>();
  std::future<absl::Status> spilling_;  // the background spill, when one runs
  int spill_seq_ = 0;
  std::mutex files_mu_;  // files_ and the file figures of stats_, written by spills
  std::vector<std::string> files_[static_cast<int>(Cf::kCount)];
  absl::flat_hash_set<std::string> entities_, documents_;
  absl::flat_hash_set<std::string> explicit_counter_ids_;  // explicit ids of the form "r<digits>"
  // Filled by spills (under files_mu_): ids named by relations, and each spill's relation ids.
  absl::flat_hash_set<std::string> referenced_entities_, referenced_documents_;
  std::vector<std::string> relation_id_runs_;
};

BulkLoader::BulkLoader(Store& store, BulkLoadOptions options)
    : impl_(std::make_unique<Impl>(store, options)) {}
BulkLoader::~BulkLoader() = default;
int64_t BulkLoader::revision() const { return impl_->revision(); }
absl::Status BulkLoader::AddEntity(const EntityRecord& entity) { return impl_->AddEntity(entity); }
absl::Status BulkLoader::AddDocument(const DocumentRecord& document) { return impl_->AddDocument(document); }
absl::StatusOr<std::string> BulkLoader::AddRelation(RelationRecord relation) {
  return impl_->AddRelation(std::move(relation));
}
absl::StatusOr<BulkLoadStats> BulkLoader::Finish() { return impl_->Finish(); }

}  // namespace annals::storage
