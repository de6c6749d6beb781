// Store: the temporal graph on RocksDB. Knows nothing of gRPC; speaks absl::Status and the
// record types of storage/record.proto. Key layout: storage/key_codec.h.
//
// Writes go through one committer (Commit): a batch in, one commit-log entry out
// (LogEntry, storage/record.proto; docs/commit-log.md), and with it at most one revision,
// all of it in a single RocksDB WriteBatch — the entry, records, every index entry, the
// change-log record, the counters and the request-id record together — so a crash never
// leaves an index disagreeing with its records or its log. Apply replays an entry written
// by another store the same way, so a copy of the log gives a copy of the database. The
// WAL is always on: an acknowledged commit survives a crash of the process; with `sync`
// it also survives a crash of the machine.
//
// Reads take a revision and answer exactly as the store stood after that commit. They run
// concurrently with each other and with a commit. All methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/field_error.h"
#include "storage/key_codec.h"
#include "storage/label_cache.h"
#include "storage/record.pb.h"
#include "storage/redirects.h"
#include "storage/relation_filter.h"
#include "storage/valid_time.h"

namespace rocksdb {
class DB;
class WriteBatch;
struct Options;
class ColumnFamilyHandle;
class Iterator;
}  // namespace rocksdb

namespace annals::storage {

struct StoreOptions {
  // fsync the WAL on every commit (survives power loss, not only process crashes).
  bool sync = false;
  // RocksDB block cache, bytes.
  size_t block_cache_bytes = 256 << 20;

  // Database-wide settings (Settings in record.proto) are recorded in the commit log, not
  // taken from each process: these two are proposals. When one is set and differs from
  // what the database records, Open commits a settings entry; unset keeps the database's
  // (a new database starts with DefaultSettings()).
  //   retain_revisions: revisions of history kept readable (as_of reads, diffs, watches);
  //     0 keeps all. Older change-log records and log entries are deleted as it moves.
  //   request_id_ttl: how long a committed request_id is remembered for retries.
  std::optional<int64_t> retain_revisions;
  std::optional<absl::Duration> request_id_ttl;

