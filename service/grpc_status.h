// The one place absl statuses become gRPC statuses (gRPC 1.51 has no converter).
//
// Errors are values (storage/field_error.h): a status about a field of the request carries
// its ItemErrors (field path, description) as a payload, made by BadField (service/request_validation.h), by
// FirstError (every problem validation found), or by storage and placed under the
// request's field by the handler. Nothing parses a message to find a field.
//
// Bad input also carries rich error details (AIP-193): every INVALID_ARGUMENT, and every
// OUT_OF_RANGE that names a field, is sent with a serialized google.rpc.Status (code,
// message, and an Any-packed google.rpc.BadRequest) in the grpc-status-details-bin trailer.
// Its field_violations are the status's ItemErrors ("request" for an error about the whole
// request, or one that names no field). A FAILED_PRECONDITION that names a field (a delete
// of what relations still name, a retraction of a retracted relation) carries a
// google.rpc.PreconditionFailure instead: one violation per ItemError, type "STATE", subject
// the field.
// The protos come from npm's google-proto-files at build time (tools/googleapis/).
#pragma once

#include <grpcpp/support/status.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "storage/field_error.h"

namespace annals::service {

// The rich details stay well under gRPC's 8 KiB default limit on received metadata.
inline constexpr size_t kMaxDetailsBytes = 4096;
inline constexpr size_t kMaxViolationText = 512;

// The field violations a status carries, as a client sees them: an empty path (the
// whole input) is "request"; a status carrying none is one violation of "request".
inline std::vector<storage::ItemError> ViolationsOf(const absl::Status& s) {
  std::vector<storage::ItemError> out = storage::ItemErrorsOf(s);
  if (out.empty()) out.push_back({"", std::string(s.message())});
  for (auto& e : out)
    if (e.field.empty()) e.field = "request";
  return out;
}

// The google.rpc.BadRequest of a bad-input status, cut to kMaxDetailsBytes.
inline google::rpc::BadRequest BadRequestOf(const absl::Status& s) {
  auto clip = [](std::string_view t) { return std::string(t.substr(0, kMaxViolationText)); };
  google::rpc::BadRequest out;
  for (const auto& e : ViolationsOf(s)) {
    auto* v = out.add_field_violations();
    v->set_field(clip(e.field));
    v->set_description(clip(e.description));
    if (out.field_violations_size() > 1 && out.ByteSizeLong() > kMaxDetailsBytes) {
      out.mutable_field_violations()->RemoveLast();
      break;
    }
  }
  return out;
}

inline grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return grpc::StatusCode::OK;
    case absl::StatusCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case absl::StatusCode::kUnknown: return grpc::StatusCode::UNKNOWN;
    case absl::StatusCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case absl::StatusCode::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case absl::StatusCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case absl::StatusCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case absl::StatusCode::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case absl::StatusCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case absl::StatusCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case absl::StatusCode::kAborted: return grpc::StatusCode::ABORTED;
    case absl::StatusCode::kOutOfRange: return grpc::StatusCode::OUT_OF_RANGE;
    case absl::StatusCode::kUnimplemented: return grpc::StatusCode::UNIMPLEMENTED;
    case absl::StatusCode::kInternal: return grpc::StatusCode::INTERNAL;
    case absl::StatusCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case absl::StatusCode::kDataLoss: return grpc::StatusCode::DATA_LOSS;
    case absl::StatusCode::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    default: break;
  }
  return grpc::StatusCode::UNKNOWN;
}

// The google.rpc.PreconditionFailure of a FAILED_PRECONDITION naming fields, cut as above.
inline google::rpc::PreconditionFailure PreconditionFailureOf(const absl::Status& s) {
  auto clip = [](std::string_view t) { return std::string(t.substr(0, kMaxViolationText)); };
  google::rpc::PreconditionFailure out;
  for (const auto& e : ViolationsOf(s)) {
    auto* v = out.add_violations();
    v->set_type("STATE");  // the state of what the field names does not allow the call
    v->set_subject(clip(e.field));
    v->set_description(clip(e.description));
    if (out.violations_size() > 1 && out.ByteSizeLong() > kMaxDetailsBytes) {
      out.mutable_violations()->RemoveLast();
      break;
    }
  }
  return out;
}

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const grpc::StatusCode code = ToGrpcCode(s.code());
  const std::string message(s.message());
  const bool names_field = !storage::ItemErrorsOf(s).empty();
  const bool bad_input = s.code() == absl::StatusCode::kInvalidArgument ||
                         (s.code() == absl::StatusCode::kOutOfRange && names_field);
  const bool precondition = s.code() == absl::StatusCode::kFailedPrecondition && names_field;
  if (!bad_input && !precondition) return {code, message};
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(code));
  details.set_message(message.substr(0, kMaxDetailsBytes));
  if (bad_input)
    details.add_details()->PackFrom(BadRequestOf(s));
  else
    details.add_details()->PackFrom(PreconditionFailureOf(s));
  return {code, message, details.SerializeAsString()};
}

}  // namespace annals::service
