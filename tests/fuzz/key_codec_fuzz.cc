// libFuzzer: the key codec (storage/key_codec.h) on arbitrary bytes. Parsing never reads
// out of bounds, and whatever parses re-encodes to the same bytes; the day encoding keeps
// order; PrefixEnd bounds every key with its prefix.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/key_codec.h"

namespace {

using namespace annals::storage;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "key_codec_fuzz: invariant broken: %s\n", what);
    abort();
  }
}

// Re-encodes a parsed index key from its parts.
std::string Rebuild(Cf cf, std::string_view k, const key::IndexTail& tail) {
  auto next = [&](size_t* pos) {
    const size_t end = k.find('\0', *pos);
    std::string_view s = k.substr(*pos, end - *pos);
    *pos = end + 1;
    return s;
  };
  size_t pos = 0;
  switch (cf) {
    case Cf::kOut:
    case Cf::kIn: {
      auto a = next(&pos);
      auto b = next(&pos);
      const int64_t day = key::ReadDay(k.substr(pos));
      return cf == Cf::kOut ? key::Out(a, b, day, tail.id, tail.rev) : key::In(a, b, day, tail.id, tail.rev);
    }
    case Cf::kByPredicate: {
      auto a = next(&pos);
      return key::ByPredicate(a, key::ReadDay(k.substr(pos)), tail.id, tail.rev);
    }
    case Cf::kByTime: return key::ByTime(key::ReadDay(k), tail.id, tail.rev);
    case Cf::kByDocument: {
      auto a = next(&pos);
      return key::ByDocument(a, tail.id, tail.rev);
    }
    case Cf::kNames: {
      auto a = next(&pos);
      return key::Name(a, tail.id, tail.rev);
    }
    default: return "";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Every index family's tail parser on the raw bytes.
  for (Cf cf : {Cf::kOut, Cf::kIn, Cf::kByPredicate, Cf::kByTime, Cf::kByDocument, Cf::kNames, Cf::kEntities,
                Cf::kMeta}) {
    auto tail = key::ParseTail(cf, bytes);
    if (!tail) continue;
    Check(cf != Cf::kEntities && cf != Cf::kMeta, "a record family parsed as an index");
    Check(tail->id.data() >= bytes.data() && tail->id.data() + tail->id.size() <= bytes.data() + bytes.size(),
          "the tail id lies inside the key");
    Check(Rebuild(cf, bytes, *tail) == bytes, "a parsed index key re-encodes to itself");
  }

  // Index values: exactly 41 bytes decode, and decode-encode is the identity.
  if (auto v = DecodeIndexValue(bytes)) {
    Check(size == 41, "only 41-byte values decode");
    Check(EncodeIndexValue(*v) == bytes, "an index value re-encodes to itself");
  } else {
    Check(size != 41, "every 41-byte value decodes");
  }

  // Version keys: the revision survives the ~rev encoding.
  FuzzedDataProvider in(data, size);
  const int64_t rev = in.ConsumeIntegral<int64_t>();
  const int64_t a = in.ConsumeIntegral<int64_t>();
  const int64_t b = in.ConsumeIntegral<int64_t>();
  const std::string id = in.ConsumeRandomLengthString(64);
  Check(key::VersionRevision(key::Version(id, rev)) == rev, "a version key keeps its revision");
  if (id.find('\0') == std::string::npos && rev >= 0) {
    // Newer versions sort first.
    Check(key::Version(id, rev) > key::Version(id, rev == INT64_MAX ? rev : rev + 1) || rev == INT64_MAX,
          "a newer version sorts before an older one");
  }

  // Days: the sign-flipped encoding round-trips and keeps order.
  std::string da, db;
  key::AppendDay(&da, a);
  key::AppendDay(&db, b);
  Check(key::ReadDay(da) == a && key::ReadDay(db) == b, "a day round-trips");
  Check((a < b) == (da < db), "day keys keep the order of days");

  // PrefixEnd: above the prefix and every key that starts with it.
  const std::string prefix = in.ConsumeRandomLengthString(32);
  const std::string rest = in.ConsumeRemainingBytesAsString();
  const std::string end = key::PrefixEnd(prefix);
  const std::string longer = prefix + rest;
  if (prefix.find_first_not_of('\xff') != std::string::npos)
    Check(longer < end, "PrefixEnd is above every key with the prefix");
  Check(prefix < end || prefix.empty(), "PrefixEnd is above the prefix");
  return 0;
}
