// Which relations a read wants. One vocabulary for every relation read: ListRelations,
// Neighbors, the graph queries (Traverse, FindPaths, the timeline views) and the change
// feed's scopes (DiffRevisions, DiffWindows, Watch). docs/filters.md says what each field
// means to a user; service/relation_filter_parse.h is the one place a request becomes one.
//
// A read runs a filter as a plan of index scans (PlanScans): the relations at one entity
// are read from `out` and `in`, those of given predicates from `by_predicate`, and so on.
// The plan is a list, and a page cursor names its position as (scan number, last key), so
// one filter may need several scans and still page exactly. The predicate vocabulary
// (issue #22) plugs in here: an asked predicate that stands for several stored ones, or
// an inverse read from the other end, only adds scans to the plan.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/key_codec.h"
#include "storage/record.pb.h"
#include "storage/valid_time.h"

namespace annals::storage {

struct RelationFilter {
  // Anchored at one entity: relations with `entity_id` as their subject (when `outgoing`)
  // or as their object (when `incoming`). Empty: not anchored.
  std::string entity_id;
  bool outgoing = true, incoming = true;
  // With an anchor only: the far end must be this entity.
  std::string other_id;
  // Any of these predicates; empty: every predicate. Scans follow this order.
  std::vector<std::string> predicates;
  // Only relations citing this document.
  std::string document_id;
  // ClaimStatus values; empty: asserted (an unspecified status counts as asserted).
  std::vector<int> statuses;
  std::optional<DayWindow> window;
  // Ids as written: no merge is resolved (Store::FindRelations). The committer's own checks
  // read this way, as do `annals verify` and the deletion cascades.
  bool as_written = false;
};

// Every ClaimStatus, for a filter that wants relations whatever their status (a change
// feed scope: a planned event that is postponed is a change worth seeing).
std::vector<int> EveryStatus();

// The one predicate rule, for writes and reads alike: 1 to 128 bytes. The service checks
// it on every request (service/request_validation.h).
inline constexpr size_t kMaxPredicateBytes = 128;

// Does a status pass the filter's statuses?
bool StatusWanted(const std::vector<int>& wanted, int status);

// Does the relation pass the filter? Needs the whole record for `document_id` (a basic
// record from an index entry has no sources).
bool Matches(const RelationFilter& filter, const RelationRecord& relation);

// One range of one relation index that a filter reads.
struct IndexScan {
  Cf family;
  std::string prefix;  // every key of the range starts with it ("" = the whole family)
  bool needs_document_check = false;  // the record must be read to test document_id
};

// The scans that answer `filter`, in the order a listing returns them: anchored filters
// read outgoing then incoming, predicate by predicate in the filter's order; otherwise by
// predicate, else by document, else everything by time. Within a scan, keys come in index
// order (key_codec.h: by tier, then start).
std::vector<IndexScan> PlanScans(const RelationFilter& filter);

// A position in a plan: after `key` in scan `scan`. Encoded as scan(2, big-endian) | key.
struct ScanCursor {
  size_t scan = 0;
  std::string key;
};
std::string EncodeScanCursor(const ScanCursor& cursor);
// nullopt when `cursor` does not belong to `plan` (another query's, or damaged).
std::optional<ScanCursor> DecodeScanCursor(std::string_view cursor, const std::vector<IndexScan>& plan);

}  // namespace annals::storage
