// Reads a text file line by line, plain or gzip-compressed.
//
// Compression is told by the file's first two bytes (1f 8b), never by its name, and a file of
// several gzip members one after the other (bgzip, pigz, `cat a.gz b.gz`) reads as the
// concatenation of their texts, as gzip -d gives it.
//
// A file that cannot be read to its end (truncated, corrupt deflate data, a member whose CRC-32
// or length check fails, bytes after the last member that are not another member) ends the
// lines early: Next() returns false and status() is DATA_LOSS with a message that names the
// file and the line where reading stopped. The lines handed out before that were decoded whole;
// a member's checksum covers the whole member, so lines of a member whose check then fails were
// handed out before the failure was known: callers that must write nothing from a bad file
// (annals import --bulk) read to the end before they commit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace annals::cli {

class LineReader {
 public:
  // NOT_FOUND or PERMISSION_DENIED-like errors (as UNAVAILABLE is not right here: the file is
  // local) come back as the status, with the path in the message.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line, without its '\n' (a '\r' before it is kept, as std::getline keeps it).
  // False at the end of the text or at an error; status() says which.
  bool Next(std::string* line);

  // OK while reading and after a clean end; DATA_LOSS or an I/O error otherwise.
  const absl::Status& status() const { return status_; }
  // Lines handed out so far (the number of the last one).
  int64_t lines() const { return lines_; }
  // Bytes of the file consumed so far, and its size: for progress bars.
  uint64_t file_bytes_read() const { return file_bytes_read_; }
  uint64_t file_size() const { return file_size_; }
  bool compressed() const { return gzip_ != nullptr; }

 private:
  struct Gzip;
  LineReader(std::string path, std::FILE* file, uint64_t size);
  // Appends more text to text_; false at the end of the file or on an error (status_ set).
  bool Fill();
  bool FillPlain();
  bool FillGzip();
  // Reads the next chunk of the file into in_; false at its end or on an error.
  bool ReadFile();
  void Fail(absl::Status status);

  std::string path_;
  std::FILE* file_;
  uint64_t file_size_;
  uint64_t file_bytes_read_ = 0;
  std::unique_ptr<Gzip> gzip_;
  std::string in_;       // compressed bytes read and not yet inflated
  size_t in_pos_ = 0;
  std::string text_;     // decoded text not yet handed out, from text_pos_
  size_t text_pos_ = 0;
  bool eof_ = false;     // the file has no more bytes
  bool done_ = false;    // no more text will come (end or error)
  int64_t lines_ = 0;
  absl::Status status_;
};

}  // namespace annals::cli
