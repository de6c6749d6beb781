// Request and response messages of a unary callback method on one protobuf Arena per call
// (gRPC's MessageAllocator). A neighbour page is a few hundred small messages and strings:
// allocated one by one and freed one by one they were a third of annalsd's CPU in the
// busiest-entity profile (operator new, ArenaStringPtr::Destroy; bench/README.md). On an
// arena they are bump-allocated and freed together when the call ends.
//
// Handlers of such methods must fill the response in place (Add/mutable_ and the
// ToApi(record, out) forms of record_convert.h): assigning a heap-allocated message into
// an arena one copies it.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

namespace annals::service {

template <typename Request, typename Response>
class ArenaMessages final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_, sizeof initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block, size_t size) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = size;
      return options;
    }
    // A typical page fits here; larger ones grow the arena by blocks from the heap.
    alignas(8) char initial_block_[32 << 10];
    google::protobuf::Arena arena_;
  };
};

}  // namespace annals::service
