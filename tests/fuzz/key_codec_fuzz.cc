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

// Re-encodes a parsed relation index key from its fields. A tiered key is put together
// from its prefix, tier and start by hand: a fuzzed tier need not be the one the bounds
// builders would compute.
std::string Rebuild(Cf cf, const key::RelationIndexKey& e) {
  std::string k;
  if (cf == Cf::kByDocument) return key::ByDocument(e.document, e.rel_id, e.rev);
  if (cf == Cf::kOut || cf == Cf::kIn) key::AppendId(&k, e.entity);
  if (cf != Cf::kByTime) key::AppendId(&k, e.predicate);
  k = key::GroupAt(key::TierPrefix(k, e.tier), e.s_lo);
  key::AppendId(&k, e.rel_id);
  key::AppendU64(&k, static_cast<uint64_t>(e.rev));
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Every relation index family's parser on the raw bytes.
  for (Cf cf : kRelationIndexFamilies) {
    auto entry = key::ParseRelationIndex(cf, bytes);
    if (!entry) continue;
    Check(entry->rel_id.data() >= bytes.data() &&
              entry->rel_id.data() + entry->rel_id.size() <= bytes.data() + bytes.size(),
          "the relation id lies inside the key");
    Check(entry->tier >= 0 && entry->tier < kTierCount, "the tier is one that exists");
    Check(Rebuild(cf, *entry) == bytes, "a parsed index key re-encodes to itself");
  }
  for (Cf cf : {Cf::kEntities, Cf::kMeta, Cf::kNames})
    Check(!key::ParseRelationIndex(cf, bytes), "only the relation index families parse as relation index keys");
  if (auto name = key::ParseName(bytes))
    Check(key::Name(name->term, name->entity_id, name->rev) == bytes, "a parsed names key re-encodes to itself");
  if (auto version = key::ParseVersion(bytes))
    Check(key::Version(version->id, version->rev) == bytes, "a parsed version key re-encodes to itself");

  // Index values: 41 fixed bytes and a summary decode, and decode-encode is the identity.
  if (auto v = DecodeIndexValue(bytes)) {
    Check(size >= kIndexValueFixedBytes, "only values of at least 41 bytes decode");
    Check(EncodeIndexValue(*v) == bytes, "an index value re-encodes to itself");
  } else {
    Check(size < kIndexValueFixedBytes, "every value of at least 41 bytes decodes");
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
