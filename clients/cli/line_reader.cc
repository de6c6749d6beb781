#include "clients/cli/line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace annals::cli {
namespace {
constexpr size_t kChunk = 256 * 1024;
}  // namespace

struct LineReader::Gzip {
  z_stream z{};
  bool in_member = false;  // inside a member (its header seen, its trailer not yet checked)
  ~Gzip() { inflateEnd(&z); }
};

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int e = errno;
    const std::string why = std::strerror(e);
    if (e == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", why));
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot open: ", why));
  }
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  std::unique_ptr<LineReader> r(new LineReader(path, f, ec ? 0 : size));
  // Sniff the magic bytes; what was read stays in in_ for the first Fill().
  if (!r->ReadFile() && !r->status_.ok()) return r->status_;
  if (r->in_.size() >= 2 && static_cast<unsigned char>(r->in_[0]) == 0x1f &&
      static_cast<unsigned char>(r->in_[1]) == 0x8b) {
    r->gzip_ = std::make_unique<Gzip>();
    // 16 + MAX_WBITS: a gzip wrapper, whose trailer (CRC-32 and length) zlib checks.
    if (inflateInit2(&r->gzip_->z, 16 + MAX_WBITS) != Z_OK)
      return absl::ResourceExhaustedError(absl::StrCat(path, ": cannot start gzip decoding"));
  }
  return r;
}

LineReader::LineReader(std::string path, std::FILE* file, uint64_t size)
    : path_(std::move(path)), file_(file), file_size_(size) {}

LineReader::~LineReader() { std::fclose(file_); }

void LineReader::Fail(absl::Status status) {
  status_ = std::move(status);
  done_ = true;
}

bool LineReader::ReadFile() {
  if (eof_) return false;
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  const size_t had = in_.size();
  in_.resize(had + kChunk);
  const size_t n = std::fread(in_.data() + had, 1, kChunk, file_);
  in_.resize(had + n);
  file_bytes_read_ += n;
  if (n < kChunk) {
    if (std::ferror(file_)) {
      Fail(absl::DataLossError(absl::StrCat(path_, ": line ", lines_ + 1, ": read error: ", std::strerror(errno))));
      return false;
    }
    eof_ = true;
  }
  return n > 0;
}

bool LineReader::FillPlain() {
  if (in_pos_ == in_.size() && !ReadFile()) return false;
  text_.append(in_, in_pos_, std::string::npos);
  in_pos_ = in_.size();
  return true;
}

bool LineReader::FillGzip() {
  Gzip& g = *gzip_;
  const size_t before = text_.size();
  while (text_.size() == before) {
    if (in_pos_ == in_.size() && !ReadFile()) {
      if (!status_.ok()) return false;
      // The file ended. Inside a member, that member was cut short.
      if (g.in_member)
        Fail(absl::DataLossError(absl::StrCat(path_, ": line ", lines_ + 1,
                                              ": the gzip data ends early (the file is truncated)")));
      return false;
    }
    if (!g.in_member) {
      // Between members: what follows must be another member. Some writers pad with zeros
      // (gzip -d warns "trailing garbage"); we refuse anything but a member, so that a
      // damaged file is never taken as complete.
      if (in_.size() - in_pos_ < 2 && !eof_) {
        ReadFile();
        if (!status_.ok()) return false;
      }
      const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
      if (in_.size() - in_pos_ < 2 || p[0] != 0x1f || p[1] != 0x8b) {
        Fail(absl::DataLossError(absl::StrCat(path_, ": line ", lines_ + 1,
                                              ": bytes after the last gzip member are not gzip data")));
        return false;
      }
      inflateReset(&g.z);
      g.in_member = true;
    }
    const size_t room = kChunk;
    text_.resize(before + room);
    g.z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    g.z.avail_in = static_cast<uInt>(in_.size() - in_pos_);
    g.z.next_out = reinterpret_cast<Bytef*>(text_.data() + before);
    g.z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&g.z, Z_NO_FLUSH);
    in_pos_ = in_.size() - g.z.avail_in;
    text_.resize(before + room - g.z.avail_out);
    if (rc == Z_STREAM_END) {
      g.in_member = false;  // the trailer's CRC-32 and length were checked
    } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      // zlib's message says which: "invalid block type", "incorrect data check" (CRC-32), ...
      const char* why = g.z.msg != nullptr ? g.z.msg : "invalid data";
      Fail(absl::DataLossError(absl::StrCat(path_, ": line ", lines_ + 1, ": corrupt gzip data (", why, ")")));
      return false;
    } else if (rc == Z_MEM_ERROR) {
      Fail(absl::ResourceExhaustedError(absl::StrCat(path_, ": out of memory decoding gzip")));
      return false;
    }
    // Z_OK, or Z_BUF_ERROR (no progress possible with this input): read more and go on.
  }
  return true;
}

bool LineReader::Fill() {
  if (done_) return false;
  if (text_pos_ > 0) {
    text_.erase(0, text_pos_);
    text_pos_ = 0;
  }
  const bool more = gzip_ ? FillGzip() : FillPlain();
  if (!more) done_ = true;
  return more;
}

bool LineReader::Next(std::string* line) {
  for (;;) {
    const size_t nl = text_.find('\n', text_pos_);
    if (nl != std::string::npos) {
      line->assign(text_, text_pos_, nl - text_pos_);
      text_pos_ = nl + 1;
      ++lines_;
      return true;
    }
    if (!Fill()) break;
  }
  // The end, cleanly or not. A last line without '\n' is a line, unless the text stopped
  // because of an error: then it may be cut anywhere, and is not handed out.
  if (status_.ok() && text_pos_ < text_.size()) {
    line->assign(text_, text_pos_, std::string::npos);
    text_pos_ = text_.size();
    ++lines_;
    return true;
  }
  return false;
}

}  // namespace annals::cli
