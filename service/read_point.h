// The point a read answers at, once this replica is fresh enough for it (ReadConsistency
// in the API; docs/cluster.md "Reads").
//
// A read waits, up to its deadline (at most kMaxReadWait), for
//   - consistency.min_revision: a revision the caller wrote or saw;
//   - consistency.mode LINEARIZABLE: the log's head as etcd holds it when the read begins;
//   - a revision named by the request itself, as_of_revision or a page token's: the caller
//     got it from some replica, so it exists in the cluster even if not here yet.
// On a single node nothing waits: every acknowledged write is applied, and a revision after
// the latest is OUT_OF_RANGE as before.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "annals/v1/types.pb.h"
#include "service/call_support.h"

namespace annals::service {

// The longest a read waits for its replica, whatever the call's deadline.
inline constexpr absl::Duration kMaxReadWait = absl::Seconds(30);

// Checks the field and waits as it asks. Errors name "consistency.min_revision" or
// "consistency.mode".
absl::Status AwaitConsistency(const StoreSlot& slot, const grpc::CallbackServerContext& ctx,
                              const v1::ReadConsistency& consistency);

// Waits until `revision` (named by the request's `field`) is applied here; 0 never waits.
absl::Status AwaitRevision(const StoreSlot& slot, const grpc::CallbackServerContext& ctx, int64_t revision,
                           std::string_view field);

// AwaitConsistency, then AwaitRevision(as_of, "as_of_revision"), then the revision the read
// answers at (Store::ResolveRevision: 0 is the latest applied here).
absl::StatusOr<int64_t> ReadRevision(const StoreSlot& slot, const grpc::CallbackServerContext& ctx,
                                     const v1::ReadConsistency& consistency, int64_t as_of);

}  // namespace annals::service
