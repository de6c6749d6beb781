// Bearer tokens and their scopes, read from a tokens file (annalsd --tokens-file).
//
// The file format (docs/security.md): one token per line, "SCOPE TOKEN [NAME]", fields
// separated by spaces or tabs; blank lines and lines whose first non-blank character is '#'
// are ignored. SCOPE is read, write or admin (each includes the ones before it). TOKEN is
// 16 to 4096 printable ASCII characters without spaces. NAME (optional, default "line N")
// is what messages and logs call the token: token values are never printed.
//
// Only SHA-256 digests of the tokens are kept in memory, and a presented token is compared
// against every entry in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace annals::service {

enum class Scope : uint8_t { kRead = 1, kWrite = 2, kAdmin = 3 };

std::string_view ScopeName(Scope scope);
// "read", "write", "admin" (case-insensitive).
std::optional<Scope> ParseScope(std::string_view text);
// Scopes are ordered: admin includes write, write includes read.
inline bool Grants(Scope granted, Scope needed) { return granted >= needed; }

inline constexpr size_t kMinTokenBytes = 16;
inline constexpr size_t kMaxTokenBytes = 4096;

class TokenTable {
 public:
  struct Entry {
    Scope scope;
    std::string name;
    std::array<unsigned char, 32> digest;  // SHA-256 of the token
  };

  // Parses a tokens file's text. Errors are INVALID_ARGUMENT "SOURCE:LINE: what is wrong"
  // and never quote a token. A file that grants no token at all is an error too: it would
  // lock every client out.
  static absl::StatusOr<TokenTable> Parse(std::string_view text, std::string_view source);
  // Reads and parses the file at `path`.
  static absl::StatusOr<TokenTable> Load(const std::string& path);

  // The entry whose token is `token`, or nullptr. Takes the same time whichever entry
  // matches, or none: every entry's digest is compared in full.
  const Entry* Find(std::string_view token) const;

  size_t size() const { return entries_.size(); }
  size_t Count(Scope scope) const;

 private:
  std::vector<Entry> entries_;
};

}  // namespace annals::service
