#include "storage/key_codec.h"

namespace annals::storage {

int TierOf(const TimeBounds& b) {
  if (b.s_lo == kMinusInfinity || b.e_hi == kPlusInfinity) return kTierCount - 1;
  const int64_t span = b.e_hi - b.s_lo;  // both finite: far from overflow (kMaxAbsYear)
  int tier = 0;
  while (tier < kTierCount - 1 && span > kTierReach[tier]) ++tier;
  return tier;
}

int64_t TierScanStart(int tier, int64_t w_lo) {
  if (tier >= kTierCount - 1 || w_lo == kMinusInfinity) return kMinusInfinity;
  return w_lo - kTierReach[tier];  // w_lo is a day of a finite year: no overflow
}

namespace key {

void AppendU64(std::string* out, uint64_t v) {
  // One append of eight bytes: a push_back per byte checked the capacity eight times and
  // was a tenth of the bulk loader's key building (profiled).
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(bytes, 8);
}

void AppendDay(std::string* out, int64_t day) {
  AppendU64(out, static_cast<uint64_t>(day) ^ (uint64_t{1} << 63));
}

void AppendId(std::string* out, std::string_view id) {
  out->append(id);
  out->push_back('\0');
}

uint64_t ReadU64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

int64_t ReadDay(std::string_view bytes) {
  return static_cast<int64_t>(ReadU64(bytes) ^ (uint64_t{1} << 63));
}

std::string VersionPrefix(std::string_view id) {
  std::string k;
  AppendId(&k, id);
  return k;
}

std::string Version(std::string_view id, int64_t rev) {
  std::string k;
  k.reserve(id.size() + 9);
  AppendId(&k, id);
  AppendU64(&k, ~static_cast<uint64_t>(rev));
  return k;
}

std::string Redirect(std::string_view entity_id, int64_t rev) {
  std::string k(kRedirectPrefix);
  AppendId(&k, entity_id);
  AppendU64(&k, static_cast<uint64_t>(rev));
  return k;
}

std::optional<RedirectKey> ParseRedirect(std::string_view key) {
  if (key.substr(0, kRedirectPrefix.size()) != kRedirectPrefix) return std::nullopt;
  key.remove_prefix(kRedirectPrefix.size());
  if (key.size() < 9 || key[key.size() - 9] != '\0') return std::nullopt;
  const std::string_view id = key.substr(0, key.size() - 9);
  if (id.find('\0') != std::string_view::npos) return std::nullopt;
  return RedirectKey{id, static_cast<int64_t>(ReadU64(key.substr(key.size() - 8)))};
}

int64_t VersionRevision(std::string_view key) {
  return static_cast<int64_t>(~ReadU64(key.substr(key.size() - 8)));
}

std::optional<VersionKey> ParseVersion(std::string_view key) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return std::nullopt;
  const std::string_view id = key.substr(0, key.size() - 9);
  if (id.find('\0') != std::string_view::npos) return std::nullopt;
  return VersionKey{id, VersionRevision(key)};
}

namespace {
// Every key builder reserves its exact size first: growing a key by appends reallocated it
// up to three times (a tenth of the bulk loader's worker thread, profiled).
constexpr size_t kTail = 9;  // 00 | rev(8) after the id
void AppendTail(std::string* k, std::string_view rel_id, int64_t rev) {
  AppendId(k, rel_id);
  AppendU64(k, static_cast<uint64_t>(rev));
}
void AppendTiered(std::string* k, const TimeBounds& b) {
  k->push_back(static_cast<char>(TierOf(b)));
  AppendDay(k, b.s_lo);
}
constexpr size_t kTiered = 1 + 8;  // tier(1) | s_lo(8)
}  // namespace

std::string Out(std::string_view subject, std::string_view predicate, const TimeBounds& b,
                std::string_view rel_id, int64_t rev) {
  std::string k;
  k.reserve(subject.size() + 1 + predicate.size() + 1 + kTiered + rel_id.size() + kTail);
  AppendId(&k, subject);
  AppendId(&k, predicate);
  AppendTiered(&k, b);
  AppendTail(&k, rel_id, rev);
  return k;
}

std::string In(std::string_view object, std::string_view predicate, const TimeBounds& b,
               std::string_view rel_id, int64_t rev) {
  return Out(object, predicate, b, rel_id, rev);  // same shape, other family
}

std::string ByPredicate(std::string_view predicate, const TimeBounds& b, std::string_view rel_id,
                        int64_t rev) {
  std::string k;
  k.reserve(predicate.size() + 1 + kTiered + rel_id.size() + kTail);
  AppendId(&k, predicate);
  AppendTiered(&k, b);
  AppendTail(&k, rel_id, rev);
  return k;
}

std::string ByTime(const TimeBounds& b, std::string_view rel_id, int64_t rev) {
  std::string k;
  k.reserve(kTiered + rel_id.size() + kTail);
  AppendTiered(&k, b);
  AppendTail(&k, rel_id, rev);
  return k;
}

std::string ByDocument(std::string_view document_id, std::string_view rel_id, int64_t rev) {
  std::string k;
  k.reserve(document_id.size() + 1 + rel_id.size() + kTail);
  AppendId(&k, document_id);
  AppendTail(&k, rel_id, rev);
  return k;
}

namespace {
// Takes the 00-terminated field at the front of `rest`; false when there is none.
bool TakeId(std::string_view* rest, std::string_view* id) {
  const size_t end = rest->find('\0');
  if (end == std::string_view::npos) return false;
  *id = rest->substr(0, end);
  rest->remove_prefix(end + 1);
  return true;
}
// The tail `rel_id 00 | rev(8)`, which must be all of `rest`.
bool TakeTail(std::string_view rest, std::string_view* id, int64_t* rev) {
  if (rest.size() < kTail || rest[rest.size() - kTail] != '\0') return false;
  *id = rest.substr(0, rest.size() - kTail);
  if (id->find('\0') != std::string_view::npos) return false;
  *rev = static_cast<int64_t>(ReadU64(rest.substr(rest.size() - 8)));
  return true;
}
}  // namespace

std::optional<RelationIndexKey> ParseRelationIndex(Cf cf, std::string_view key) {
  RelationIndexKey out;
  std::string_view rest = key;
  switch (cf) {
    case Cf::kOut:
    case Cf::kIn:
      if (!TakeId(&rest, &out.entity) || !TakeId(&rest, &out.predicate)) return std::nullopt;
      break;
    case Cf::kByPredicate:
      if (!TakeId(&rest, &out.predicate)) return std::nullopt;
      break;
    case Cf::kByTime: break;
    case Cf::kByDocument:
      if (!TakeId(&rest, &out.document) || !TakeTail(rest, &out.rel_id, &out.rev)) return std::nullopt;
      return out;
    default: return std::nullopt;
  }
  if (rest.size() < kTiered) return std::nullopt;
  out.tier = static_cast<uint8_t>(rest[0]);
  if (out.tier >= kTierCount) return std::nullopt;
  out.s_lo = ReadDay(rest.substr(1));
  out.group = key.substr(0, key.size() - rest.size() + 1);
  rest.remove_prefix(kTiered);
  if (!TakeTail(rest, &out.rel_id, &out.rev)) return std::nullopt;
  return out;
}

std::string GroupAt(std::string_view group, int64_t s_lo) {
  std::string k(group);
  AppendDay(&k, s_lo);
  return k;
}

std::string TierPrefix(std::string_view prefix, int tier) {
  std::string k(prefix);
  k.push_back(static_cast<char>(tier));
  return k;
}

std::string Name(std::string_view folded, std::string_view entity_id, int64_t rev) {
  std::string k;
  k.reserve(folded.size() + 1 + entity_id.size() + kTail);
  AppendId(&k, folded);
  AppendTail(&k, entity_id, rev);
  return k;
}

std::string Change(int64_t rev) {
  std::string k;
  AppendU64(&k, static_cast<uint64_t>(rev));
  return k;
}

std::string Log(int64_t position, uint32_t part) {
  std::string k;
  k.reserve(12);
  AppendU64(&k, static_cast<uint64_t>(position));
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(part >> shift));
  return k;
}

