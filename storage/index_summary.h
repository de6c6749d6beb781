// The covering part of a relation index entry (key_codec.h, IndexValue): the summary a
// writer stores beside the key, and its decoder, which turns key and value back into the
// relation version in the BASIC view. Readers (store_read.cc) and verify use the decoder;
// the writers (index_entries.h) the builder.
#pragma once

#include <string>

#include "storage/key_codec.h"
#include "storage/record.pb.h"

namespace annals::storage {

// What an entry of `family` keeps of relation version `r` beyond its key (RelationSummary
// in record.proto: the fields the key holds are left out).
inline RelationSummary SummaryFor(Cf family, const RelationRecord& r) {
  RelationSummary s;
  if (family != Cf::kOut) s.set_subject(r.subject());
  if (family == Cf::kByTime || family == Cf::kByDocument) s.set_predicate(r.predicate());
  if (r.object_case() == RelationRecord::kObjectId && family != Cf::kIn) s.set_object_id(r.object_id());
  if (r.object_case() == RelationRecord::kValue) *s.mutable_value() = r.value();
  if (r.has_valid()) *s.mutable_valid() = r.valid();
  return s;
}

// The decoder: the relation version an entry of `family` stands for, in
// the BASIC view (id, ends, predicate, valid range as written, status, revision; no sources,
// qualifiers or confidence). False when the summary does not parse.
inline bool BasicRelationOf(Cf family, const key::RelationIndexKey& k, const IndexValue& v, RelationRecord* out) {
  RelationSummary s;
  if (!s.ParseFromArray(v.summary.data(), static_cast<int>(v.summary.size()))) return false;
  out->Clear();
  out->set_id(std::string(k.rel_id));
  out->set_revision(k.rev);
  out->set_subject(family == Cf::kOut ? std::string(k.entity) : std::move(*s.mutable_subject()));
  out->set_predicate(k.predicate.empty() ? std::move(*s.mutable_predicate()) : std::string(k.predicate));
  if (family == Cf::kIn)
    out->set_object_id(std::string(k.entity));
  else if (s.object_case() == RelationSummary::kObjectId)
    out->set_object_id(std::move(*s.mutable_object_id()));
  else if (s.object_case() == RelationSummary::kValue)
    out->mutable_value()->Swap(s.mutable_value());
  if (s.has_valid()) out->mutable_valid()->Swap(s.mutable_valid());
  out->set_status(static_cast<ClaimStatus>(v.status));
  return true;
}

// A relation version cut down to the BASIC view: what BasicRelationOf gives for it.
inline void ToBasic(RelationRecord* r) {
  r->clear_qualifiers();
  r->clear_sources();
  r->clear_has_confidence();
  r->clear_confidence();
  r->clear_recorded_at_micros();
}

}  // namespace annals::storage
