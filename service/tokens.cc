#include "service/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace annals::service {
namespace {

std::array<unsigned char, 32> Sha256(std::string_view bytes) {
  std::array<unsigned char, 32> digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Splits on runs of spaces and tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@' || c == ':';
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead: return "read";
    case Scope::kWrite: return "write";
    case Scope::kAdmin: return "admin";
  }
  return "?";
}

std::optional<Scope> ParseScope(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "read") return Scope::kRead;
  if (lower == "write") return Scope::kWrite;
  if (lower == "admin") return Scope::kAdmin;
  return std::nullopt;
}

absl::StatusOr<TokenTable> TokenTable::Parse(std::string_view text, std::string_view source) {
  TokenTable table;
  std::map<std::array<unsigned char, 32>, int> first_line;  // digest -> line, for duplicates
  int line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(source), ":", line_number, ": ", what));
    };
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const std::vector<std::string_view> fields = Fields(line);
    if (fields.size() < 2 || fields.size() > 3)
      return error(absl::StrCat("expected 'SCOPE TOKEN [NAME]', found ", fields.size(), " field(s)"));
    const std::optional<Scope> scope = ParseScope(fields[0]);
    if (!scope) return error("the scope must be read, write or admin");
    const std::string_view token = fields[1];
    if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes)
      return error(absl::StrCat("the token must be ", kMinTokenBytes, " to ", kMaxTokenBytes,
                                " characters long (this one has ", token.size(), ")"));
    for (char c : token) {
      if (c < 0x21 || c > 0x7e) return error("the token must be printable ASCII without spaces");
    }
    std::string name = absl::StrCat("line ", line_number);
    if (fields.size() == 3) {
      const std::string_view given = fields[2];
      if (given.size() > 64 || !std::all_of(given.begin(), given.end(), IsNameChar))
        return error("the name must be 1 to 64 characters of letters, digits and . _ - @ :");
      name = std::string(given);
    }
    Entry entry{*scope, std::move(name), Sha256(token)};
    if (auto [it, inserted] = first_line.emplace(entry.digest, line_number); !inserted)
      return error(absl::StrCat("the same token as line ", it->second, " (each token must be unique)"));
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(source), ": no tokens (every call would be refused); expected lines 'SCOPE TOKEN [NAME]'"));
  return table;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot open the tokens file"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read the tokens file"));
  return Parse(text.str(), path);
}

const TokenTable::Entry* TokenTable::Find(std::string_view token) const {
  const std::array<unsigned char, 32> digest = Sha256(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: every entry is compared in full, in constant time. Digests are unique
    // (Parse refuses duplicates), so at most one matches.
    const bool equal = CRYPTO_memcmp(digest.data(), entry.digest.data(), digest.size()) == 0;
    found = equal ? &entry : found;
  }
  return found;
}

size_t TokenTable::Count(Scope scope) const {
  return std::count_if(entries_.begin(), entries_.end(), [scope](const Entry& e) { return e.scope == scope; });
}

}  // namespace annals::service
