#include "service/record_convert.h"

#include <google/protobuf/util/time_util.h>

namespace annals::service {
namespace {

using google::protobuf::util::TimeUtil;

// The nested value types have the same shape on both sides; these templates copy them in
// either direction, so a field added to one side and not the other fails to compile here.
// They fill the destination in place: a response on an arena (service/arena_messages.h)
// would otherwise receive heap-built temporaries and copy them again (a tenth of a
// busiest-entity Traverse, profiled).
template <typename To, typename From>
void CopyDate(const From& d, To* out) {
  out->set_year(d.year());
  out->set_month(d.month());
  out->set_day(d.day());
}

template <typename To, typename From>
void CopyRange(const From& r, To* out) {
  if (r.has_start()) CopyDate(r.start(), out->mutable_start());
  if (r.has_start_latest()) CopyDate(r.start_latest(), out->mutable_start_latest());
  out->set_start_unknown(r.start_unknown());
  if (r.has_end()) CopyDate(r.end(), out->mutable_end());
  if (r.has_end_latest()) CopyDate(r.end_latest(), out->mutable_end_latest());
  out->set_end_unknown(r.end_unknown());
}

template <typename To, typename From>
void CopyValue(const From& v, To* out) {
  switch (v.kind_case()) {
    case From::kText: out->set_text(v.text()); break;
    case From::kNumber: out->set_number(v.number()); break;
    case From::kQuantity:
      out->mutable_quantity()->set_amount(v.quantity().amount());
      out->mutable_quantity()->set_unit(v.quantity().unit());
      break;
    case From::kDate: CopyDate(v.date(), out->mutable_date()); break;
    case From::kFlag: out->set_flag(v.flag()); break;
    case From::KIND_NOT_SET: break;
  }
}

// Touching an empty map field still costs its synchronisation: left alone when empty.
template <typename FromMap, typename Message, typename ToMap>
void CopyValues(const FromMap& from, Message* to, ToMap* (Message::*mutable_map)()) {
  if (from.empty()) return;
  ToMap* map = (to->*mutable_map)();
  for (const auto& [k, v] : from) CopyValue(v, &(*map)[k]);
}

template <typename To, typename From>
void CopySource(const From& s, To* out) {
  out->set_document_id(s.document_id());
  out->set_begin(s.begin());
  out->set_end(s.end());
  if (!s.note().empty()) out->set_note(s.note());
}

template <typename To, typename From>
To Date(const From& d) {
  To out;
  CopyDate(d, &out);
  return out;
}

template <typename To, typename From>
To Range(const From& r) {
  To out;
  CopyRange(r, &out);
  return out;
}

google::protobuf::Timestamp Micros(int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }

}  // namespace

storage::Date ToRecord(const v1::Date& d) { return Date<storage::Date>(d); }
storage::TimeRange ToRecord(const v1::TimeRange& r) { return Range<storage::TimeRange>(r); }
v1::Date ToApi(const storage::Date& d) { return Date<v1::Date>(d); }

storage::EntityRecord ToRecord(const v1::Entity& e) {
  storage::EntityRecord out;
  out.set_id(e.id());
  out.set_kind(e.kind());
  out.set_label(e.label());
  for (const auto& a : e.aliases()) out.add_aliases(a);
  out.set_description(e.description());
  CopyValues(e.attributes(), &out, &storage::EntityRecord::mutable_attributes);
  if (e.has_existence()) CopyRange(e.existence(), out.mutable_existence());
  return out;
}

void ToApi(const storage::EntityRecord& e, v1::Entity* out) {
  out->set_id(e.id());
  out->set_kind(e.kind());
  out->set_label(e.label());
  for (const auto& a : e.aliases()) out->add_aliases(a);
  out->set_description(e.description());
  CopyValues(e.attributes(), out, &v1::Entity::mutable_attributes);
  if (e.has_existence()) CopyRange(e.existence(), out->mutable_existence());
  out->set_revision(e.revision());
  if (e.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(e.recorded_at_micros());
  out->set_deleted(e.deleted());
  if (!e.merged_into().empty()) out->set_merged_into(e.merged_into());
  if (!e.redirected_from().empty()) out->set_redirected_from(e.redirected_from());
  for (const auto& id : e.merged_ids()) out->add_merged_ids(id);
}

v1::Entity ToApi(const storage::EntityRecord& e) {
  v1::Entity out;
  ToApi(e, &out);
  return out;
}

storage::DocumentRecord ToRecord(const v1::Document& d) {
  storage::DocumentRecord out;
  out.set_id(d.id());
  out.set_title(d.title());
  out.set_uri(d.uri());
  out.set_publisher(d.publisher());
  for (const auto& a : d.authors()) out.add_authors(a);
  if (d.has_published()) CopyDate(d.published(), out.mutable_published());
  return out;
}

void ToApi(const storage::DocumentRecord& d, v1::Document* out) {
  out->set_id(d.id());
  out->set_title(d.title());
  out->set_uri(d.uri());
  out->set_publisher(d.publisher());
  for (const auto& a : d.authors()) out->add_authors(a);
  if (d.has_published()) CopyDate(d.published(), out->mutable_published());
  out->set_revision(d.revision());
  if (d.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(d.recorded_at_micros());
  out->set_deleted(d.deleted());
}

v1::Document ToApi(const storage::DocumentRecord& d) {
  v1::Document out;
  ToApi(d, &out);
  return out;
}

storage::RelationRecord ToRecord(const v1::Relation& r) {
  storage::RelationRecord out;
  out.set_id(r.id());
  out.set_subject(r.subject());
  out.set_predicate(r.predicate());
  if (r.object_case() == v1::Relation::kObjectId) out.set_object_id(r.object_id());
  if (r.object_case() == v1::Relation::kValue) CopyValue(r.value(), out.mutable_value());
  if (r.has_valid()) CopyRange(r.valid(), out.mutable_valid());
  CopyValues(r.qualifiers(), &out, &storage::RelationRecord::mutable_qualifiers);
  for (const auto& s : r.sources()) CopySource(s, out.add_sources());
  out.set_has_confidence(r.has_confidence());
  if (r.has_confidence()) out.set_confidence(r.confidence());
  out.set_status(static_cast<storage::ClaimStatus>(r.status()));
  return out;
}

void ToApi(const storage::RelationRecord& r, v1::Relation* out) {
  out->set_id(r.id());
  out->set_subject(r.subject());
  out->set_predicate(r.predicate());
  if (r.object_case() == storage::RelationRecord::kObjectId) out->set_object_id(r.object_id());
  if (r.object_case() == storage::RelationRecord::kValue) CopyValue(r.value(), out->mutable_value());
  if (r.has_valid()) CopyRange(r.valid(), out->mutable_valid());
  CopyValues(r.qualifiers(), out, &v1::Relation::mutable_qualifiers);
  for (const auto& s : r.sources()) CopySource(s, out->add_sources());
  if (r.has_confidence()) out->set_confidence(r.confidence());
  out->set_status(static_cast<v1::Status>(r.status()));
  out->set_revision(r.revision());
  // Unset in the BASIC view (index entries do not keep it).
  if (r.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(r.recorded_at_micros());
  out->set_retracted(r.retracted());
  if (!r.retraction_reason().empty()) out->set_retraction_reason(r.retraction_reason());
  if (!r.written_subject().empty()) out->set_written_subject(r.written_subject());
  if (!r.written_object().empty()) out->set_written_object(r.written_object());
}

v1::Relation ToApi(const storage::RelationRecord& r) {
  v1::Relation out;
  ToApi(r, &out);
  return out;
}

static_assert(static_cast<int>(v1::DENIED) == static_cast<int>(storage::CLAIM_DENIED));
static_assert(static_cast<int>(v1::ASSERTED) == static_cast<int>(storage::CLAIM_ASSERTED));

}  // namespace annals::service
