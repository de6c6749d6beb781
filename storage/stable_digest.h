// A stable 128-bit digest: two FNV-1a 64-bit hashes with different seeds. Stable across
// runs, builds and machines, which std::hash and absl::Hash are not: request ids,
// fingerprints and state digests derived from it must mean the same thing tomorrow and on
// every replica. service/digest.h (request ids, fingerprints) and Store::StateDigest use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace annals::storage {

class StableDigest {
 public:
  // The bytes as they are (Digest128 of their concatenation).
  void Add(std::string_view bytes) {
    for (uint64_t& x : h_)
      for (unsigned char c : bytes) x = (x ^ c) * 0x100000001b3ULL;
  }
  // The bytes behind their length (8 bytes, big-endian), so that a sequence of fields
  // digests differently from another cut of the same bytes.
  void AddField(std::string_view bytes) {
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>(static_cast<uint64_t>(bytes.size()) >> (56 - 8 * i));
    Add(std::string_view(len, 8));
    Add(bytes);
  }
  // The 16 digest bytes, big-endian.
  std::string Bytes() const {
    std::string out;
    for (uint64_t x : h_)
      for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(x >> shift));
    return out;
  }
  // The same, as 32 lowercase hex digits.
  std::string Hex() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : Bytes()) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    return out;
  }

 private:
  uint64_t h_[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
};

}  // namespace annals::storage
