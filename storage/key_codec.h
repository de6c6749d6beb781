// The on-disk key layout of every column family, and the codec that builds and parses it.
//
// Conventions: integers are fixed-width big-endian; signed ones (days) have their sign bit
// flipped so negative values (BCE, -infinity) sort first; `~rev` is the bitwise NOT of a
// revision, so the newest version of a record sorts first and "the version current at
// revision R" is one Seek. Ids and names end with a 0x00 byte (validation forbids 0x00
// inside them), which keeps "abc" and all its keys before "abc-d" and its keys.
//
//  column family  key                                                          value
//  -------------  -----------------------------------------------------------  -------------
//  meta           "format" | "revision" | "next_relation" | "position"          u64
//                 "pruned_through" (change records <= it are gone)             u64
//                 "log_start" (the first log position kept)                    u64
//                 "settings"                                                   Settings
//                 "cluster" (the cluster it is a member of; local)             text
//                 "index_rebuild" (while a rebuild of the index families runs)  u64
//                 "redirect" 00 | entity_id 00 | rev(8): a merge (target) or an  text
//                   unmerge ("") of the entity at rev (storage/redirects.h)
//  entities       entity_id 00 | ~rev(8)                                        EntityRecord
//  documents      document_id 00 | ~rev(8)                                      DocumentRecord
//  relations      relation_id 00 | ~rev(8)                                      RelationRecord
//  out            subject 00 | predicate 00 | tier(1) | s_lo(8) | rel_id 00 | rev(8)  IndexValue
//  in             object 00 | predicate 00 | tier(1) | s_lo(8) | rel_id 00 | rev(8)   IndexValue
//  by_predicate   predicate 00 | tier(1) | s_lo(8) | rel_id 00 | rev(8)               IndexValue
//  by_time        tier(1) | s_lo(8) | rel_id 00 | rev(8)                              IndexValue
//  by_document    document_id 00 | rel_id 00 | rev(8)                                 IndexValue
//  names          folded_words 00 | entity_id 00 | rev(8)                       rev_removed(8)
//  changes        rev(8)                                                        ChangeRecord
//  requests       request_id                                                    RequestRecord
//  log            position(8) | part(4)                                         LogEntry (its part)
//
// Index entries belong to one version of a record: `rev` is the revision that wrote that
// version, and the value's `rev_removed` the revision whose new version (or retraction)
// replaced it (kOpen while current). A read at revision R sees an entry when
// rev <= R < rev_removed.
//
// The relation index families are covering: the value carries, besides the time bounds
// and status, what of the relation the key does not hold (RelationSummary in record.proto:
// the other end or the literal value, the valid range as written), so a scan answers in
// the BASIC view without reading a record:
//
//   IndexValue = rev_removed(8) | s_lo(8) | s_hi(8) | e_lo(8) | e_hi(8) | status(1) | RelationSummary
//
// Time-bounded scans. `s_lo` is the first day the relation may have held (kMinusInfinity
// when its start is unbounded or unknown) and `tier` its duration class: the longest it can
// have lasted, e_hi - s_lo, rounded up to one of kTierReach (a day, a month, a year, a
// decade, a century, longer or open-ended). Within one tier every entry that can overlap a
// window [w_lo, w_hi] has w_lo - reach <= s_lo <= w_hi, so a window scan reads, tier by
// tier, only that slice of keys instead of everything from the beginning of time (Store's
// scans, store_read.cc). Only the last tier (open-ended, or longer than a century) is read
// from its start. The price is the order: within a prefix, entries come by tier, then by
// start.
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
// What kind of keys a family holds, and so how RocksDB is set up for it (rocks_options.cc).
enum class CfKind {
  kRocks,          // RocksDB's own default family; unused
  kMeta,           // named counters and settings
  kVersions,       // id 00 | ~rev: versions of records; filtered on the id
  kEdges,          // entity 00 | ...: relation index entries of one entity; filtered on it
  kRelationIndex,  // other relation index entries (covering values, IndexValue)
  kNames,          // name terms of entity versions
  kSequence,       // keyed by a number or an opaque id, read in order or by key
};
struct CfInfo {
  const char* name;
  CfKind kind;
  bool tiered;  // keys carry tier(1) | s_lo(8) before the relation id (time-bounded scans)
};
// One row per family, in Cf order.
inline constexpr CfInfo kFamilies[] = {
    {"default", CfKind::kRocks, false},
    {"meta", CfKind::kMeta, false},
    {"entities", CfKind::kVersions, false},
    {"documents", CfKind::kVersions, false},
    {"relations", CfKind::kVersions, false},
    {"out", CfKind::kEdges, true},
    {"in", CfKind::kEdges, true},
    {"by_predicate", CfKind::kRelationIndex, true},
    {"by_time", CfKind::kRelationIndex, true},
    {"by_document", CfKind::kRelationIndex, false},
    {"names", CfKind::kNames, false},
    {"changes", CfKind::kSequence, false},
    {"requests", CfKind::kSequence, false},
    {"log", CfKind::kSequence, false},
};
static_assert(sizeof(kFamilies) / sizeof(kFamilies[0]) == static_cast<size_t>(Cf::kCount));
inline const CfInfo& InfoOf(Cf cf) { return kFamilies[static_cast<int>(cf)]; }
inline const char* CfName(Cf cf) { return InfoOf(cf).name; }
// The families whose entries index relation versions (values are IndexValue).
inline constexpr Cf kRelationIndexFamilies[] = {Cf::kOut, Cf::kIn, Cf::kByPredicate, Cf::kByTime, Cf::kByDocument};

