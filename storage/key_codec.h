// The on-disk key layout of every column family, and the codec that builds and parses it.
//
// Conventions: integers are fixed-width big-endian; signed ones (days) have their sign bit
// flipped so negative values (BCE, -infinity) sort first; `~rev` is the bitwise NOT of a
// revision, so the newest version of a record sorts first and "the version current at
// revision R" is one Seek. Ids and names end with a 0x00 byte (validation forbids 0x00
// inside them), which keeps "abc" and all its keys before "abc-d" and its keys.
//
//  column family  key                                                     value
//  -------------  ------------------------------------------------------  -------------------
//  meta           "format" | "revision" | "next_relation" | "position"     u64
//                 "pruned_through" (change records <= it are gone)        u64
//                 "log_start" (the first log position kept)               u64
//                 "settings"                                              Settings
//                 "cluster" (the cluster it is a member of; local)        text
//  entities       entity_id 00 | ~rev(8)                                   EntityRecord
//  documents      document_id 00 | ~rev(8)                                 DocumentRecord
//  relations      relation_id 00 | ~rev(8)                                 RelationRecord
//  out            subject 00 | predicate 00 | s_lo(8) | rel_id 00 | rev(8)  IndexValue
//  in             object 00 | predicate 00 | s_lo(8) | rel_id 00 | rev(8)   IndexValue
//  by_predicate   predicate 00 | s_lo(8) | rel_id 00 | rev(8)               IndexValue
//  by_time        s_lo(8) | rel_id 00 | rev(8)                              IndexValue
//  by_document    document_id 00 | rel_id 00 | rev(8)                       IndexValue
//  names          folded_words 00 | entity_id 00 | rev(8)                   rev_removed(8)
//  changes        rev(8)                                                    ChangeRecord
//  requests       request_id                                                RequestRecord
//  log            position(8) | part(4)                                     LogEntry (its part)
//
// Index entries belong to one version of a record: `rev` is the revision that wrote that
// version, and the value's `rev_removed` the revision whose new version (or retraction)
// replaced it (kOpen while current). A read at revision R sees an entry when
// rev <= R < rev_removed, then loads the record at exactly (id, rev).
//
// `s_lo` is the first day the relation may have held (kMinusInfinity when its start is
// unbounded or unknown), so a window [w_lo, w_hi] scans keys with s_lo <= w_hi and filters
// the rest with the bounds kept in the IndexValue:
//
//   IndexValue = rev_removed(8) | s_lo(8) | s_hi(8) | e_lo(8) | e_hi(8) | status(1)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/valid_time.h"

namespace annals::storage {

// The column families, in the order they are opened; kDefault is RocksDB's own.
enum class Cf : int {
  kDefault = 0,
  kMeta,
  kEntities,
  kDocuments,
  kRelations,
  kOut,
  kIn,
  kByPredicate,
  kByTime,
  kByDocument,
  kNames,
  kChanges,
  kRequests,
  kLog,
  kCount
};
const char* CfName(Cf cf);

inline constexpr int64_t kOpen = INT64_MAX;  // rev_removed of a current index entry
// The database format. 1: before the commit log. 2: the `log` family, meta "position",
// "log_start" and "settings", ChangeRecord.position. Store::Open upgrades 1 to 2
// (storage/store_upgrade.cc) and refuses anything newer than it knows.
inline constexpr uint32_t kFormatVersion = 2;
// The layout of the index families' keys, which storage cursors (and so page tokens) are
// positions in. A change to any index key's layout bumps it, so that tokens cut from the
// old layout are refused rather than misread (service/page_token.h).
inline constexpr uint32_t kIndexFormatVersion = 1;
// The LogEntry format this build writes and the newest it can apply.
inline constexpr uint32_t kLogEntryFormat = 1;

namespace key {

void AppendU64(std::string* out, uint64_t v);
void AppendDay(std::string* out, int64_t day);  // sign-flipped
void AppendId(std::string* out, std::string_view id);  // id then 0x00
uint64_t ReadU64(std::string_view bytes);  // first 8 bytes
int64_t ReadDay(std::string_view bytes);

// entities / documents / relations
std::string Version(std::string_view id, int64_t rev);
std::string VersionPrefix(std::string_view id);
// The revision of a version key (its last 8 bytes).
int64_t VersionRevision(std::string_view key);

std::string Out(std::string_view subject, std::string_view predicate, int64_t s_lo,
                std::string_view rel_id, int64_t rev);
std::string In(std::string_view object, std::string_view predicate, int64_t s_lo,
               std::string_view rel_id, int64_t rev);
std::string ByPredicate(std::string_view predicate, int64_t s_lo, std::string_view rel_id,
                        int64_t rev);
std::string ByTime(int64_t s_lo, std::string_view rel_id, int64_t rev);
std::string ByDocument(std::string_view document_id, std::string_view rel_id, int64_t rev);
std::string Name(std::string_view folded, std::string_view entity_id, int64_t rev);
std::string Change(int64_t rev);
// log: position(8) | part(4), and its decoder.
std::string Log(int64_t position, uint32_t part = 0);
struct LogKey {
  int64_t position = 0;
  uint32_t part = 0;
};
std::optional<LogKey> ParseLog(std::string_view key);

// The (id, rev) tail shared by every index key: the record the entry points at.
struct IndexTail {
  std::string_view id;
  int64_t rev = 0;
};
// Parses the tail of a key of `cf` (one of the index families or kNames).
std::optional<IndexTail> ParseTail(Cf cf, std::string_view key);

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

}  // namespace key

struct IndexValue {
  int64_t rev_removed = kOpen;
  TimeBounds bounds;
  int32_t status = 0;
};
std::string EncodeIndexValue(const IndexValue& v);
std::optional<IndexValue> DecodeIndexValue(std::string_view bytes);

}  // namespace annals::storage
