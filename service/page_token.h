// Page tokens (AIP-158): opaque to clients, bound to the query that made them and to the
// revision its first page answered at, so every later page reads the same snapshot.
//
//   token = base64url( "pt" | token_version(1) | index_format(4) | query_digest(16) |
//                      revision(8) | cursor )
//
// The revision is logical (the same on every replica that applied the same log); the
// cursor is a storage position, meaningful only to an index of the same layout, so the
// token carries the index format it was cut from (storage::kIndexFormatVersion) and a
// server of another index format refuses it with INVALID_ARGUMENT saying so, instead of
// misreading it. Any replica of the same index format that has applied the token's
// revision continues the listing exactly.
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

// INVALID_ARGUMENT naming `page_token` when it is malformed, made for another query, or
// cut from another index format.
absl::StatusOr<PageToken> DecodePageToken(std::string_view token, const std::string& query_digest);

}  // namespace annals::service