  // The writer's clock, unix microseconds (default: the system clock). Only the writer
  // reads it, to stamp an entry's recorded time; Apply never does.
  std::function<int64_t()> clock;
  // The writer's name in the entries it writes.
  std::string writer = "annalsd";
};

// Settings of a new database: all history kept, request ids remembered for 7 days.
Settings DefaultSettings();

struct Retraction {
  std::string id;
  std::string reason;
};

// Deletes an entity or a document (a tombstone version). Refused with FAILED_PRECONDITION
// while a current relation names the entity or cites the document, unless `cascade`: then
// the same revision retracts the relations naming the entity, and takes the document out
// of the sources of the relations citing it (retracting those it was the only source of).
struct Deletion {
  DeletionItem::Kind kind = DeletionItem::ENTITY;
  std::string id;
  bool cascade = false;
};

// Merges the entity `id` into the survivor `into` (storage/redirects.h), or, with `into`
// empty, undoes the merge of `id`. Refused (FAILED_PRECONDITION, NOT_FOUND or
// INVALID_ARGUMENT naming "merges[i].id" or "merges[i].into") for an unknown or deleted
// id, an entity into itself, into an entity merged itself, an entity merged already, and
// an unmerge of an entity that is not merged; so no chain of merges closes into a cycle.
struct Merge {
  std::string id;
  std::string into;
};

// A batch of writes, validated for shape by the caller; committed whole or not at all.
// Within a batch, relations may name entities and documents of the same batch. Deletions
// and merges come alone: a batch with either holds nothing else (INVALID_ARGUMENT
// "deletions" / "merges").
struct WriteSet {
  std::string request_id;   // empty: not idempotent
  std::string fingerprint;  // digest of the payload, to tell a retry from a reuse
  std::vector<EntityRecord> entities;
  std::vector<DocumentRecord> documents;
  std::vector<RelationRecord> relations;  // an empty id is assigned by the store
  std::vector<Retraction> retractions;
  std::vector<Deletion> deletions;
  std::vector<Merge> merges;
};


struct CommitResult {
  // The revision committed; when nothing needed writing, the latest revision checked.
  int64_t revision = 0;
  int64_t recorded_at_micros = 0;
  // The request_id had been committed before with the same payload: nothing was written
  // now, and this is the first commit's result.
  bool replayed = false;
  std::vector<std::string> entity_ids, document_ids, relation_ids;  // request order
  int entities_written = 0, documents_written = 0, relations_written = 0;
  int unchanged_count = 0;
  int written_count() const { return entities_written + documents_written + relations_written; }
};

// A commit's answer as its request record keeps it (what a retry of its request id is
// answered with), and back. The cluster's forwarding carries answers in the same form.
RequestRecord ResponseOf(const CommitResult& result, const std::string& fingerprint);
CommitResult ResultOf(const RequestRecord& record);  // `replayed` is left false

// What Store::Prepare makes of a WriteSet: the entry that would commit it (none when it
// needs none: a replay of a request id, or nothing to write and no request id), and the
// answer the commit gives once the entry is applied.
struct PreparedCommit {
  std::optional<LogEntry> entry;
  CommitResult result;
};

// How much of each relation a scan returns (AIP-157). kBasic: what the index entries hold
// (id, ends, predicate, valid range, status, revision), read without any record; kFull:
// the record as stored.
enum class View { kBasic, kFull };

// One relation a scan found. `outgoing`: it was read from the anchor's outgoing side
// (the filter's entity is its subject); false for the incoming side.
struct RelationHit {
  RelationRecord relation;
  bool outgoing = true;
};

struct RelationPage {
  std::vector<RelationHit> hits;
  std::string next_cursor;  // empty at the end; else more hits exist, after these
};

struct EntityPage {
  std::vector<EntityRecord> entities;
  std::string next_cursor;
};

// Versions of one record, oldest first.
template <typename Record>
struct HistoryPage {
  std::vector<Record> versions;
  bool more = false;  // later versions exist beyond the page
};

class Store {
 public:
  // Opens (creating if missing) the database at `path`. Fails with FAILED_PRECONDITION
  // when the directory holds an unknown format version.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The newest committed revision (0 for an empty store).
  int64_t LatestRevision() const { return latest_revision_.load(std::memory_order_acquire); }
  // The position of the last commit-log entry written or applied (0 for an empty store).
  int64_t LastPosition() const { return position_.load(std::memory_order_acquire); }
  // The first position the log still holds: 1, unless retention trimmed it, or the
  // database was written before the log (storage/store_upgrade.cc).
  int64_t FirstLogPosition() const;
  // The database-wide settings in force.
  Settings CurrentSettings() const;
  // The cluster this database serves as a member of (meta "cluster", written when a
  // replica joins; cluster/replica.h); empty for a single node. Local to this copy: not
  // part of the log, nor of the state digest.
  absl::StatusOr<std::string> ClusterName();
  absl::Status SetClusterName(const std::string& name);

  // Resolves a request's as_of_revision: 0 means latest; beyond latest, or before the
  // retention horizon, is OUT_OF_RANGE.
  absl::StatusOr<int64_t> ResolveRevision(int64_t as_of) const;

  // The oldest revision still readable: as_of reads need rev >= it, and change-log reads
  // need from_revision >= it. 0 while all history is kept.
  int64_t OldestRevision() const;
  // OUT_OF_RANGE naming the oldest revision when changes after `from_revision` are gone.
  absl::Status CheckChangesAvailable(int64_t from_revision) const;

  // Called after every commit that wrote something, with its revision, on the committing
  // thread while commits are held: it must be quick (signal, do not work).
  void SetCommitListener(std::function<void(int64_t)> listener);