std::optional<LogKey> ParseLog(std::string_view key) {
  if (key.size() != 12) return std::nullopt;
  LogKey out;
  out.position = static_cast<int64_t>(ReadU64(key));
  for (int i = 8; i < 12; ++i) out.part = (out.part << 8) | static_cast<uint8_t>(key[i]);
  return out;
}

std::optional<NameKey> ParseName(std::string_view key) {
  NameKey out;
  std::string_view rest = key;
  if (!TakeId(&rest, &out.term) || !TakeTail(rest, &out.entity_id, &out.rev)) return std::nullopt;
  return out;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<uint8_t>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(64, '\xff');  // empty prefix: beyond every key we write
}

}  // namespace key

std::string EncodeIndexValue(const IndexValue& v) {
  std::string out;
  out.reserve(kIndexValueFixedBytes + v.summary.size());
  key::AppendU64(&out, static_cast<uint64_t>(v.rev_removed));
  key::AppendDay(&out, v.bounds.s_lo);
  key::AppendDay(&out, v.bounds.s_hi);
  key::AppendDay(&out, v.bounds.e_lo);
  key::AppendDay(&out, v.bounds.e_hi);
  out.push_back(static_cast<char>(v.status));
  out.append(v.summary);
  return out;
}

std::optional<IndexValue> DecodeIndexValue(std::string_view bytes) {
  if (bytes.size() < kIndexValueFixedBytes) return std::nullopt;
  IndexValue v;
  v.rev_removed = static_cast<int64_t>(key::ReadU64(bytes));
  v.bounds.s_lo = key::ReadDay(bytes.substr(8));
  v.bounds.s_hi = key::ReadDay(bytes.substr(16));
  v.bounds.e_lo = key::ReadDay(bytes.substr(24));
  v.bounds.e_hi = key::ReadDay(bytes.substr(32));
  v.status = static_cast<uint8_t>(bytes[40]);
  v.summary = bytes.substr(kIndexValueFixedBytes);
  return v;
}

}  // namespace annals::storage
