#include "service/request_validation.h"

#include <array>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "service/grpc_status.h"
#include "service/record_convert.h"

namespace annals::service {
namespace {

constexpr size_t kMaxReportedErrors = 100;  // the committer caps its own list the same way

void Add(FieldErrors* errors, const FieldPath& field, std::string description) {
  if (errors->size() < kMaxReportedErrors) errors->push_back({field.str(), std::move(description)});
}

// Text fields: bounded, and free of control characters that would break keys and tables.
void CheckText(const FieldPath& path, const std::string& text, size_t max, bool required,
               FieldErrors* errors) {
  if (required && text.empty()) return Add(errors, path, "is required");
  if (text.size() > max) return Add(errors, path, absl::StrCat("longer than ", max, " bytes"));
  for (unsigned char c : text)
    if (c < 0x20 && c != '\n' && c != '\t')
      return Add(errors, path, "contains a control character");
}

void CheckIdField(const FieldPath& path, const std::string& id, FieldErrors* errors) {
  if (id.empty()) return Add(errors, path, "is required");
  if (!IsValidId(id))
    Add(errors, path,
        absl::StrCat("'", id.substr(0, 140), "' is not a valid id ([a-z0-9][a-z0-9._:-]*, at most 128 bytes)"));
}

// The one predicate rule (storage::kMaxPredicateBytes), for what is written and what is asked.
void CheckPredicateField(const FieldPath& path, const std::string& predicate, FieldErrors* errors) {
  CheckText(path, predicate, storage::kMaxPredicateBytes, true, errors);
}

void CheckDate(const FieldPath& path, const v1::Date& date, FieldErrors* errors) {
  for (const auto& e : storage::ReportedErrors(storage::ValidateDate(ToRecord(date))))
    Add(errors, path.Field(e.field), e.description);
}

void CheckRange(const FieldPath& path, const v1::TimeRange& range, FieldErrors* errors) {
  if (auto b = storage::BoundsOf(ToRecord(range)); !b.ok())
    for (const auto& e : storage::ReportedErrors(b.status())) Add(errors, path.Field(e.field), e.description);
}

void CheckValue(const FieldPath& path, const v1::Value& value, FieldErrors* errors) {
  switch (value.kind_case()) {
    case v1::Value::kText: return CheckText(path.Field("text"), value.text(), kMaxTextBytes, false, errors);
    case v1::Value::kNumber:
      if (!std::isfinite(value.number())) Add(errors, path.Field("number"), "must be finite");
      return;
    case v1::Value::kQuantity:
      if (!std::isfinite(value.quantity().amount())) Add(errors, path.Field("quantity").Field("amount"), "must be finite");
      return CheckText(path.Field("quantity").Field("unit"), value.quantity().unit(), kMaxIdBytes, false, errors);
    case v1::Value::kDate: return CheckDate(path.Field("date"), value.date(), errors);
    case v1::Value::kFlag: return;
    case v1::Value::KIND_NOT_SET: return Add(errors, path, "has no value (text, number, quantity, date or flag)");
  }
}

void CheckValueMap(const FieldPath& path, const google::protobuf::Map<std::string, v1::Value>& map,
                   FieldErrors* errors) {
  if (static_cast<int>(map.size()) > kMaxRepeated)
    return Add(errors, path, absl::StrCat("more than ", kMaxRepeated, " entries"));
  for (const auto& [k, v] : map) {
    const FieldPath entry = path.Key(k);
    CheckText(entry, k, kMaxIdBytes, true, errors);
    CheckValue(entry, v, errors);
  }
}

template <typename Repeated>
bool CheckCount(const FieldPath& path, const Repeated& items, FieldErrors* errors) {
  if (items.size() <= kMaxRepeated) return true;
  Add(errors, path, absl::StrCat("more than ", kMaxRepeated, " items"));
  return false;
}

}  // namespace

std::string FieldPath::str() const {
  std::string out = parent_ ? parent_->str() : std::string();
  switch (kind_) {
    case Kind::kRoot:
      out.append(part_);
      if (index_ >= 0) absl::StrAppend(&out, "[", index_, "]");
      break;
    case Kind::kField:  // an empty field is the parent itself (storage's "" path: storage/field_error.h)
      if (!part_.empty()) out.append(".").append(part_);
      break;
    case Kind::kIndex: absl::StrAppend(&out, "[", index_, "]"); break;
    case Kind::kKey: out.append("[\"").append(part_.substr(0, 64)).append("\"]"); break;
  }
  return out;
}

namespace {
// Which bytes an id may hold: 1 may start it ([a-z0-9]), 2 may only follow ([._:-]).
constexpr std::array<uint8_t, 256> kIdBytes = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (char c : {'.', '_', ':', '-'}) t[static_cast<uint8_t>(c)] = 2;
  return t;
}();
}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  if (kIdBytes[static_cast<uint8_t>(id[0])] != 1) return false;
  for (char c : id)
    if (kIdBytes[static_cast<uint8_t>(c)] == 0) return false;
  return true;
}