  // Commits `batch` as one revision. INVALID_ARGUMENT carries every bad item
  // (storage/field_error.h; paths into the WriteSet: "relations[2].subject"); NOT_FOUND /
  // FAILED_PRECONDITION for a retraction of a missing / retracted relation
  // ("retractions[0].id"), and for a deletion of an entity or document that does not exist
  // / is still referenced ("deletions[0].id"); ALREADY_EXISTS for a request_id reused with
  // another payload. On any error nothing is written. A deletion's result lists the
  // deleted id among entity_ids or document_ids and the relations its cascade changed
  // among relation_ids.
  absl::StatusOr<CommitResult> Commit(const WriteSet& batch);

  // Commit's first half, for a writer whose entries go through another log first (the
  // cluster's leader, cluster/replica.h): validates `batch` against the store at its head
  // exactly as Commit does and returns the entry Commit would write, or Commit's answer
  // when no entry is needed. Writes nothing; the caller applies the entry with Apply once
  // its log has it, and no other commit may come between (the caller serializes them).
  absl::StatusOr<PreparedCommit> Prepare(const WriteSet& batch);

  // Commits a settings entry when `settings` differ from those in force; returns the
  // position of the entry that set them. INVALID_ARGUMENT for a negative retention or a
  // TTL that is not positive.
  absl::StatusOr<int64_t> UpdateSettings(const Settings& settings);

  // Applies one entry written by another store (a replay, a follower): the store must be
  // at entry.position() - 1, and ends at entry.position() in exactly the state its writer
  // reached. Reads nothing but the entry and the store (no clock, no options). On any
  // error nothing is written: FAILED_PRECONDITION when the entry cannot be applied here
  // (another position, a newer entry format or fields this build does not know, an item
  // that does not fit this store), DATA_LOSS when applying it would not give what its
  // writer recorded (the stores have diverged). The message names the entry.
  absl::Status Apply(const LogEntry& entry);

  // Makes every entry written or applied so far durable (fsyncs the WAL; a no-op beyond
  // that when the store syncs every commit) and returns the last position it covers: a
  // replica publishes it so the cluster knows what it may trim (cluster/replica.h).
  absl::StatusOr<int64_t> SyncLog();

  // Calls `visit` with each entry at positions [from, to] the log holds, in order, until
  // it returns false. OUT_OF_RANGE when `from` is before FirstLogPosition().
  absl::Status ReadLog(int64_t from, int64_t to, const std::function<bool(const LogEntry&)>& visit);

  // A digest of the whole state, every key and value of every family but the log itself
  // (which is what produced it), or of the data alone (records, indexes, change log and
  // revision counters: what reads can see). Two stores that applied the same entries have
  // the same digest. Hex, 32 characters.
  enum class DigestScope { kState, kData };
  absl::StatusOr<std::string> StateDigest(DigestScope scope = DigestScope::kState);
  // The same, one digest per column family (by name): which part of two stores differs.
  absl::StatusOr<std::map<std::string, std::string>> FamilyDigests(DigestScope scope = DigestScope::kState);

