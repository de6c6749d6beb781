#include "storage/redirects.h"

#include <algorithm>
#include <mutex>

namespace annals::storage {

void Redirects::Record(const std::string& id, int64_t rev, const std::string& target) {
  std::unique_lock lock(mu_);
  changes_[id].push_back({rev, target});
  if (!target.empty()) pointed_at_[target].insert(id);
}

void Redirects::Clear() {
  std::unique_lock lock(mu_);
  changes_.clear();
  pointed_at_.clear();
}

bool Redirects::empty() const {
  std::shared_lock lock(mu_);
  return changes_.empty();
}

std::string Redirects::TargetAtLocked(std::string_view id, int64_t rev) const {
  auto it = changes_.find(std::string(id));  // Debian's absl takes no std::string_view here
  if (it == changes_.end()) return "";
  const std::vector<Change>& changes = it->second;
  // The last change at or before `rev`.
  auto after = std::upper_bound(changes.begin(), changes.end(), rev,
                                [](int64_t r, const Change& c) { return r < c.rev; });
  return after == changes.begin() ? "" : std::prev(after)->target;
}

std::string Redirects::TargetAt(std::string_view id, int64_t rev) const {
  std::shared_lock lock(mu_);
  return TargetAtLocked(id, rev);
}

std::string Redirects::Resolve(std::string_view id, int64_t rev) const {
  std::shared_lock lock(mu_);
  std::string at(id);
  for (int step = 0; step < kMaxChain; ++step) {
    std::string next = TargetAtLocked(at, rev);
    if (next.empty()) return at;
    at = std::move(next);
  }
  return at;  // unreachable while the committer refuses cycles (see the header)
}

int Redirects::Depth(std::string_view survivor, int64_t rev) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> frontier = {std::string(survivor)};
  int depth = 0;
  for (; depth < kMaxChain && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& target : frontier) {
      auto it = pointed_at_.find(target);
      if (it == pointed_at_.end()) continue;
      for (const std::string& id : it->second)
        if (TargetAtLocked(id, rev) == target) next.push_back(id);
    }
    if (next.empty()) break;
    frontier = std::move(next);
  }
  return depth;
}

std::vector<std::string> Redirects::Members(std::string_view survivor, int64_t rev) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  if (!TargetAtLocked(survivor, rev).empty()) return out;  // merged itself: it survives nothing
  // Breadth-first over "pointed at", keeping the ids that pointed at it at `rev`.
  std::vector<std::string> frontier = {std::string(survivor)};
  for (int depth = 0; depth < kMaxChain && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& target : frontier) {
      auto it = pointed_at_.find(target);
      if (it == pointed_at_.end()) continue;
      for (const std::string& id : it->second)
        if (TargetAtLocked(id, rev) == target) next.push_back(id);
    }
    out.insert(out.end(), next.begin(), next.end());
    frontier = std::move(next);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace annals::storage
