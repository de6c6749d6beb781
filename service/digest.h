// A stable 128-bit digest (two FNV-1a 64-bit hashes with different seeds). Stable across
// runs, builds and machines, which std::hash and absl::Hash are not: request ids and
// fingerprints derived from it must mean the same thing tomorrow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace annals::service {

inline std::string Digest128(std::string_view bytes) {
  std::string digest;
  for (uint64_t h : {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL}) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    for (int shift = 56; shift >= 0; shift -= 8) digest.push_back(static_cast<char>(h >> shift));
  }
  return digest;
}

inline std::string HexDigest(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace annals::service
