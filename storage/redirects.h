// Which entities were merged into which, at every revision: the first piece of merging
// entities (issue #21), which resolves ids at read time instead of rewriting index entries
// (every index entry carries both ends of its relation in its covering summary, so a merge
// that rewrote them would touch every family of every relation of the merged entity, and
// an unmerge or a chain all of it again).
//
// A merge of B into A is a version of B that redirects to A; an unmerge, a later version of
// B that does not. This map keeps, per entity, the revisions at which its redirect changed
// and where it pointed from each, so a read at any revision resolves exactly as the store
// stood then. Chains resolve: after B into A and then A into C, B resolves to C. The
// committer refuses a merge into a merged entity and of an entity merged already, so a
// chain never closes into a cycle; Resolve still stops after kMaxChain steps.
//
// Writers record a change after its write reaches the database and before its revision is
// published (as for label_cache.h); a reader at revision R only looks at changes at or
// before R, so it never sees one that is not yet published. Thread-safe.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace annals::storage {

class Redirects {
 public:
  static constexpr int kMaxChain = 64;

  // From revision `rev` on, `id` redirects to `target` (empty: to nothing, it is itself
  // again). Revisions of one id must be recorded in increasing order.
  void Record(const std::string& id, int64_t rev, const std::string& target);
  // Forgets everything (a bulk load or a restore rebuilds it).
  void Clear();

  // Where `id` points at `rev` directly: the target, or "" when it is not merged.
  std::string TargetAt(std::string_view id, int64_t rev) const;
  // The entity `id` stands for at `rev`: the end of its chain of redirects (`id` itself
  // when it is not merged).
  std::string Resolve(std::string_view id, int64_t rev) const;
  // Every entity that resolves to `survivor` at `rev`, directly or through a chain, in id
  // order; `survivor` itself is not listed. None when `survivor` is merged itself.
  std::vector<std::string> Members(std::string_view survivor, int64_t rev) const;
  // The longest chain of redirects that ends at `survivor` at `rev`: 0 when nothing is
  // merged into it, 1 when only direct merges are, and so on. The committer keeps every
  // chain shorter than kMaxChain with it.
  int Depth(std::string_view survivor, int64_t rev) const;
  // Whether any redirect was ever recorded: reads skip resolution when none was.
  bool empty() const;

 private:
  struct Change {
    int64_t rev;
    std::string target;
  };
  std::string TargetAtLocked(std::string_view id, int64_t rev) const;

  mutable std::shared_mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Change>> changes_;  // guarded by mu_; by id, oldest first
  // Every id that ever pointed at a target, by target (a superset at any one revision).
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> pointed_at_;  // guarded by mu_
};

}  // namespace annals::storage
