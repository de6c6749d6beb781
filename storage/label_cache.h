// The labels and kinds of entities' newest versions, for the BASIC view's neighbour names
// (Store::GetLabels): a neighbour page names up to a hundred entities, and reading each
// one's record was a sixth of the busiest-entity query's CPU (bench/README.md).
//
// Right for reads at any revision, not only the latest: an entry holds the revision of
// the version it comes from and exists only while that version is the entity's newest, so
// it answers a read at revision R exactly when R >= that revision (a read before it goes
// to the store). Writers keep it so: every commit, applied entry or bulk load that writes
// an entity version calls Invalidate (or Clear) after its write reaches the database and
// before its revision is published. A fill races with such a write when the reader's
// iterator was made before the write: the reader takes the epoch before making it, and a
// fill whose epoch is no longer current is dropped.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace annals::storage {

class LabelCache {
 public:
  struct Label {
    std::string label, kind;
    int64_t revision = 0;  // of the version it was read from
  };

  // Read before making the iterator whose reads will be filled in.
  uint64_t Epoch() const;
  // The entries for `ids` usable at revision `rev` (nullopt: ask the store), in order.
  std::vector<std::optional<Label>> Find(const std::vector<std::string>& ids, int64_t rev) const;
  // Remembers the newest versions read since `epoch`; dropped when a writer came between.
  void Fill(const std::vector<std::pair<std::string, Label>>& labels, uint64_t epoch);
  // After a write of new versions of `ids` reached the database.
  void Invalidate(const std::vector<std::string>& ids);
  // After a write whose entities are not listed (a bulk load).
  void Clear();

 private:
  static constexpr size_t kMaxEntries = 200'000;  // then it starts again, empty
  mutable std::mutex mu_;
  uint64_t epoch_ = 0;  // guarded by mu_
  absl::flat_hash_map<std::string, Label> labels_;  // guarded by mu_
};

}  // namespace annals::storage
