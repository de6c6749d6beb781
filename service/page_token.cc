#include "service/page_token.h"

#include "absl/strings/escaping.h"
#include "storage/key_codec.h"

namespace annals::service {

std::string EncodePageToken(const PageToken& token, const std::string& query_digest) {
  std::string raw = query_digest;
  storage::key::AppendU64(&raw, static_cast<uint64_t>(token.revision));
  raw += token.cursor;
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageToken> DecodePageToken(std::string_view token, const std::string& query_digest) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &raw) ||
      raw.size() < query_digest.size() + 8)
    return absl::InvalidArgumentError("page_token: malformed");
  if (raw.compare(0, query_digest.size(), query_digest) != 0)
    return absl::InvalidArgumentError(
        "page_token: made for a different query (every field but page_size must stay the same)");
  PageToken out;
  out.revision = static_cast<int64_t>(storage::key::ReadU64(std::string_view(raw).substr(query_digest.size())));
  out.cursor = raw.substr(query_digest.size() + 8);
  return out;
}

}  // namespace annals::service
