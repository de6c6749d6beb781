#include "service/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/request_validation.h"
#include "storage/key_codec.h"

namespace annals::service {
namespace {
constexpr char kTag[] = "pt";
// 2: relation listings' cursors name their scan in the filter's plan
// (storage/relation_filter.h); version 1 cursors were bare keys.
constexpr char kTokenVersion = 2;
constexpr size_t kHeader = 2 + 1 + 4;  // tag, token version, index format

void AppendU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
uint32_t ReadU32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}
}  // namespace

std::string EncodePageToken(const PageToken& token, const std::string& query_digest) {
  std::string raw = kTag;
  raw.push_back(kTokenVersion);
  AppendU32(&raw, storage::kIndexFormatVersion);
  raw += query_digest;
  storage::key::AppendU64(&raw, static_cast<uint64_t>(token.revision));
  raw += token.cursor;
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageToken> DecodePageToken(std::string_view token, const std::string& query_digest) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &raw) ||
      raw.size() < kHeader + query_digest.size() + 8 || raw.compare(0, 2, kTag) != 0)
    return BadField("page_token", "malformed, or made by an older annalsd; start the listing again without it");
  if (raw[2] != kTokenVersion)
    return BadField("page_token", absl::StrCat("token version ", static_cast<int>(raw[2]),
                                               " is not one this server reads; start the listing again"));
  const uint32_t index_format = ReadU32(std::string_view(raw).substr(3));
  if (index_format != storage::kIndexFormatVersion)
    return BadField("page_token",
                    absl::StrCat("cut from index format ", index_format, ", but this server's indexes are format ",
                                 storage::kIndexFormatVersion,
                                 " (a token does not survive an index layout change); start the listing again"));
  std::string_view rest = std::string_view(raw).substr(kHeader);
  if (rest.compare(0, query_digest.size(), query_digest) != 0)
    return BadField("page_token",
                    "made for a different query (every field but page_size, page_token, view and consistency must "
                    "equal the first request's)");
  rest.remove_prefix(query_digest.size());
  PageToken out;
  out.revision = static_cast<int64_t>(storage::key::ReadU64(rest));
  out.cursor = std::string(rest.substr(8));
  return out;
}

}  // namespace annals::service