  // The version current at `rev`, or nullopt (also when it is a tombstone: deleted at or
  // before `rev`). GetRelation returns retracted versions too.
  //
  // Merges are resolved (storage/redirects.h): GetEntity and GetEntities of an entity
  // merged at `rev` answer with its survivor (redirected_from set to the id asked), and a
  // survivor lists its merged entities in merged_ids and their labels and aliases among its
  // aliases. LoadEntityAsWritten reads the version itself. GetRelation answers as written
  // (ResolveEnds shows it as a resolving read does).
  absl::StatusOr<std::optional<EntityRecord>> GetEntity(std::string_view id, int64_t rev);
  absl::StatusOr<std::optional<EntityRecord>> LoadEntityAsWritten(std::string_view id, int64_t rev);
  // The entity `id` stands for at `rev`: the end of its chain of merges (itself when it is
  // not merged), and every entity merged into `survivor` at `rev`, directly or not.
  std::string ResolveEntityId(std::string_view id, int64_t rev) const;
  std::vector<std::string> MergedInto(std::string_view survivor, int64_t rev) const;
  // A relation's ends as a read that resolves merges shows them: each end merged at `rev`
  // replaced by its survivor, the id as written kept in written_subject / written_object.
  void ResolveEnds(int64_t rev, RelationRecord* relation) const;
  absl::StatusOr<std::optional<DocumentRecord>> GetDocument(std::string_view id, int64_t rev);
  absl::StatusOr<std::optional<RelationRecord>> GetRelation(std::string_view id, int64_t rev);
  // The label and kind of each entity at `rev` (nullopt: none), in the order given: what the
  // BASIC view names a neighbour by. Mostly from a cache of newest versions (label_cache.h),
  // right at every revision.
  absl::StatusOr<std::vector<std::optional<LabelCache::Label>>> GetLabels(const std::vector<std::string>& ids,
                                                                          int64_t rev);
  // GetEntity for many ids at once (one iterator), in the order given.
  absl::StatusOr<std::vector<std::optional<EntityRecord>>> GetEntities(const std::vector<std::string>& ids,
                                                                       int64_t rev);

  // Relations visible at `rev` that pass `filter` (relation_filter.h), after `cursor`, at
  // most `limit`, in the order of the filter's plan of scans (PlanScans). The one read of
  // relations by filter: ListRelations, Neighbors, the graph queries and the change
  // feed's scopes all come here. Unless the filter asks for ids as written, merges are
  // resolved: an anchor stands for its survivor and everything merged into it (their
  // scans follow the survivor's, in id order), `other_id` matches through merges, and
  // every hit's ends are shown resolved (ResolveEnds).
  absl::StatusOr<RelationPage> FindRelations(const RelationFilter& filter, int64_t rev, std::string_view cursor,
                                             int limit, View view = View::kFull);

  // Entities with a name term starting with the folded `query` (all when empty), each once.
  absl::StatusOr<EntityPage> SearchEntities(std::string_view query, std::string_view kind,
                                            int64_t rev, std::string_view cursor, int limit);

  // Documents current at `rev`, in id order, after the id `cursor`; at most `limit`.
  absl::StatusOr<std::pair<std::vector<DocumentRecord>, std::string>> ListDocuments(int64_t rev,
                                                                                    std::string_view cursor, int limit);

  // The change-log record of one revision.
  absl::StatusOr<std::optional<ChangeRecord>> GetChange(int64_t rev);

  // Calls `visit` with each change-log record of revisions in (after, up_to], in order,
  // until it returns false.
  absl::Status ScanChanges(int64_t after, int64_t up_to, const std::function<bool(const ChangeRecord&)>& visit);

  // Versions of a record written after revision `after`, oldest first, at most `limit`.
  // Record is EntityRecord, DocumentRecord or RelationRecord.
  template <typename Record>
  absl::StatusOr<HistoryPage<Record>> History(std::string_view id, int64_t after, int limit);

  // --- The bulk loader's door (storage/bulk_load.h; store_exclusive.cc) ---

  // Holds the commit lock from creation to destruction, so nothing else commits while a
  // bulk load builds its table files; reads go on. It tells the loader where the store's
  // head is, and its one write is Publish: the loader's files, ingested atomically, as the
  // next entry of the log.
  class ExclusiveWriter {
   public:
    ~ExclusiveWriter();
    // The entry the load will be, and the revision it will write.
    int64_t position() const { return position_; }
    int64_t revision() const { return revision_; }
    int64_t recorded_at_micros() const { return recorded_at_; }
    // The relation-id counter at the head.
    int64_t next_relation() const;
    const std::string& writer_name() const;
    // The version of `id` current at the head (revision() - 1); false when none.
    absl::StatusOr<bool> LoadCurrent(Cf family, std::string_view id, google::protobuf::Message* out);
    // What a table file for `family` must be built with.
    rocksdb::ColumnFamilyHandle* Handle(Cf family) const;
    void OptionsFor(Cf family, rocksdb::Options* out) const;
    std::string DatabasePath() const;
    // Ingests `files` (per family, Cf order) in one atomic IngestExternalFiles and
    // publishes `entry` (its header: position(), revision, recorded time, next_relation),
    // whose parts are among the files. Call once; on error nothing is published.
    absl::Status Publish(const std::vector<std::vector<std::string>>& files, const LogEntry& entry);

