// clients/cli/line_reader.h on real files in a temporary directory: plain and gzip text told
// apart by their bytes, multi-member files, and every way a gzip file can be damaged. The
// gzip bytes are made here with zlib's deflate (the reader uses inflate), and the expected
// lines are written out by hand.
#include "clients/cli/line_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace annals::cli {
namespace {

// One complete gzip member holding `text`.
std::string GzipMember(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

class LineReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.Sub(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // Every line the reader hands out, and its final status.
  std::pair<std::vector<std::string>, absl::Status> ReadAll(const std::string& path) {
    auto r = LineReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {{}, r.status()};
    std::vector<std::string> lines;
    std::string line;
    while ((*r)->Next(&line)) lines.push_back(line);
    return {lines, (*r)->status()};
  }
  annals::testing::TempDir dir_;
};

const std::vector<std::string> kThree = {"a\tb\tc\t2014-01-01", "", "last line"};

TEST_F(LineReaderTest, PlainTextWithAndWithoutAFinalNewline) {
  auto [with, s1] = ReadAll(Write("a.tsv", "a\tb\tc\t2014-01-01\n\nlast line\n"));
  EXPECT_TRUE(s1.ok()) << s1;
  EXPECT_EQ(with, kThree);
  auto [without, s2] = ReadAll(Write("b.tsv", "a\tb\tc\t2014-01-01\n\nlast line"));
  EXPECT_TRUE(s2.ok()) << s2;
  EXPECT_EQ(without, kThree);
  auto [empty, s3] = ReadAll(Write("c.tsv", ""));
  EXPECT_TRUE(s3.ok());
  EXPECT_TRUE(empty.empty());
}

TEST_F(LineReaderTest, GzipIsToldByItsBytesNotItsName) {
  const std::string gz = GzipMember("a\tb\tc\t2014-01-01\n\nlast line\n");
  auto r = LineReader::Open(Write("named-plain.tsv", gz));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->compressed());
  auto [lines, s] = ReadAll(Write("named-plain2.tsv", gz));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(lines, kThree);
  // A plain file named .gz is read as the plain text it is.
  auto p = LineReader::Open(Write("plain.tsv.gz", "x\ny\n"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->compressed());
}

TEST_F(LineReaderTest, MembersReadAsOneTextEvenWhenALineSpansTwo) {
  // As bgzip and pigz write: members cut anywhere, here in the middle of a line.
  const std::string gz = GzipMember("first\nsec") + GzipMember("ond\n") + GzipMember("") + GzipMember("third\n");
  auto [lines, s] = ReadAll(Write("multi.gz", gz));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(LineReaderTest, ALargeFileReadsWhole) {
  // Bigger than the reader's 256 KiB chunks on both sides of inflate.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "row " + std::to_string(i) + "\n";
  auto [lines, s] = ReadAll(Write("large.gz", GzipMember(text)));
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(lines.size(), 200000u);
  EXPECT_EQ(lines[123456], "row 123456");
}

TEST_F(LineReaderTest, ATruncatedFileIsAnErrorNamingFileAndLine) {
  std::string text;
  for (int i = 1; i <= 50000; ++i) text += "line " + std::to_string(i) + "\n";
  const std::string gz = GzipMember(text);
  const std::string path = Write("cut.gz", gz.substr(0, gz.size() / 2));
  auto [lines, s] = ReadAll(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s;
  ASSERT_FALSE(lines.empty());
  // Every line handed out is whole, and the message names the line after the last one.
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i], "line " + std::to_string(i + 1));
  EXPECT_NE(s.message().find("line " + std::to_string(lines.size() + 1) + ":"), std::string::npos) << s;
  // Cut inside the 8-byte trailer: all text decoded, but the member is still not whole.
  auto [all, s2] = ReadAll(Write("cut-trailer.gz", gz.substr(0, gz.size() - 3)));
  EXPECT_EQ(s2.code(), absl::StatusCode::kDataLoss) << s2;
}

TEST_F(LineReaderTest, AChecksumThatFailsIsAnError) {
  std::string gz = GzipMember("alpha\nbeta\n");
  gz[gz.size() - 8] ^= 0x01;  // the CRC-32 of the trailer
  auto [lines, s] = ReadAll(Write("crc.gz", gz));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("crc.gz: line "), std::string::npos) << s;
  EXPECT_NE(s.message().find("incorrect data check"), std::string::npos) << s;
  std::string gz2 = GzipMember("alpha\nbeta\n");
  gz2[gz2.size() - 1] ^= 0x01;  // the length of the trailer
  auto [lines2, s2] = ReadAll(Write("len.gz", gz2));
  EXPECT_EQ(s2.code(), absl::StatusCode::kDataLoss) << s2;
}

TEST_F(LineReaderTest, CorruptDeflateDataAndTrailingBytesAreErrors) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "some text " + std::to_string(i * 7919) + "\n";
  std::string gz = GzipMember(text);
  for (size_t i = 20; i < 40; ++i) gz[i] = static_cast<char>(0xff);
  auto [lines, s] = ReadAll(Write("bad.gz", gz));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("bad.gz: line 1:"), std::string::npos) << s;

  auto [lines2, s2] = ReadAll(Write("tail.gz", GzipMember("one\n") + "not gzip"));
  EXPECT_EQ(s2.code(), absl::StatusCode::kDataLoss) << s2;
  EXPECT_NE(s2.message().find("line 2:"), std::string::npos) << s2;
  EXPECT_EQ(lines2, (std::vector<std::string>{"one"}));
}

TEST_F(LineReaderTest, AMissingFileIsNotFoundWithItsPath) {
  auto r = LineReader::Open(dir_.Sub("nope.tsv"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nope.tsv"), std::string::npos);
}

}  // namespace
}  // namespace annals::cli
