#include "service/read_point.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/request_validation.h"
#include "storage/status_macros.h"

namespace annals::service {
namespace {

absl::Time WaitDeadline(const grpc::CallbackServerContext& ctx) {
  return std::min(absl::FromChrono(ctx.deadline()), absl::Now() + kMaxReadWait);
}

// A wait ends when the caller goes away. (It still holds a gRPC callback thread while it
// lasts: at most kMaxReadWait, usually milliseconds.)
std::function<bool()> CallCancelled(const grpc::CallbackServerContext& ctx) {
  return [&ctx] { return ctx.IsCancelled(); };
}

// A barrier's error (a wait that timed out, ...), said of the field that asked for the wait.
absl::Status Named(std::string_view field, const absl::Status& status) {
  if (status.ok()) return status;
  return storage::FieldFailure(status.code(), std::string(field), std::string(status.message()));
}

}  // namespace

absl::Status AwaitRevision(const StoreSlot& slot, const grpc::CallbackServerContext& ctx, int64_t revision,
                           std::string_view field) {
  if (revision < 0) return BadField(field, absl::StrCat("must not be negative"));
  ASSIGN_OR_RETURN(storage::Store * store, slot.Get());
  if (revision <= store->LatestRevision()) return absl::OkStatus();
  ASSIGN_OR_RETURN(cluster::ReadBarrier * barrier, slot.Barrier());
  return Named(field, barrier->AwaitRevision(revision, WaitDeadline(ctx), CallCancelled(ctx)));
}

absl::Status AwaitConsistency(const StoreSlot& slot, const grpc::CallbackServerContext& ctx,
                              const v1::ReadConsistency& consistency) {
  switch (consistency.mode()) {
    case v1::ReadConsistency::MODE_UNSPECIFIED:
    case v1::ReadConsistency::LOCAL:
      break;
    case v1::ReadConsistency::LINEARIZABLE: {
      ASSIGN_OR_RETURN(cluster::ReadBarrier * barrier, slot.Barrier());
      RETURN_IF_ERROR(Named("consistency.mode", barrier->AwaitLogHead(WaitDeadline(ctx), CallCancelled(ctx))));
      break;
    }
    default:
      return BadField("consistency.mode", absl::StrCat("unknown value ", static_cast<int>(consistency.mode())));
  }
  return AwaitRevision(slot, ctx, consistency.min_revision(), "consistency.min_revision");
}

absl::StatusOr<int64_t> ReadRevision(const StoreSlot& slot, const grpc::CallbackServerContext& ctx,
                                     const v1::ReadConsistency& consistency, int64_t as_of) {
  RETURN_IF_ERROR(AwaitConsistency(slot, ctx, consistency));
  RETURN_IF_ERROR(AwaitRevision(slot, ctx, as_of, "as_of_revision"));
  ASSIGN_OR_RETURN(storage::Store * store, slot.Get());
  auto rev = store->ResolveRevision(as_of);
  if (!rev.ok()) return storage::UnderField("as_of_revision", rev.status());
  return rev;
}

}  // namespace annals::service
