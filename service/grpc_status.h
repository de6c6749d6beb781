// The one place absl statuses become gRPC statuses (gRPC 1.51 has no converter).
//
// Bad input also carries rich error details (AIP-193): every INVALID_ARGUMENT, and every
// OUT_OF_RANGE whose message names a field, is sent with a serialized google.rpc.Status
// (code, message, and an Any-packed google.rpc.BadRequest) in the grpc-status-details-bin
// trailer. The BadRequest's field_violations are
//   - the violations attached to the absl::Status under kBadRequestPayload (validation
//     attaches every problem it found: service/request_validation.h, FirstError), else
//   - the one "field: description" the message starts with (every handler writes its
//     INVALID_ARGUMENT messages that way), else field "request" and the whole message.
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

namespace annals::service {

// The absl::Status payload holding a serialized google.rpc.BadRequest.
inline constexpr char kBadRequestPayload[] = "type.googleapis.com/google.rpc.BadRequest";

// The rich details stay well under gRPC's 8 KiB default limit on received metadata.
inline constexpr size_t kMaxDetailsBytes = 4096;
inline constexpr size_t kMaxViolationText = 512;

// Splits "field: description" when the text before ": " looks like a field path (no
// spaces, not empty); otherwise {"", message}.
inline std::pair<std::string, std::string> SplitFieldMessage(std::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0) return {"", std::string(message)};
  const std::string_view field = message.substr(0, colon);
  // Map keys are quoted inside paths (attributes["a b"]); spaces are allowed only there.
  bool quoted = false;
  for (char c : field) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ' ' || c == '\t' || c == '\n')) return {"", std::string(message)};
  }
  return {std::string(field), std::string(message.substr(colon + 2))};
}

// Appends one violation, within the size budget; false when it no longer fits.
inline bool AddViolation(google::rpc::BadRequest* br, std::string_view field, std::string_view description) {
  auto clip = [](std::string_view s) { return std::string(s.substr(0, kMaxViolationText)); };
  auto* v = br->add_field_violations();
  v->set_field(clip(field));
  v->set_description(clip(description));
  if (br->field_violations_size() > 1 && br->ByteSizeLong() > kMaxDetailsBytes) {
    br->mutable_field_violations()->RemoveLast();
    return false;
  }
  return true;
}

// The field violations of a bad-input status (see the top of this file).
inline google::rpc::BadRequest BadRequestOf(const absl::Status& s) {
  google::rpc::BadRequest attached, out;
  if (auto payload = s.GetPayload(kBadRequestPayload);
      payload && attached.ParseFromString(std::string(*payload)) && attached.field_violations_size() > 0) {
    for (const auto& v : attached.field_violations())
      if (!AddViolation(&out, v.field(), v.description())) break;
    return out;
  }
  auto [field, description] = SplitFieldMessage(std::string_view(s.message().data(), s.message().size()));
  AddViolation(&out, field.empty() ? "request" : field, description);
  return out;
}

// Attaches `violations` ((field, description) pairs) to `s` for ToGrpc to send.
inline absl::Status WithViolations(absl::Status s,
                                   const std::vector<std::pair<std::string, std::string>>& violations) {
  if (s.ok() || violations.empty()) return s;
  google::rpc::BadRequest br;
  for (const auto& [field, description] : violations)
    if (!AddViolation(&br, field, description)) break;
  s.SetPayload(kBadRequestPayload, absl::Cord(br.SerializeAsString()));
  return s;
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

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const grpc::StatusCode code = ToGrpcCode(s.code());
  const std::string message(s.message());
  const bool bad_input = s.code() == absl::StatusCode::kInvalidArgument ||
                         (s.code() == absl::StatusCode::kOutOfRange && !SplitFieldMessage(message).first.empty());
  if (!bad_input) return {code, message};
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(code));
  details.set_message(message.substr(0, kMaxDetailsBytes));
  details.add_details()->PackFrom(BadRequestOf(s));
  return {code, message, details.SerializeAsString()};
}

}  // namespace annals::service
