#include "service/ingest_stream.h"

#include "absl/strings/str_cat.h"
#include "service/grpc_status.h"
#include "service/ingest_service.h"

namespace annals::service {

std::atomic<int> IngestStream::open_streams_{0};

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* IngestStream::Start(cluster::Committer* committer) {
  if (open_streams_.fetch_add(1) >= kMaxStreams) {
    open_streams_.fetch_sub(1);
    class Refuse final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
     public:
      Refuse() {
        Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat(kMaxStreams, " Ingest streams are open; commits are serial, so send "
                                                      "more batches per stream or retry later")));
      }
      void OnDone() override { delete this; }
    };
    return new Refuse();
  }
  return new IngestStream(committer);
}

IngestStream::IngestStream(cluster::Committer* committer) : writer_(committer) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  committer_ = std::thread([this] { CommitLoop(); });
  reading_ = true;
  StartRead(&request_);
}

void IngestStream::OnReadDone(bool ok) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  reading_ = false;
  if (!ok) {  // the client half-closed (or went away): commit what is queued, then end
    read_closed_ = true;
    MaybeFinish();
    return;
  }
  queued_.push_back(std::move(request_));
  request_.Clear();
  work_.notify_one();
  if (queued_.size() < kReadAhead && !finished_) {
    reading_ = true;
    StartRead(&request_);
  }
}

void IngestStream::CommitLoop() {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || (!queued_.empty() && !finished_); });
    if (stop_) return;
    v1::IngestRequest batch = std::move(queued_.front());
    queued_.pop_front();
    committing_ = true;
    const int64_t index = next_batch_index_++;
    // Reading may go on while this batch commits.
    if (!reading_ && !read_closed_ && !finished_) {
      reading_ = true;
      StartRead(&request_);
    }
    lock.unlock();
    absl::StatusOr<v1::IngestResponse> ack = CommitIngestBatch(*writer_, batch, index);
    lock.lock();
    committing_ = false;
    if (!ack.ok()) {
      queued_.clear();
      FinishOnce(ToGrpc(ack.status()));
      continue;
    }
    if (finished_) continue;  // the client went away meanwhile
    acks_.push_back(std::move(*ack));
    if (!writing_) {
      writing_ = true;
      StartWrite(&acks_.front());
    }
  }
}

void IngestStream::OnWriteDone(bool ok) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  writing_ = false;
  if (!ok) return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
  acks_.pop_front();
  if (!acks_.empty() && !finished_) {
    writing_ = true;
    StartWrite(&acks_.front());
    return;
  }
  MaybeFinish();
}

void IngestStream::MaybeFinish() {
  if (read_closed_ && queued_.empty() && !committing_ && acks_.empty() && !writing_) FinishOnce(grpc::Status::OK);
}

void IngestStream::FinishOnce(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(status);
}

void IngestStream::OnDone() {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  committer_.join();
  open_streams_.fetch_sub(1);
  delete this;
}

}  // namespace annals::service
