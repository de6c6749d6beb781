#include "service/record_convert.h"

#include <google/protobuf/util/time_util.h>

namespace annals::service {
namespace {

using google::protobuf::util::TimeUtil;

// The nested value types have the same shape on both sides; these templates copy them in
// either direction, so a field added to one side and not the other fails to compile here.
template <typename To, typename From>
To Date(const From& d) {
  To out;
  out.set_year(d.year());
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

template <typename To, typename From>
To Range(const From& r) {
  To out;
  using D = std::remove_cvref_t<decltype(out.start())>;
  if (r.has_start()) *out.mutable_start() = Date<D>(r.start());
  if (r.has_start_latest()) *out.mutable_start_latest() = Date<D>(r.start_latest());
  out.set_start_unknown(r.start_unknown());
  if (r.has_end()) *out.mutable_end() = Date<D>(r.end());
  if (r.has_end_latest()) *out.mutable_end_latest() = Date<D>(r.end_latest());
  out.set_end_unknown(r.end_unknown());
  return out;
}

template <typename To, typename From>
To Val(const From& v) {
  To out;
  using D = std::remove_cvref_t<decltype(out.date())>;
  switch (v.kind_case()) {
    case From::kText: out.set_text(v.text()); break;
    case From::kNumber: out.set_number(v.number()); break;
    case From::kQuantity:
      out.mutable_quantity()->set_amount(v.quantity().amount());
      out.mutable_quantity()->set_unit(v.quantity().unit());
      break;
    case From::kDate: *out.mutable_date() = Date<D>(v.date()); break;
    case From::kFlag: out.set_flag(v.flag()); break;
    case From::KIND_NOT_SET: break;
  }
  return out;
}

template <typename ToMap, typename FromMap>
void CopyValues(const FromMap& from, ToMap* to) {
  using V = typename ToMap::mapped_type;
  for (const auto& [k, v] : from) (*to)[k] = Val<V>(v);
}

template <typename To, typename From>
To Src(const From& s) {
  To out;
  out.set_document_id(s.document_id());
  out.set_begin(s.begin());
  out.set_end(s.end());
  out.set_note(s.note());
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
  CopyValues(e.attributes(), out.mutable_attributes());
  if (e.has_existence()) *out.mutable_existence() = Range<storage::TimeRange>(e.existence());
  return out;
}

void ToApi(const storage::EntityRecord& e, v1::Entity* out) {
  out->set_id(e.id());
  out->set_kind(e.kind());
  out->set_label(e.label());
  for (const auto& a : e.aliases()) out->add_aliases(a);
  out->set_description(e.description());
  CopyValues(e.attributes(), out->mutable_attributes());
  if (e.has_existence()) *out->mutable_existence() = Range<v1::TimeRange>(e.existence());
  out->set_revision(e.revision());
  if (e.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(e.recorded_at_micros());
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
  if (d.has_published()) *out.mutable_published() = Date<storage::Date>(d.published());
  return out;
}

void ToApi(const storage::DocumentRecord& d, v1::Document* out) {
  out->set_id(d.id());
  out->set_title(d.title());
  out->set_uri(d.uri());
  out->set_publisher(d.publisher());
  for (const auto& a : d.authors()) out->add_authors(a);
  if (d.has_published()) *out->mutable_published() = Date<v1::Date>(d.published());
  out->set_revision(d.revision());
  if (d.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(d.recorded_at_micros());
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
  if (r.object_case() == v1::Relation::kValue) *out.mutable_value() = Val<storage::Value>(r.value());
  if (r.has_valid()) *out.mutable_valid() = Range<storage::TimeRange>(r.valid());
  CopyValues(r.qualifiers(), out.mutable_qualifiers());
  for (const auto& s : r.sources()) *out.add_sources() = Src<storage::Source>(s);
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
  if (r.object_case() == storage::RelationRecord::kValue) *out->mutable_value() = Val<v1::Value>(r.value());
  if (r.has_valid()) *out->mutable_valid() = Range<v1::TimeRange>(r.valid());
  CopyValues(r.qualifiers(), out->mutable_qualifiers());
  for (const auto& s : r.sources()) *out->add_sources() = Src<v1::Source>(s);
  if (r.has_confidence()) out->set_confidence(r.confidence());
  out->set_status(static_cast<v1::Status>(r.status()));
  out->set_revision(r.revision());
  // Unset in the BASIC view (index entries do not keep it).
  if (r.recorded_at_micros() != 0) *out->mutable_recorded_at() = Micros(r.recorded_at_micros());
  out->set_retracted(r.retracted());
  out->set_retraction_reason(r.retraction_reason());
}

v1::Relation ToApi(const storage::RelationRecord& r) {
  v1::Relation out;
  ToApi(r, &out);
  return out;
}

static_assert(static_cast<int>(v1::DENIED) == static_cast<int>(storage::CLAIM_DENIED));
static_assert(static_cast<int>(v1::ASSERTED) == static_cast<int>(storage::CLAIM_ASSERTED));

}  // namespace annals::service
