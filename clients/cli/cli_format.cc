#include "clients/cli/cli_format.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace annals::cli {
namespace {

bool IsSet(const v1::Date& d) { return d.year() != 0 || d.month() != 0 || d.day() != 0; }

std::string Endpoint(const v1::Date& date, const v1::Date& latest, bool unknown) {
  if (unknown) return "?";
  if (!IsSet(date)) return IsSet(latest) ? "by " + FormatDate(latest) : "";  // no later than
  std::string out = FormatDate(date);
  if (IsSet(latest)) out += "~" + FormatDate(latest);
  return out;
}

// Display width of UTF-8 text: count code points, not bytes.
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

}  // namespace

std::string FormatDate(const v1::Date& d) {
  char buf[32];
  if (d.day() != 0)
    std::snprintf(buf, sizeof buf, "%d-%02d-%02d", d.year(), d.month(), d.day());
  else if (d.month() != 0)
    std::snprintf(buf, sizeof buf, "%d-%02d", d.year(), d.month());
  else
    std::snprintf(buf, sizeof buf, "%d", d.year());
  return buf;
}

std::string FormatRange(const v1::TimeRange& r) {
  const std::string start = Endpoint(r.start(), r.start_latest(), r.start_unknown());
  const std::string end = Endpoint(r.end(), r.end_latest(), r.end_unknown());
  if (start.empty() && end.empty()) return "always";
  if (start == end) return start;
  return start + ".." + end;
}

std::string FormatValue(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kText: return "\"" + v.text() + "\"";
    case v1::Value::kNumber: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.15g", v.number());
      return buf;
    }
    case v1::Value::kQuantity: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.15g", v.quantity().amount());  // 630000000, not 6.3e+08
      return std::string(buf) + " " + v.quantity().unit();
    }
    case v1::Value::kDate: return FormatDate(v.date());
    case v1::Value::kFlag: return v.flag() ? "true" : "false";
    case v1::Value::KIND_NOT_SET: break;
  }
  return "";
}

std::string FormatObject(const v1::Relation& r) {
  return r.object_case() == v1::Relation::kObjectId ? r.object_id() : FormatValue(r.value());
}

std::string FormatSources(const v1::Relation& r) {
  std::string out;
  for (const auto& s : r.sources()) {
    if (!out.empty()) out += " ";
    out += s.document_id() + ":" + std::to_string(s.begin()) + "-" + std::to_string(s.end());
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  // Map fields (qualifiers, attributes) come out in hash order; re-emitting through
  // nlohmann::json sorts every object's keys, so the same record always prints the same.
  return nlohmann::json::parse(out).dump();
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

void PrintEntity(const v1::Entity& e, std::ostream& out) {
  out << e.id() << "  " << e.label() << (e.kind().empty() ? "" : "  (" + e.kind() + ")") << "\n";
  if (!e.redirected_from().empty()) out << "  redirected from " << e.redirected_from() << " (merged into it)\n";
  if (e.merged_ids_size() > 0) {
    out << "  merged into it: ";
    for (int i = 0; i < e.merged_ids_size(); ++i) out << (i ? " " : "") << e.merged_ids(i);
    out << "\n";
  }
  if (e.aliases_size() > 0) {
    out << "  aliases: ";
    for (int i = 0; i < e.aliases_size(); ++i) out << (i ? "; " : "") << e.aliases(i);
    out << "\n";
  }
  if (!e.description().empty()) out << "  " << e.description() << "\n";
  if (e.has_existence()) out << "  existed: " << FormatRange(e.existence()) << "\n";
  for (const auto& [k, v] : std::map<std::string, v1::Value>(e.attributes().begin(), e.attributes().end()))
    out << "  " << k << " = " << FormatValue(v) << "\n";
  out << "  revision " << e.revision() << "\n";
}

void PrintRelation(const v1::Relation& r, std::ostream& out) {
  out << r.id() << "  " << r.subject() << " --" << r.predicate() << "--> " << FormatObject(r) << "\n";
  if (!r.written_subject().empty() || !r.written_object().empty())
    out << "  written as: " << (r.written_subject().empty() ? r.subject() : r.written_subject()) << " --"
        << r.predicate() << "--> " << (r.written_object().empty() ? FormatObject(r) : r.written_object())
        << " (merged since)\n";
  out << "  valid: " << FormatRange(r.valid()) << "   status: " << v1::Status_Name(r.status())
      << (r.has_confidence() ? "   confidence: " + std::to_string(r.confidence()) : "") << "\n";
  for (const auto& [k, v] : std::map<std::string, v1::Value>(r.qualifiers().begin(), r.qualifiers().end()))
    out << "  " << k << " = " << FormatValue(v) << "\n";
  for (const auto& s : r.sources())
    out << "  source: " << s.document_id() << " [" << s.begin() << ", " << s.end() << ")"
        << (s.note().empty() ? "" : "  " + s.note()) << "\n";
  if (r.retracted()) out << "  RETRACTED" << (r.retraction_reason().empty() ? "" : ": " + r.retraction_reason()) << "\n";
  out << "  revision " << r.revision() << "\n";
}

void PrintRelationTable(const google::protobuf::RepeatedPtrField<v1::Relation>& relations, std::ostream& out) {
  Table table({"ID", "SUBJECT", "PREDICATE", "OBJECT", "VALID", "STATUS", "SOURCES"});
  for (const auto& r : relations)
    table.Add({r.id(), r.subject(), r.predicate(), FormatObject(r), FormatRange(r.valid()),
               v1::Status_Name(r.status()), FormatSources(r)});
  table.Print(out);
}

}  // namespace annals::cli
