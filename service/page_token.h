// Page tokens (AIP-158): opaque to clients, bound to the query that made them and to the
// revision its first page answered at, so every later page reads the same snapshot.
//
//   token = base64url( query_digest(16) | revision(8) | cursor )
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace annals::service {

struct PageToken {
  int64_t revision = 0;
  std::string cursor;  // the storage layer's position, opaque here
};

std::string EncodePageToken(const PageToken& token, const std::string& query_digest);

// INVALID_ARGUMENT naming `page_token` when it is malformed or made for another query.
absl::StatusOr<PageToken> DecodePageToken(std::string_view token, const std::string& query_digest);

}  // namespace annals::service
