// One Ingest stream, pipelined: while a batch commits on the stream's own thread, gRPC reads
// and parses the next ones, and acknowledgements go out in order as they are ready.
//
//   gRPC threads:  read b1 | read b2 | read b3 |  (paused: kReadAhead batches queued)  | read b4
//   stream thread:         | commit b1         | commit b2          | commit b3 ...
//   gRPC threads:                              | write ack1         | write ack2 ...
//
// Before, a batch was read, committed and acknowledged before the next read began, so the
// committer sat idle while each batch was parsed and each ack made its round trip (issue
// #8's profile: the online load reached 0.64x the raw-WriteBatch ceiling on a quiet
// machine). Semantics are unchanged: batches commit one at a time in stream order, each ack
// names its batch, a rejected batch is acknowledged with its errors and the stream goes on,
// and a failure of the store ends the stream (batches read but not yet committed are
// dropped unacknowledged, so the client knows exactly what was written). Memory stays
// bounded: at most kReadAhead batches wait, then reading pauses until the committer catches
// up, which holds the client back through HTTP/2 flow control.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "annals/v1/ingest.grpc.pb.h"
#include "cluster/committer.h"
#include "storage/store.h"

namespace annals::service {

class IngestStream final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  // Batches read ahead of the one committing.
  static constexpr size_t kReadAhead = 2;
  // Streams served at once; each has a thread. Commits are serial anyway, so more streams
  // only queue: a stream beyond this many is refused with RESOURCE_EXHAUSTED.
  static constexpr int kMaxStreams = 64;

  // Starts a stream, or a reactor that ends at once with RESOURCE_EXHAUSTED when
  // kMaxStreams are open.
  static grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* Start(cluster::Committer* committer);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  explicit IngestStream(cluster::Committer* committer);
  void CommitLoop();
  // Ends the stream with OK once the client has half-closed and every batch is acknowledged.
  void MaybeFinish();
  void FinishOnce(const grpc::Status& status);

  cluster::Committer* const writer_;
  v1::IngestRequest request_;  // the read in flight fills it
  // gRPC may run a reaction inline from a Start* call made under the lock: recursive.
  std::recursive_mutex mu_;
  std::condition_variable_any work_;
  std::deque<v1::IngestRequest> queued_;   // read, not yet committed
  std::deque<v1::IngestResponse> acks_;    // committed; the front is being written when writing_
  int64_t next_batch_index_ = 0;
  bool reading_ = false, read_closed_ = false, committing_ = false, writing_ = false;
  bool finished_ = false, stop_ = false;
  std::thread committer_;

  static std::atomic<int> open_streams_;
};

}  // namespace annals::service