void ValidateEntity(const v1::Entity& e, const FieldPath& path, FieldErrors* errors) {
  CheckIdField(path.Field("id"), e.id(), errors);
  CheckText(path.Field("kind"), e.kind(), kMaxIdBytes, false, errors);
  CheckText(path.Field("label"), e.label(), kMaxNameBytes, true, errors);
  if (CheckCount(path.Field("aliases"), e.aliases(), errors))
    for (int i = 0; i < e.aliases_size(); ++i)
      CheckText(path.Field("aliases").Index(i), e.aliases(i), kMaxNameBytes, true, errors);
  CheckText(path.Field("description"), e.description(), kMaxTextBytes, false, errors);
  CheckValueMap(path.Field("attributes"), e.attributes(), errors);
  if (e.has_existence()) CheckRange(path.Field("existence"), e.existence(), errors);
}

void ValidateDocument(const v1::Document& d, const FieldPath& path, FieldErrors* errors) {
  CheckIdField(path.Field("id"), d.id(), errors);
  CheckText(path.Field("title"), d.title(), kMaxNameBytes, false, errors);
  CheckText(path.Field("uri"), d.uri(), kMaxNameBytes, false, errors);
  CheckText(path.Field("publisher"), d.publisher(), kMaxNameBytes, false, errors);
  if (CheckCount(path.Field("authors"), d.authors(), errors))
    for (int i = 0; i < d.authors_size(); ++i)
      CheckText(path.Field("authors").Index(i), d.authors(i), kMaxNameBytes, true, errors);
  if (d.has_published()) CheckDate(path.Field("published"), d.published(), errors);
}

void ValidateRelation(const v1::Relation& r, const FieldPath& path, FieldErrors* errors) {
  if (!r.id().empty()) CheckIdField(path.Field("id"), r.id(), errors);
  CheckIdField(path.Field("subject"), r.subject(), errors);
  CheckPredicateField(path.Field("predicate"), r.predicate(), errors);
  switch (r.object_case()) {
    case v1::Relation::kObjectId: CheckIdField(path.Field("object_id"), r.object_id(), errors); break;
    case v1::Relation::kValue: CheckValue(path.Field("value"), r.value(), errors); break;
    case v1::Relation::OBJECT_NOT_SET: Add(errors, path.Field("object_id"), "is required (or a value)"); break;
  }
  if (r.has_valid()) CheckRange(path.Field("valid"), r.valid(), errors);
  CheckValueMap(path.Field("qualifiers"), r.qualifiers(), errors);
  if (CheckCount(path.Field("sources"), r.sources(), errors))
    for (int i = 0; i < r.sources_size(); ++i) {
      const auto& s = r.sources(i);
      const FieldPath sources = path.Field("sources"), sp = sources.Index(i);
      CheckIdField(sp.Field("document_id"), s.document_id(), errors);
      if (s.begin() < 0) Add(errors, sp.Field("begin"), "must not be negative");
      if (s.end() <= s.begin()) Add(errors, sp.Field("end"), "must be greater than begin (the span is [begin, end))");
      CheckText(sp.Field("note"), s.note(), kMaxTextBytes, false, errors);
    }
  if (r.has_confidence() && !(r.confidence() >= 0.0f && r.confidence() <= 1.0f))
    Add(errors, path.Field("confidence"), "must be between 0 and 1");
  if (!v1::Status_IsValid(r.status()))
    Add(errors, path.Field("status"), absl::StrCat("unknown status ", static_cast<int>(r.status())));
}

