// ChangeStream: the server-streaming reactor behind DiffRevisions and Watch, and the
// WatchHub that wakes following streams when a commit lands.
//
// Memory stays bounded whatever the client's pace: a stream reads the change log from its
// own position, a chunk (at most kChunk changes) at a time, and reads the next chunk only
// when the client has taken the last one. A slow consumer falls behind in the log, not in
// server memory. It is cut off only when the history it still needs is deleted by the
// retention horizon (OUT_OF_RANGE), or when it was following live commits and falls more
// than `max_lag` revisions behind (RESOURCE_EXHAUSTED); both errors carry the position to
// resume from, and on shutdown every following stream ends with UNAVAILABLE and the same.
//
// Threads: Pump() runs on gRPC threads (OnWriteDone) and on the hub's thread (after a
// commit); a mutex serialises it. Following streams are deleted by the hub's thread after
// OnDone, never while it may still pump them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "annals/v1/diff.pb.h"
#include "service/change_feed.h"
#include "storage/store.h"

namespace annals::service {

class WatchHub;

class ChangeStream final : public grpc::ServerWriteReactor<v1::Change> {
 public:
  static constexpr size_t kChunk = 256;

  // Streams changes from `start` up to revision `up_to` (DiffRevisions), or with `hub` set,
  // without end (Watch). Call Pump() once after construction.
  ChangeStream(storage::Store* store, ScopeFilter scope, FeedPosition start, int64_t up_to,
               WatchHub* hub, int64_t max_lag);

  // Sends what is available; finishes a bounded stream at its end.
  void Pump();
  // Ends a following stream because the server drains.
  void Drain();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  absl::Status RefillLocked();
  void FinishLocked(grpc::Status status);
  std::string ResumeHintLocked() const;

  storage::Store* const store_;
  const ScopeFilter scope_;
  const int64_t up_to_;  // -1 when following
  WatchHub* const hub_;
  const int64_t max_lag_;

  std::mutex mu_;
  FeedPosition next_;             // the next change to read from the log
  FeedPosition delivered_;        // just after the last change handed to gRPC
  std::deque<v1::Change> buffer_;
  v1::Change current_;
  bool writing_ = false, finished_ = false, live_ = false;
  bool finish_pending_ = false;
  grpc::Status pending_status_;
};

class WatchHub {
 public:
  WatchHub();
  ~WatchHub();

  // To pass to Store::SetCommitListener: records the revision and wakes the hub's thread.
  void OnCommit(int64_t revision);
  void Add(ChangeStream* stream);
  // Called from a stream's OnDone: the hub deletes it on its own thread.
  void Retire(ChangeStream* stream);
  // Ends every following stream (UNAVAILABLE with where to resume) and waits, up to
  // `timeout`, for them to finish; later Watch calls are refused.
  void Shutdown(std::chrono::milliseconds timeout);
  bool accepting() const;
  int open_streams() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChangeStream*> active_, retired_;
  int64_t seen_revision_ = 0, pumped_revision_ = 0;
  bool stopping_ = false, accepting_ = true;
  int pins_ = 0;  // while > 0 (Shutdown is draining streams), retired streams are not deleted
  std::thread thread_;
};

}  // namespace annals::service
