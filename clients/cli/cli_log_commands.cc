// `annals log export` and `annals log replay` (docs/commit-log.md): the commit log of a
// stopped server's database as a file, and such a file applied to another database. A
// replay into an empty database is an exact copy of the history (every revision, every
// request id's answer), where `annals export` gives the latest state only.
//
// The file: the line "annals-log 1\n", then each entry as a varint32 length and the entry's
// bytes (LogEntry, storage/record.proto), in position order.
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <cstdio>
#include <fcntl.h>
#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "clients/cli/cli_commands.h"
#include "storage/index_entries.h"
#include "storage/store.h"

namespace annals::cli {
namespace {

constexpr char kMagic[] = "annals-log 1\n";

absl::StatusOr<std::unique_ptr<storage::Store>> OpenStopped(const std::string& db, bool create) {
  if (!create && access((db + "/CURRENT").c_str(), F_OK) != 0)
    return absl::NotFoundError(absl::StrCat(db, ": no database there"));
  auto store = storage::Store::Open(db, {});
  if (!store.ok())
    return absl::Status(store.status().code(),
                        absl::StrCat(db, ": ", store.status().message(),
                                     "\n(the log commands open the database directly: stop the annalsd serving it "
                                     "first, or work on a copy made with `annals admin backup`)"));
  return store;
}

// A progress line for long runs, on a terminal only.
void ShowProgress(int64_t done, int64_t total, bool last) {
  if (!isatty(STDERR_FILENO) || total <= 0) return;
  if (!last && done % 1000 != 0) return;
  const int filled = static_cast<int>(30.0 * done / total);
  std::fprintf(stderr, "\r[%-30s] %lld/%lld entries ", std::string(filled, '#').c_str(), static_cast<long long>(done),
               static_cast<long long>(total));
  if (last) std::fprintf(stderr, "\n");
}

}  // namespace

int LogExport(const LogOptions& o, bool json) {
  auto store = OpenStopped(o.db, false);
  if (!store.ok()) {
    std::cerr << "annals: " << store.status().message() << "\n";
    return 1;
  }
  storage::Store& s = **store;
  const int64_t from = o.from > 0 ? o.from : s.FirstLogPosition();
  const int64_t to = o.to > 0 ? std::min(o.to, s.LastPosition()) : s.LastPosition();
  const int fd = open(o.file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    std::cerr << "annals: " << o.file << ": cannot create (" << std::strerror(errno)
              << "; the file must not exist)\n";
    return 1;
  }
  int64_t count = 0;
  absl::Status read;
  {
    google::protobuf::io::FileOutputStream file(fd);
    google::protobuf::io::CodedOutputStream out(&file);
    out.WriteRaw(kMagic, sizeof kMagic - 1);
    read = s.ReadLog(from, to, [&](const storage::LogEntry& e) {
      const std::string bytes = storage::SerializeDeterministic(e);
      out.WriteVarint32(static_cast<uint32_t>(bytes.size()));
      out.WriteString(bytes);
      ShowProgress(++count, to - from + 1, false);
      return !out.HadError();
    });
    if (read.ok() && out.HadError()) read = absl::DataLossError(absl::StrCat(o.file, ": write failed"));
  }
  ShowProgress(count, to - from + 1, true);
  if (fsync(fd) != 0 && read.ok()) read = absl::DataLossError(absl::StrCat(o.file, ": fsync failed"));
  close(fd);
  if (!read.ok()) {
    std::cerr << "annals: log export: " << read.message() << "\n";
    unlink(o.file.c_str());
    return 1;
  }
  // The digest says what a replay of the whole log must reach: only meaningful to the head.
  std::string digest;
  if (to == s.LastPosition()) {
    auto d = s.StateDigest();
    if (d.ok()) digest = *d;
  }
  if (json) {
    std::cout << nlohmann::json({{"file", o.file}, {"from", count ? from : 0}, {"to", count ? to : 0},
                                 {"entries", count}, {"revision", s.LatestRevision()}, {"digest", digest}})
                     .dump()
              << "\n";
  } else {
    std::cout << "exported " << count << " entries";
    if (count) std::cout << " (positions " << from << ".." << to << ")";
    std::cout << " to " << o.file << "\n";
    if (!digest.empty()) std::cout << "state digest at position " << to << ": " << digest << "\n";
  }
  return 0;
}

int LogReplay(const LogOptions& o, bool json) {
  const int fd = open(o.file.c_str(), O_RDONLY);
  if (fd < 0) {
    std::cerr << "annals: " << o.file << ": cannot open (" << std::strerror(errno) << ")\n";
    return 1;
  }
  auto store = OpenStopped(o.db, true);
  if (!store.ok()) {
    close(fd);
    std::cerr << "annals: " << store.status().message() << "\n";
    return 1;
  }
  storage::Store& s = **store;
  int64_t applied = 0, first = 0;
  std::string failure;
  {
    google::protobuf::io::FileInputStream file(fd);
    google::protobuf::io::CodedInputStream in(&file);
    in.SetTotalBytesLimit(INT32_MAX);
    std::string magic;
    if (!in.ReadString(&magic, sizeof kMagic - 1) || magic != kMagic) {
      failure = absl::StrCat(o.file, ": not an Annals log file (written by `annals log export`)");
    }
    for (uint32_t size; failure.empty() && in.ReadVarint32(&size);) {
      std::string bytes;
      storage::LogEntry entry;
      if (!in.ReadString(&bytes, static_cast<int>(size)) || !entry.ParseFromString(bytes)) {
        failure = absl::StrCat(o.file, ": entry ", applied + 1, " of the file is cut short or unreadable");
        break;
      }
      if (applied == 0) {
        first = entry.position();
        if (s.LastPosition() != first - 1) {
          failure = absl::StrCat(o.db, " is at log position ", s.LastPosition(), " but the file starts at entry ",
                                 first, (first == 1 ? ": replay into an empty database" : ""));
          break;
        }
      }
      if (absl::Status a = s.Apply(entry); !a.ok()) {
        failure = std::string(a.message());
        break;
      }
      ++applied;
      ShowProgress(applied, 0, false);
      // A big file resets the stream's byte limit as it goes.
      if (in.CurrentPosition() > (1 << 30)) in.SetTotalBytesLimit(INT32_MAX);
    }
  }
  close(fd);
  if (!failure.empty()) {
    std::cerr << "annals: log replay: " << failure << "\n"
              << "annals: " << applied << " entries applied before it (each one whole)\n";
    return 1;
  }
  auto digest = s.StateDigest();
  if (json) {
    std::cout << nlohmann::json({{"db", o.db}, {"entries", applied}, {"position", s.LastPosition()},
                                 {"revision", s.LatestRevision()}, {"digest", digest.ok() ? *digest : ""}})
                     .dump()
              << "\n";
  } else {
    std::cout << "replayed " << applied << " entries into " << o.db << ": position " << s.LastPosition()
              << ", revision " << s.LatestRevision() << "\n";
    if (digest.ok()) std::cout << "state digest: " << *digest << "\n";
  }
  return 0;
}

}  // namespace annals::cli
