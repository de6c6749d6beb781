// service/page_token.h: tokens round-trip, stay bound to their query, and are refused with
// a clear INVALID_ARGUMENT when cut from another index format or by an older server.
#include "service/page_token.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "storage/key_codec.h"

namespace annals::service {
namespace {

const std::string kQuery = std::string(16, 'q');

TEST(PageToken, RoundTripsRevisionAndCursor) {
  const std::string cursor("a\0b\xff", 4);
  auto back = DecodePageToken(EncodePageToken({42, cursor}, kQuery), kQuery);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->revision, 42);
  EXPECT_EQ(back->cursor, cursor);
}

TEST(PageToken, AnotherQueryIsRefused) {
  auto s = DecodePageToken(EncodePageToken({1, "c"}, kQuery), std::string(16, 'x')).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("page_token: made for a different query"), std::string::npos) << s;
}

TEST(PageToken, ATokenOfAnotherIndexFormatIsRefusedSayingSo) {
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(EncodePageToken({1, "c"}, kQuery), &raw));
  raw[6] = static_cast<char>(raw[6] + 1);  // the index format's last byte
  auto s = DecodePageToken(absl::WebSafeBase64Escape(raw), kQuery).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("page_token: cut from index format " + std::to_string(storage::kIndexFormatVersion + 1)),
            std::string::npos)
      << s;
  EXPECT_NE(s.message().find("start the listing again"), std::string::npos) << s;
}

TEST(PageToken, ATokenOfTheFormerLayoutAndGarbageAreRefused) {
  // Before the log: base64url(query_digest | revision | cursor), no tag.
  std::string old = kQuery;
  storage::key::AppendU64(&old, 5);
  old += "cursor";
  for (const std::string& token : {absl::WebSafeBase64Escape(old), std::string("%%%"), std::string("")}) {
    auto s = DecodePageToken(token, kQuery).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_NE(s.message().find("page_token: malformed"), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace annals::service
