#include "service/change_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/grpc_status.h"
#include "service/request_validation.h"

namespace annals::service {

ChangeStream::ChangeStream(storage::Store* store, ScopeFilter scope, FeedPosition start, int64_t up_to,
                           WatchHub* hub, int64_t max_lag)
    : store_(store), scope_(std::move(scope)), up_to_(up_to), hub_(hub), max_lag_(max_lag), next_(start),
      delivered_(start) {
  if (hub_) hub_->Add(this);
}

std::string ChangeStream::ResumeHintLocked() const {
  // delivered_ is "the next change the client has not seen": resuming with the token of
  // the change just before it, or from_revision when it is a revision boundary.
  if (delivered_.index == 0)
    return absl::StrCat("resume with from_revision=", delivered_.revision - 1);
  return absl::StrCat("resume with resume_token=", ResumeTokenAfter(delivered_.revision, delivered_.index - 1),
                      " (revision ", delivered_.revision, ")");
}

absl::Status ChangeStream::RefillLocked() {
  const int64_t latest = store_->LatestRevision();
  const int64_t last = up_to_ >= 0 ? std::min(up_to_, latest) : latest;
  if (next_.revision > last) return absl::OkStatus();
  if (auto s = store_->CheckChangesAvailable(next_.revision - 1); !s.ok())
    return OutOfRangeField("from_revision", absl::StrCat(s.message(), "; ", ResumeHintLocked()));
  auto emit = [this](v1::Change change) {
    buffer_.push_back(std::move(change));
    return buffer_.size() < kChunk;
  };
  absl::Status inner;
  absl::Status scanned = store_->ScanChanges(next_.revision - 1, last, [&](const storage::ChangeRecord& record) {
    auto stopped_at = ExpandChanges(*store_, record, scope_, next_.index, emit);
    if (!stopped_at.ok()) {
      inner = stopped_at.status();
      return false;
    }
    if (*stopped_at < record.changes_size()) {
      next_.index = *stopped_at;  // the chunk is full in the middle of this revision
      return false;
    }
    next_ = {record.revision() + 1, 0};
    return buffer_.size() < kChunk;
  });
  if (!inner.ok()) return inner;
  if (!scanned.ok()) return scanned;
  // Revisions with no change-log record (none are expected) are stepped over.
  if (buffer_.empty() && next_.revision <= last && next_.index == 0) next_ = {last + 1, 0};
  return absl::OkStatus();
}

void ChangeStream::Pump() {
  std::lock_guard<std::mutex> lock(mu_);
  if (writing_ || finished_) return;
  if (buffer_.empty()) {
    if (auto s = RefillLocked(); !s.ok()) return FinishLocked(ToGrpc(s));
  }
  if (!buffer_.empty()) {
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    delivered_ = {current_.revision(), current_.index() + 1};
    writing_ = true;
    StartWrite(&current_);
    return;
  }
  const int64_t latest = store_->LatestRevision();
  if (up_to_ >= 0) {
    if (next_.revision > std::min(up_to_, latest)) FinishLocked(grpc::Status::OK);
    return;
  }
  // Following: caught up with the log. From now on the stream is live and may lag only so far.
  delivered_ = next_;
  live_ = true;
  (void)latest;
}

void ChangeStream::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (finish_pending_) {
      finish_pending_ = false;
      Finish(pending_status_);
      return;
    }
    if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading"));
    if (hub_ && live_ && max_lag_ > 0 && store_->LatestRevision() - delivered_.revision > max_lag_)
      return FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("the watch fell more than ", max_lag_, " revisions behind the latest commit; ",
                       ResumeHintLocked())));
  }
  Pump();
}

void ChangeStream::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void ChangeStream::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            absl::StrCat("the server is shutting down; ", ResumeHintLocked())));
}

void ChangeStream::FinishLocked(grpc::Status status) {
  if (finished_) return;
  finished_ = true;
  if (writing_) {  // finish once the write in flight completes
    finish_pending_ = true;
    pending_status_ = std::move(status);
    return;
  }
  Finish(std::move(status));
}

void ChangeStream::OnDone() {
  if (hub_)
    hub_->Retire(this);
  else
    delete this;
}

WatchHub::WatchHub() : thread_([this] { Run(); }) {}

WatchHub::~WatchHub() {
  Shutdown(std::chrono::milliseconds(0));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto* s : retired_) delete s;
}

void WatchHub::OnCommit(int64_t revision) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_revision_ = std::max(seen_revision_, revision);
  }
  cv_.notify_all();
}

void WatchHub::Add(ChangeStream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  active_.push_back(stream);
}

void WatchHub::Retire(ChangeStream* stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(std::remove(active_.begin(), active_.end(), stream), active_.end());
    retired_.push_back(stream);
  }
  cv_.notify_all();
}

bool WatchHub::accepting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepting_;
}

int WatchHub::open_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(active_.size());
}

void WatchHub::Shutdown(std::chrono::milliseconds timeout) {
  std::vector<ChangeStream*> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!accepting_ && active_.empty()) return;
    accepting_ = false;
    streams = active_;
    ++pins_;  // no stream is deleted while we still hold pointers to it
  }
  for (auto* s : streams) s->Drain();
  std::unique_lock<std::mutex> lock(mu_);
  --pins_;
  cv_.notify_all();
  cv_.wait_for(lock, timeout, [this] { return active_.empty(); });
}

void WatchHub::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] {
      return stopping_ || seen_revision_ > pumped_revision_ || (!retired_.empty() && pins_ == 0);
    });
    std::vector<ChangeStream*> dead;
    if (pins_ == 0) dead.swap(retired_);
    const bool wake = seen_revision_ > pumped_revision_;
    pumped_revision_ = seen_revision_;
    std::vector<ChangeStream*> streams = wake ? active_ : std::vector<ChangeStream*>();
    const bool stop = stopping_;
    lock.unlock();
    for (auto* s : dead) delete s;  // after OnDone: nothing calls into them any more
    for (auto* s : streams) s->Pump();
    lock.lock();
    if (stop) return;
  }
}

}  // namespace annals::service
