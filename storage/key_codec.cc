#include "storage/key_codec.h"

namespace annals::storage {

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kDefault: return "default";
    case Cf::kMeta: return "meta";
    case Cf::kEntities: return "entities";
    case Cf::kDocuments: return "documents";
    case Cf::kRelations: return "relations";
    case Cf::kOut: return "out";
    case Cf::kIn: return "in";
    case Cf::kByPredicate: return "by_predicate";
    case Cf::kByTime: return "by_time";
    case Cf::kByDocument: return "by_document";
    case Cf::kNames: return "names";
    case Cf::kChanges: return "changes";
    case Cf::kRequests: return "requests";
    case Cf::kLog: return "log";
    case Cf::kCount: break;
  }
  return "?";
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

int64_t VersionRevision(std::string_view key) {
  return static_cast<int64_t>(~ReadU64(key.substr(key.size() - 8)));
}

namespace {
// Every key builder reserves its exact size first: growing a key by appends reallocated it
// up to three times (a tenth of the bulk loader's worker thread, profiled).
constexpr size_t kTail = 9;  // 00 | rev(8) after the id
void AppendTail(std::string* k, std::string_view rel_id, int64_t rev) {
  AppendId(k, rel_id);
  AppendU64(k, static_cast<uint64_t>(rev));
}
}  // namespace

std::string Out(std::string_view subject, std::string_view predicate, int64_t s_lo,
                std::string_view rel_id, int64_t rev) {
  std::string k;
  k.reserve(subject.size() + 1 + predicate.size() + 1 + 8 + rel_id.size() + kTail);
  AppendId(&k, subject);
  AppendId(&k, predicate);
  AppendDay(&k, s_lo);
  AppendTail(&k, rel_id, rev);
  return k;
}

std::string In(std::string_view object, std::string_view predicate, int64_t s_lo,
               std::string_view rel_id, int64_t rev) {
  return Out(object, predicate, s_lo, rel_id, rev);  // same shape, other family
}

std::string ByPredicate(std::string_view predicate, int64_t s_lo, std::string_view rel_id,
                        int64_t rev) {
  std::string k;
  k.reserve(predicate.size() + 1 + 8 + rel_id.size() + kTail);
  AppendId(&k, predicate);
  AppendDay(&k, s_lo);
  AppendTail(&k, rel_id, rev);
  return k;
}

std::string ByTime(int64_t s_lo, std::string_view rel_id, int64_t rev) {
  std::string k;
  k.reserve(8 + rel_id.size() + kTail);
  AppendDay(&k, s_lo);
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

std::optional<IndexTail> ParseTail(Cf cf, std::string_view key) {
  // How many 00-terminated strings, and whether an 8-byte day, come before the tail.
  int strings = 0;
  bool has_day = true;
  switch (cf) {
    case Cf::kOut:
    case Cf::kIn: strings = 2; break;
    case Cf::kByPredicate: strings = 1; break;
    case Cf::kByTime: strings = 0; break;
    case Cf::kByDocument:
    case Cf::kNames: strings = 1; has_day = false; break;
    default: return std::nullopt;
  }
  size_t pos = 0;
  for (int i = 0; i < strings; ++i) {
    pos = key.find('\0', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
  }
  if (has_day) pos += 8;
  if (key.size() < pos + 9 || key[key.size() - 9] != '\0') return std::nullopt;
  IndexTail tail;
  tail.id = key.substr(pos, key.size() - 9 - pos);
  tail.rev = static_cast<int64_t>(ReadU64(key.substr(key.size() - 8)));
  return tail;
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
  out.reserve(41);
  key::AppendU64(&out, static_cast<uint64_t>(v.rev_removed));
  key::AppendDay(&out, v.bounds.s_lo);
  key::AppendDay(&out, v.bounds.s_hi);
  key::AppendDay(&out, v.bounds.e_lo);
  key::AppendDay(&out, v.bounds.e_hi);
  out.push_back(static_cast<char>(v.status));
  return out;
}

std::optional<IndexValue> DecodeIndexValue(std::string_view bytes) {
  if (bytes.size() != 41) return std::nullopt;
  IndexValue v;
  v.rev_removed = static_cast<int64_t>(key::ReadU64(bytes));
  v.bounds.s_lo = key::ReadDay(bytes.substr(8));
  v.bounds.s_hi = key::ReadDay(bytes.substr(16));
  v.bounds.e_lo = key::ReadDay(bytes.substr(24));
  v.bounds.e_hi = key::ReadDay(bytes.substr(32));
  v.status = static_cast<uint8_t>(bytes[40]);
  return v;
}

}  // namespace annals::storage
