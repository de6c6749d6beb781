// ReadBarrier: what a read waits for before it answers (ReadConsistency in the API,
// docs/cluster.md "Reads"). A replica follows the log a little behind the leader; a read
// that must see a given write, or everything acknowledged so far, waits here until this
// copy has applied it. Errors carry no field name: the service adds the field that asked.
#pragma once

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/store.h"

namespace annals::cluster {

class ReadBarrier {
 public:
  virtual ~ReadBarrier() = default;
  // Returns once this copy has applied `revision`. OUT_OF_RANGE when the history has not
  // reached that revision (no write was acknowledged at it); UNAVAILABLE when this copy
  // has not applied it by `deadline`, or has stopped applying. `cancelled`, when given, is
  // asked while waiting: true ends the wait (CANCELLED), as when the caller went away.
  virtual absl::Status AwaitRevision(int64_t revision, absl::Time deadline,
                                     const std::function<bool()>& cancelled = nullptr) = 0;
  // Returns once this copy has applied every entry the log held when it was called (a
  // linearizable read point). UNAVAILABLE as above, or when the log cannot be read.
  virtual absl::Status AwaitLogHead(absl::Time deadline, const std::function<bool()>& cancelled = nullptr) = 0;
};

// A single node applies every write before acknowledging it: it never waits, and a
// revision after its latest does not exist.
class LocalReadBarrier final : public ReadBarrier {
 public:
  explicit LocalReadBarrier(const storage::Store* store) : store_(store) {}
  absl::Status AwaitRevision(int64_t revision, absl::Time, const std::function<bool()>&) override {
    const int64_t latest = store_->LatestRevision();
    if (revision <= latest) return absl::OkStatus();
    return absl::OutOfRangeError(absl::StrCat(revision, " is after the latest revision ", latest));
  }
  absl::Status AwaitLogHead(absl::Time, const std::function<bool()>&) override { return absl::OkStatus(); }

 private:
  const storage::Store* store_;
};

}  // namespace annals::cluster