inline constexpr int64_t kOpen = INT64_MAX;  // rev_removed of a current index entry
// The database format. 1: before the commit log. 2: the `log` family, meta "position",
// "log_start" and "settings", ChangeRecord.position. 3: covering, tiered relation index
// entries (this file's layout). Store::Open upgrades older formats (storage/store_upgrade.cc)
// and refuses anything newer than it knows.
inline constexpr uint32_t kFormatVersion = 3;
// The layout of the index families' keys, which storage cursors (and so page tokens) are
// positions in. A change to any index key's layout bumps it, so that tokens cut from the
// old layout are refused rather than misread (service/page_token.h). 2: tiers.
inline constexpr uint32_t kIndexFormatVersion = 2;
// The LogEntry format this build writes and the newest it can apply.
inline constexpr uint32_t kLogEntryFormat = 1;

// Duration tiers: the longest span, e_hi - s_lo in days, of each tier; the last is
// unbounded (open-ended ranges, and anything longer than a century).
inline constexpr int64_t kTierReach[] = {0, 31, 366, 3660, 36600, kPlusInfinity};
inline constexpr int kTierCount = 6;
// The tier of a relation version with these bounds.
int TierOf(const TimeBounds& b);
// The first s_lo a window starting at `w_lo` can need in `tier` (kMinusInfinity: all).
int64_t TierScanStart(int tier, int64_t w_lo);

namespace key {

void AppendU64(std::string* out, uint64_t v);
void AppendDay(std::string* out, int64_t day);  // sign-flipped
void AppendId(std::string* out, std::string_view id);  // id then 0x00
uint64_t ReadU64(std::string_view bytes);  // first 8 bytes
int64_t ReadDay(std::string_view bytes);

// entities / documents / relations: id 00 | ~rev(8)
std::string Version(std::string_view id, int64_t rev);
std::string VersionPrefix(std::string_view id);
struct VersionKey {
  std::string_view id;
  int64_t rev = 0;
};
std::optional<VersionKey> ParseVersion(std::string_view key);
// The revision of a well-formed version key (its last 8 bytes).
int64_t VersionRevision(std::string_view key);

// The relation index families. Each builder takes the version's bounds, from which the
// key's tier and s_lo come.
std::string Out(std::string_view subject, std::string_view predicate, const TimeBounds& b,
                std::string_view rel_id, int64_t rev);
std::string In(std::string_view object, std::string_view predicate, const TimeBounds& b,
               std::string_view rel_id, int64_t rev);
std::string ByPredicate(std::string_view predicate, const TimeBounds& b, std::string_view rel_id,
                        int64_t rev);
std::string ByTime(const TimeBounds& b, std::string_view rel_id, int64_t rev);
std::string ByDocument(std::string_view document_id, std::string_view rel_id, int64_t rev);
// A key of any of them, parsed. Views point into the key.
struct RelationIndexKey {
  std::string_view entity;     // out: the subject; in: the object
  std::string_view predicate;  // out, in, by_predicate
  std::string_view document;   // by_document
  int tier = 0;                // tiered families
  int64_t s_lo = kMinusInfinity;
  std::string_view rel_id;
  int64_t rev = 0;
  // The key up to and including its tier byte: the run of keys a window scan reads a slice
  // of (tiered families only).
  std::string_view group;
};
std::optional<RelationIndexKey> ParseRelationIndex(Cf cf, std::string_view key);
// Where keys of `group` reach `s_lo`.
std::string GroupAt(std::string_view group, int64_t s_lo);
// The prefix of every key in `tier` under `prefix` (a tiered family's keys up to the tier).
std::string TierPrefix(std::string_view prefix, int tier);

// names: folded_words 00 | entity_id 00 | rev(8)
std::string Name(std::string_view folded, std::string_view entity_id, int64_t rev);
struct NameKey {
  std::string_view term, entity_id;
  int64_t rev = 0;
};
std::optional<NameKey> ParseName(std::string_view key);

// meta "redirect" 00 | entity_id 00 | rev(8): oldest first within an id.
std::string Redirect(std::string_view entity_id, int64_t rev);
inline constexpr std::string_view kRedirectPrefix{"redirect\0", 9};
struct RedirectKey {
  std::string_view entity_id;
  int64_t rev = 0;
};
std::optional<RedirectKey> ParseRedirect(std::string_view key);

std::string Change(int64_t rev);
// log: position(8) | part(4), and its decoder.
std::string Log(int64_t position, uint32_t part = 0);
struct LogKey {
  int64_t position = 0;
  uint32_t part = 0;
};
std::optional<LogKey> ParseLog(std::string_view key);

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

}  // namespace key

// The value of a relation index entry. `summary` is the RelationSummary's bytes; decoding
// leaves it pointing into the bytes decoded.
struct IndexValue {
  int64_t rev_removed = kOpen;
  TimeBounds bounds;
  int32_t status = 0;
  std::string_view summary;
};
std::string EncodeIndexValue(const IndexValue& v);
std::optional<IndexValue> DecodeIndexValue(std::string_view bytes);
inline constexpr size_t kIndexValueFixedBytes = 41;  // before the summary

}  // namespace annals::storage
