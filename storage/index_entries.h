// What every writer of the store must agree on: the byte form that decides "unchanged",
// the index entries of a relation version (and their decoder, for the readers), and the
// name terms of an entity version. Shared
// by the committer (store_commit.cc) and the bulk loader (bulk_load.cc). verify.cc derives
// the same keys on its own on purpose, so a mistake here cannot hide from it.
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <set>
#include <string>
#include <string_view>

#include "storage/index_summary.h"
#include "storage/key_codec.h"
#include "storage/name_folding.h"
#include "storage/record.pb.h"
#include "storage/valid_time.h"

namespace annals::storage {

inline std::string U64Value(int64_t v) {
  std::string out;
  key::AppendU64(&out, static_cast<uint64_t>(v));
  return out;
}

// A message's bytes in one stable form: map entries in key order. Everything the store
// writes goes through this, so two replicas that apply the same log entry write the same
// bytes (plain serialization orders map entries by a per-process hash).
inline std::string SerializeDeterministic(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

// The record's content without the fields the committer sets, in a stable byte form, so
// "identical to its current version" is a byte comparison.
template <typename Record>
std::string Canonical(Record record) {
  record.clear_revision();
  record.clear_recorded_at_micros();
  return SerializeDeterministic(record);
}

// Calls visit(family, key, value) for every index entry of one relation version written at
// `rev`, closed at `rev_removed` (kOpen while current). key_codec.h draws the layout.
template <typename Visit>
void ForEachIndexEntry(const RelationRecord& r, const TimeBounds& b, int64_t rev, int64_t rev_removed,
                       Visit&& visit) {
  auto emit = [&](Cf family, const std::string& k) {
    const std::string summary = SerializeDeterministic(SummaryFor(family, r));
    visit(family, k, EncodeIndexValue({rev_removed, b, r.status(), summary}));
  };
  emit(Cf::kOut, key::Out(r.subject(), r.predicate(), b, r.id(), rev));
  if (r.object_case() == RelationRecord::kObjectId)
    emit(Cf::kIn, key::In(r.object_id(), r.predicate(), b, r.id(), rev));
  emit(Cf::kByPredicate, key::ByPredicate(r.predicate(), b, r.id(), rev));
  emit(Cf::kByTime, key::ByTime(b, r.id(), rev));
  std::set<std::string_view> documents;
  for (const auto& source : r.sources()) documents.insert(source.document_id());
  for (auto doc : documents) emit(Cf::kByDocument, key::ByDocument(doc, r.id(), rev));
}

// The name terms of one entity version, each once.
inline std::set<std::string> EntityTerms(const EntityRecord& e) {
  std::set<std::string> terms;
  for (auto& t : NameTerms(e.label())) terms.insert(std::move(t));
  for (const auto& alias : e.aliases())
    for (auto& t : NameTerms(alias)) terms.insert(std::move(t));
  return terms;
}

}  // namespace annals::storage