   private:
    friend class Store;
    explicit ExclusiveWriter(Store& store);
    Store& store_;
    std::unique_lock<std::mutex> lock_;
    int64_t position_ = 0, revision_ = 0, recorded_at_ = 0;
  };
  std::unique_ptr<ExclusiveWriter> BeginExclusiveWrite();

  // --- Operations: backups and figures for metrics (storage/store_backup.cc) ---

  struct BackupResult {
    int64_t revision = 0;    // every commit up to this one, nothing after
    int64_t position = 0;    // the last log entry it holds
    int64_t size_bytes = 0;  // bytes in the new directory (hard links counted in full)
  };
  // Writes a consistent checkpoint of the whole database into `dir`, which must not exist
  // (its parent must): table files are hard-linked when on the same filesystem, copied
  // otherwise. Commits wait while it is cut; reads do not. Opening `dir` (or a copy of
  // it) as a Store answers exactly as this store did at the returned revision.
  absl::StatusOr<BackupResult> Backup(const std::string& dir);

  // RocksDB figures, summed over the column families. Counters are since Open.
  struct Figures {
    uint64_t live_sst_bytes = 0;        // rocksdb.live-sst-files-size
    uint64_t memtable_bytes = 0;        // rocksdb.cur-size-all-mem-tables
    uint64_t estimated_keys = 0;        // rocksdb.estimate-num-keys
    uint64_t table_reader_bytes = 0;    // rocksdb.estimate-table-readers-mem: index and
                                        // filter blocks, held outside the block cache
    uint64_t block_cache_usage = 0;     // rocksdb.block-cache-usage (shared cache: once)
    uint64_t block_cache_capacity = 0;  // rocksdb.block-cache-capacity
    uint64_t block_cache_hits = 0;      // statistics ticker BLOCK_CACHE_HIT (0 without statistics)
    uint64_t block_cache_misses = 0;    // statistics ticker BLOCK_CACHE_MISS
    uint64_t prefix_filter_skips = 0;   // ticker BLOOM_FILTER_PREFIX_USEFUL: table files a
                                        // prefix filter kept a seek out of
    bool has_statistics = false;        // whether the hit and miss counters are kept
  };
  Figures Properties() const;

 private:
  class EntryBuilder;
  struct BuiltEntry {
    std::unique_ptr<EntryBuilder> builder;
    CommitResult result;
    bool wrote = false;
  };
  struct Prepared {
    std::optional<LogEntry> entry;  // with revision and response set
    std::optional<BuiltEntry> built;
    CommitResult result;
  };
  absl::StatusOr<Prepared> PrepareLocked(const WriteSet& batch);
  // The deletions' items of an entry, and their cascades expanded into its relations and
  // retractions against the store at its head.
  absl::Status AddDeletionsLocked(const std::vector<Deletion>& deletions, LogEntry* entry);
  // A survivor's view: merged_ids, and their names among its aliases.
  absl::Status AddMergedNames(EntityRecord* survivor, int64_t rev);
  // Fills redirects_ from meta's redirect keys, at Open (a bulk load writes no merges).
  absl::Status LoadRedirects();
  // Of a survivor's group (itself and merged_ids), the smallest id whose own names have
  // the name term `term` at `rev`: where a search emits the group.
  absl::StatusOr<std::string> FirstWithTerm(const EntityRecord& survivor, const std::string& term, int64_t rev);
  Store() = default;

