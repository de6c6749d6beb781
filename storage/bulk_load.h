// BulkLoader: loads many entities, documents and relations into a Store as ONE revision by
// building sorted SST files per column family (rocksdb::SstFileWriter) and ingesting them
// with one atomic rocksdb::DB::IngestExternalFiles call, instead of going through the
// WriteBatch committer. For initial loads and large imports (issue #8).
//
// What it writes is exactly what Store::Commit would write for the same WriteSet: record
// versions, every index entry (out, in, by_predicate, by_time, by_document, names), the
// change-log record of the revision and the meta counters (revision, next_relation).
//
// Rules (differences from Commit):
//  * Relations must be new: a relation id that already exists in the store, or twice in
//    the load, is INVALID_ARGUMENT (change existing relations with Commit/Ingest). An
//    empty id is assigned ("r" + counter), as Commit does. A repeat within the load is
//    found on the sorted keys, so it is reported by a later Add or by Finish().
//  * Entities and documents may be new or new versions of existing ones; one identical
//    to its current version is not written (counted as unchanged), as with Commit.
//  * Every subject/object/document named by a relation must exist in the store or in the
//    load (checked by Finish(), on the ids gathered from the sorted index keys);
//    retractions and request ids are not supported.
//
// Atomicity and visibility:
//  * The loader takes the store's commit lock when it is created and holds it until
//    Finish() or destruction: online commits wait for the whole load (reads do not).
//  * Every key it builds carries the revision R = latest + 1. Nothing reaches the
//    database before Finish(): the SST files are written under <db>/bulk-R-tmp/.
//  * Finish() ingests the files of ALL column families — records, indexes, the change-log
//    record of R and the meta "revision"/"next_relation" keys — in ONE
//    IngestExternalFiles call, which RocksDB applies atomically (one MANIFEST edit): after
//    a crash either all of revision R is there or none of it. Only then is R published
//    to readers (LatestRevision) and to watchers (the commit listener).
//  * Readers at revisions < R never see the new entries, even in the instant between the
//    ingestion and the publication: every index entry is filtered by its revision.
//  * A crash or error before the ingestion leaves the store as it was, plus a leftover
//    bulk-R-tmp directory (removed by the next BulkLoader at that revision, or by hand).
//  * The ingested files are synced by RocksDB before the MANIFEST edit: a finished load
//    survives a machine crash, like a commit with --sync.
//  * Memory: keys are buffered per family up to `spill_bytes` in total, then written out
//    as one SST file per family on a background thread while the load goes on; a large
//    load makes several, possibly overlapping, files per family (RocksDB places them and
//    compacts them later).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace annals::storage {

struct BulkLoadOptions {
  // Buffered keys and values (all families) that trigger writing them out as SST files on
  // a background thread, while adding goes on. Memory peaks near twice this.
  size_t spill_bytes = size_t{64} << 20;
};

struct BulkLoadStats {
  int64_t revision = 0;  // the revision committed (latest when nothing was written)
  int64_t entities_written = 0, documents_written = 0, relations_written = 0;
  int64_t unchanged_count = 0;
  int sst_files = 0;
  int64_t sst_bytes = 0;
};

class BulkLoader {
 public:
  // Takes the store's commit lock (see above) until Finish() or destruction.
  explicit BulkLoader(Store& store, BulkLoadOptions options = {});
  ~BulkLoader();
  BulkLoader(const BulkLoader&) = delete;
  BulkLoader& operator=(const BulkLoader&) = delete;

  // The revision the load will commit as.
  int64_t revision() const;

  // Add items; records are validated for shape by the caller (as for Commit). Errors are
  // sticky: after one, Finish() fails and writes nothing.
  absl::Status AddEntity(const EntityRecord& entity);
  absl::Status AddDocument(const DocumentRecord& document);
  // Returns the relation's id (assigned when empty).
  absl::StatusOr<std::string> AddRelation(RelationRecord relation);

  // Checks references, writes the remaining SST files, ingests everything atomically and
  // publishes the revision. Call once.
  absl::StatusOr<BulkLoadStats> Finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace annals::storage
