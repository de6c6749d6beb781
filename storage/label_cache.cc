#include "storage/label_cache.h"

namespace annals::storage {

uint64_t LabelCache::Epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

std::vector<std::optional<LabelCache::Label>> LabelCache::Find(const std::vector<std::string>& ids,
                                                               int64_t rev) const {
  std::vector<std::optional<Label>> out(ids.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto it = labels_.find(ids[i]);
    if (it != labels_.end() && it->second.revision <= rev) out[i] = it->second;
  }
  return out;
}

void LabelCache::Fill(const std::vector<std::pair<std::string, Label>>& labels, uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) return;  // a writer came between the read and now
  if (labels_.size() + labels.size() > kMaxEntries) labels_.clear();
  for (const auto& [id, label] : labels) labels_.insert_or_assign(id, label);
}

void LabelCache::Invalidate(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  for (const auto& id : ids) labels_.erase(id);
}

void LabelCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  labels_.clear();
}

}  // namespace annals::storage