  // The commit path (store_commit.cc); each needs commit_mu_ held.
  int64_t NextRecordedTimeLocked() const;
  absl::StatusOr<std::string> AssignRelationIdLocked(const absl::flat_hash_set<std::string>& taken, int64_t rev);
  absl::StatusOr<BuiltEntry> BuildEntryLocked(const LogEntry& entry);
  // A new entry at the next position: format, position, recorded time and writer set.
  LogEntry NewEntryLocked(int64_t recorded_at) const;
  // Writes the entry, stamped (revision, response) by PrepareLocked or checked by Apply,
  // with everything built, and publishes it.
  absl::Status WriteEntryLocked(const LogEntry& entry, BuiltEntry& built);
  // The recorded time of the entry at LastPosition() (0 when the log holds none). Reads
  // only its last part, which carries the header: a bulk load's entry is not parsed whole.
  absl::StatusOr<int64_t> LastEntryRecordedMicros();
  absl::Status PruneLocked(rocksdb::WriteBatch& wb, int64_t horizon, int64_t* new_log_start);
  // Format 1 to 2 (store_upgrade.cc): the log family, rebuilt from the change log.
  absl::Status UpgradeFromFormat1Locked();
  // Format 2 to 3 (store_upgrade.cc): every relation index entry rebuilt in today's layout.
  absl::Status UpgradeIndexesLocked();
  template <typename Record>
  absl::Status RewriteDeterministic(Cf family, rocksdb::WriteBatch& wb);

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[static_cast<int>(c)]; }
  // Loads the newest version of `id` at or before `rev` into `out`; false when none.
  absl::StatusOr<bool> LoadVersion(Cf family, std::string_view id, int64_t rev,
                                   google::protobuf::Message* out);
  // LoadVersion on an iterator the caller owns (reused across ids).
  absl::StatusOr<bool> SeekVersion(rocksdb::Iterator* it, Cf family, std::string_view id, int64_t rev,
                                   google::protobuf::Message* out);
  // Loads the version written at exactly `rev`.
  absl::StatusOr<bool> LoadExact(Cf family, std::string_view id, int64_t rev,
                                 google::protobuf::Message* out);
  // LoadExact of many versions, by their keys (key::Version), in one MultiGet; each must
  // exist (DATA_LOSS otherwise).
  absl::Status LoadExactMany(Cf family, const std::vector<std::string>& keys,
                             const std::vector<google::protobuf::Message*>& out);
  // Walks one relation index family from `from` (inclusive) to `until` (exclusive; empty:
  // the end), calling `visit(key, parsed key, value)` for the entries visible at `rev` that
  // can overlap `window`, until it returns false. In a tiered family it reads only the
  // slice of each tier the window can reach (key_codec.h), seeking over the rest.
  template <typename Visit>
  absl::Status ScanRelationIndex(Cf family, const std::string& from, const std::string& until,
                                 const std::optional<DayWindow>& window, int64_t rev, Visit&& visit);

  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<int64_t> latest_revision_{0};
  std::atomic<int64_t> position_{0};
  mutable std::mutex settings_mu_;  // settings_ changes under commit_mu_ and this; reads take this
  Settings settings_;
  std::atomic<int64_t> log_start_{1};  // changes under commit_mu_
  std::mutex commit_mu_;  // one committer at a time
  std::function<void(int64_t)> commit_listener_;  // guarded by commit_mu_
  int64_t pruned_through_ = 0;  // change-log records <= this are deleted; guarded by commit_mu_
  int64_t next_relation_ = 1;        // guarded by commit_mu_
  // Entities and documents the committer has seen committed (and not deleted since): a hit
  // needs no read; a miss reads the store. A deletion takes its id out when its entry is
  // written. Cleared when it reaches kKnownIdsCap.
  absl::flat_hash_set<std::string> known_entities_, known_documents_;  // guarded by commit_mu_
  LabelCache labels_;  // every writer of entity versions invalidates it (label_cache.h)
  // Every merge and unmerge, loaded from meta at Open, recorded as entries are written.
  Redirects redirects_;
  int64_t last_recorded_micros_ = 0;  // guarded by commit_mu_
};

}  // namespace annals::storage