absl::Status CheckId(std::string_view field, std::string_view id) {
  FieldErrors errors;
  CheckIdField(FieldPath(field, -1), std::string(id), &errors);
  return FirstError(errors);
}

absl::Status CheckOptionalId(std::string_view field, std::string_view id) {
  return id.empty() ? absl::OkStatus() : CheckId(field, id);
}

absl::Status CheckPredicate(std::string_view field, std::string_view predicate) {
  FieldErrors errors;
  CheckPredicateField(FieldPath(field, -1), std::string(predicate), &errors);
  return FirstError(errors);
}

absl::Status CheckRequestId(std::string_view request_id) {
  if (request_id.size() > kMaxIdBytes)
    return BadField("request_id", "longer than 128 bytes");
  for (char c : request_id)
    if (c < 0x21 || c > 0x7e)
      return BadField("request_id", "only printable ASCII without spaces");
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(std::string_view field, int32_t requested, int default_size) {
  if (requested < 0) return BadField(field, absl::StrCat("must not be negative"));
  if (requested > kMaxPageSize)
    return BadField(field, absl::StrCat("at most ", kMaxPageSize));
  return requested == 0 ? default_size : requested;
}

absl::StatusOr<std::vector<int>> StatusFilter(std::string_view field,
                                              const google::protobuf::RepeatedField<int>& statuses) {
  std::vector<int> out;
  for (int s : statuses) {
    if (!v1::Status_IsValid(s))
      return BadField(field, absl::StrCat("unknown status ", s));
    out.push_back(s);
  }
  return out;
}

absl::StatusOr<storage::View> ViewOf(std::string_view field, v1::RelationView view) {
  switch (view) {
    case v1::RELATION_VIEW_UNSPECIFIED:
    case v1::FULL: return storage::View::kFull;
    case v1::BASIC: return storage::View::kBasic;
    default:
      return BadField(field, absl::StrCat("unknown view ", static_cast<int>(view)));
  }
}

absl::StatusOr<std::optional<storage::DayWindow>> DayWindowOf(std::string_view field,
                                                              const v1::Window* window) {
  if (window == nullptr) return std::optional<storage::DayWindow>();
  const std::string f(field);
  storage::DayWindow w;
  if (window->has_start()) {
    if (auto s = storage::ValidateDate(ToRecord(window->start())); !s.ok())
      return storage::UnderField(absl::StrCat(f, ".start"), s);
    w.w_lo = storage::FirstDay(ToRecord(window->start()));
  }
  if (window->has_end()) {
    if (auto s = storage::ValidateDate(ToRecord(window->end())); !s.ok())
      return storage::UnderField(absl::StrCat(f, ".end"), s);
    w.w_hi = storage::LastDay(ToRecord(window->end()));
  }
  if (w.w_lo > w.w_hi) return BadField(absl::StrCat(f, ".end"), "before the start");
  switch (window->mode()) {
    case v1::WINDOW_MODE_UNSPECIFIED:
    case v1::POSSIBLY: w.mode = storage::Certainty::kPossibly; break;
    case v1::CERTAINLY: w.mode = storage::Certainty::kCertainly; break;
    default: return BadField(absl::StrCat(f, ".mode"), absl::StrCat("unknown mode ", static_cast<int>(window->mode())));
  }
  return std::optional<storage::DayWindow>(w);
}

absl::Status FirstError(const FieldErrors& errors) {
  if (errors.empty()) return absl::OkStatus();
  return storage::FieldFailure(absl::StatusCode::kInvalidArgument, errors);
}

}  // namespace annals::service
