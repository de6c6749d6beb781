// VerifyDatabase: an offline consistency check of an Annals database (`annals verify`).
//
// It opens the RocksDB directory read-only (OpenForReadOnly, every column family; safe on
// the directory of a stopped server, and it takes no lock, so a running server is not
// disturbed, though what it sees of a live one is only what has reached the files) and
// re-derives, independently of the committer, what storage/key_codec.h says must hold:
//
//   records   every version key is `id 00 ~rev`, its record parses, names the same id
//             and revision, and 1 <= rev <= the meta revision; relation bounds are valid
//   indexes   every entry of out, in, by_predicate, by_time, by_document and names parses,
//             points at an existing, non-retracted record version whose fields produce
//             exactly that key, and its value agrees with the record (bounds, status) and
//             with the next version (rev_removed = the revision of the next version, or
//             open for the newest); conversely every such version has all its entries
//   changes   one change record per revision from 1 (or the retention horizon,
//             meta pruned_through + 1) to the meta revision, no gaps; each entry points at
//             the version written at that revision with the right kind and previous
//             revision, and every version written after the horizon has its entry
//   meta      the format version is known; the revision counter equals the newest
//             version and change record; request records parse and are not from the future
//   log       entries gapless from meta log_start to meta position, readable, of a known
//             entry format, in increasing recorded time; each entry that wrote revision R
//             is named by R's change record, and every version that record names is the
//             entry's item (same content; for a retraction, the same reason)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace annals::storage {

struct VerifyOptions {
  // Problems described in full; the rest are only counted.
  int max_reported = 50;
};

struct VerifyReport {
  int64_t revision = 0;        // meta revision
  int64_t pruned_through = 0;  // change-log records up to this one are gone (retention)
  int64_t entity_versions = 0, document_versions = 0, relation_versions = 0;
  int64_t index_entries = 0;  // out, in, by_predicate, by_time, by_document
  int64_t name_entries = 0;
  int64_t change_records = 0, request_records = 0;
  int64_t position = 0, log_entries = 0;  // meta position, and the entries the log holds
  int64_t problem_count = 0;
  std::vector<std::string> problems;  // the first max_reported, one line each

  bool ok() const { return problem_count == 0; }
  // "ok: revision 12, 30 record versions, 112 index entries, ..." or the problems, one per line.
  std::string Summary() const;
};

// Checks the database at `path` (see above). An error status means it could not be read
// at all (missing directory, not an Annals database, I/O); inconsistencies are problems
// in the report.
absl::StatusOr<VerifyReport> VerifyDatabase(const std::string& path, const VerifyOptions& options = {});

}  // namespace annals::storage
