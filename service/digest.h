// The stable 128-bit digest of storage/stable_digest.h, for request ids and fingerprints
// derived from it, which must mean the same thing tomorrow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/stable_digest.h"

namespace annals::service {

inline std::string Digest128(std::string_view bytes) {
  storage::StableDigest digest;
  digest.Add(bytes);
  return digest.Bytes();
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
