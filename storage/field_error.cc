#include "storage/field_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "storage/record.pb.h"

namespace annals::storage {
namespace {

constexpr char kPayload[] = "type.annals.dev/annals.storage.ItemErrorList";

std::string MessageOf(const ItemError& e) {
  return e.field.empty() ? e.description : absl::StrCat(e.field, ": ", e.description);
}

}  // namespace

absl::Status FieldFailure(absl::StatusCode code, std::vector<ItemError> errors) {
  if (errors.empty()) errors.push_back({"", "invalid input"});
  absl::Status status(code, MessageOf(errors.front()));
  ItemErrorList list;
  for (auto& e : errors) {
    auto* entry = list.add_errors();
    entry->set_field(std::move(e.field));
    entry->set_description(std::move(e.description));
  }
  status.SetPayload(kPayload, absl::Cord(list.SerializeAsString()));
  return status;
}

absl::Status FieldFailure(absl::StatusCode code, std::string field, std::string description) {
  return FieldFailure(code, std::vector<ItemError>{{std::move(field), std::move(description)}});
}

std::vector<ItemError> ItemErrorsOf(const absl::Status& status) {
  std::vector<ItemError> out;
  auto payload = status.GetPayload(kPayload);
  ItemErrorList list;
  if (!payload || !list.ParseFromString(std::string(*payload))) return out;
  for (const auto& e : list.errors()) out.push_back({e.field(), e.description()});
  return out;
}

std::vector<ItemError> ReportedErrors(const absl::Status& status) {
  std::vector<ItemError> out = ItemErrorsOf(status);
  if (out.empty() && !status.ok()) out.push_back({"", std::string(status.message())});
  return out;
}

std::string JoinField(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  if (child.empty()) return std::string(parent);
  std::string out(parent);
  if (child.front() != '[') out.push_back('.');
  return out.append(child);
}

absl::Status UnderField(std::string_view parent, const absl::Status& status) {
  if (status.ok()) return status;
  std::vector<ItemError> errors = ItemErrorsOf(status);
  if (errors.empty()) return status;
  for (auto& e : errors) e.field = JoinField(parent, e.field);
  return FieldFailure(status.code(), std::move(errors));
}

absl::Status RenameField(const absl::Status& status, std::string_view from, std::string_view to) {
  std::vector<ItemError> errors = ItemErrorsOf(status);
  if (errors.empty()) return status;
  for (auto& e : errors) {
    const std::string_view f = e.field;
    if (f.substr(0, from.size()) != from) continue;
    if (f.size() > from.size() && f[from.size()] != '.' && f[from.size()] != '[') continue;
    e.field = std::string(to).append(f.substr(from.size()));
  }
  return FieldFailure(status.code(), std::move(errors));
}

}  // namespace annals::storage
