#include "clients/cli/tsv_rows.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/digest.h"

namespace annals::cli {
namespace {

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1)
    out.push_back(line.substr(start, tab - start));
  out.push_back(line.substr(start));
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int ToInt(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string EntityIdFor(std::string_view name) {
  constexpr size_t kSlugMax = 100;  // room for "-" and the hash within the 128-byte id limit
  std::string slug;
  bool lossy = false;
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug.push_back(static_cast<char>(c));
    } else if (c >= 'A' && c <= 'Z') {
      slug.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      // Spaces, '_' and '-' separate words; anything else (accents, other scripts,
      // punctuation) is lost in the slug, so the name's hash must keep it apart.
      if (c != ' ' && c != '_' && c != '-') lossy = true;
      if (!slug.empty() && slug.back() != '-') slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) {
    slug = "entity";
    lossy = true;
  }
  if (slug.size() > kSlugMax) {
    slug.resize(kSlugMax);
    while (!slug.empty() && slug.back() == '-') slug.pop_back();
    lossy = true;
  }
  if (lossy) absl::StrAppend(&slug, "-", service::HexDigest(service::Digest128(name).substr(0, 4)));
  return slug;
}

std::string YagoLabel(std::string_view raw) {
  std::string label = Trimmed(raw);
  if (label.size() >= 2 && label.front() == '<' && label.back() == '>') label = label.substr(1, label.size() - 2);
  for (char& c : label)
    if (c == '_') c = ' ';
  return label;
}

absl::StatusOr<YagoEndpoint> ParseYagoDate(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("date '", std::string(text), "': ", std::string(why)));
  };
  YagoEndpoint out;
  std::string_view rest = text;
  const bool bce = !rest.empty() && rest.front() == '-';
  if (bce) rest.remove_prefix(1);
  const size_t d1 = rest.find('-');
  const size_t d2 = d1 == std::string_view::npos ? d1 : rest.find('-', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos || rest.find('-', d2 + 1) != std::string_view::npos)
    return bad("want YYYY-MM-DD with '#' for unknown digits");
  const std::string_view year = rest.substr(0, d1), month = rest.substr(d1 + 1, d2 - d1 - 1), day = rest.substr(d2 + 1);
  if (year.empty() || year.size() > 6 || month.size() != 2 || day.size() != 2) return bad("malformed year, month or day");
  if (std::all_of(year.begin(), year.end(), [](char c) { return c == '#'; })) {
    if (month != "##" || day != "##") return bad("an unknown year with a known month or day");
    out.unknown = true;
    return out;
  }
  // Leading digits, then only '#': the digits fix a decade, century, ... of years.
  const size_t hashes = year.find('#');
  const std::string_view known = year.substr(0, hashes);
  if (!AllDigits(known) || (hashes != std::string_view::npos &&
                            year.find_first_not_of('#', hashes) != std::string_view::npos))
    return bad("the year's unknown digits must be its last ones");
  int lo = ToInt(known), hi = lo;
  for (size_t i = known.size(); i < year.size(); ++i) {
    lo = lo * 10;
    hi = hi * 10 + 9;
  }
  if (bce) std::swap(lo, hi), lo = -lo, hi = -hi;  // -40# is 409..400 BCE
  if (lo == 0 || hi == 0) return bad("there is no year 0");
  const bool vague_year = lo != hi;
  if (vague_year && (month != "##" || day != "##")) return bad("a vague year with a known month or day");
  out.date.set_year(lo);
  if (vague_year) out.latest.set_year(hi);
  if (month == "##") {
    if (day != "##") return bad("a day without a month");
    return out;
  }
  if (!AllDigits(month)) return bad("malformed month");
  const int m = ToInt(month);
  if (m < 1 || m > 12) return bad(absl::StrCat("month ", m, " out of range 1..12"));
  out.date.set_month(m);
  if (day == "##") return out;
  if (!AllDigits(day)) return bad("malformed day");
  const int d = ToInt(day);
  if (d < 1 || d > 31) return bad(absl::StrCat("day ", d, " out of range"));
  out.date.set_day(d);  // the server checks the calendar (30 February) and names the field
  return out;
}

absl::StatusOr<TsvRow> ParseIcewsLine(std::string_view line) {
  const auto cols = SplitTabs(line);
  if (cols.size() != 4) return absl::InvalidArgumentError(absl::StrCat("want 4 tab-separated fields, got ", cols.size()));
  TsvRow row;
  row.subject_label = Trimmed(cols[0]);
  row.predicate = Trimmed(cols[1]);
  row.object_label = Trimmed(cols[2]);
  if (row.subject_label.empty() || row.predicate.empty() || row.object_label.empty())
    return absl::InvalidArgumentError("empty subject, predicate or object");
  const std::string date = Trimmed(cols[3]);
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' || !AllDigits(std::string_view(date).substr(0, 4)) ||
      !AllDigits(std::string_view(date).substr(5, 2)) || !AllDigits(std::string_view(date).substr(8, 2)))
    return absl::InvalidArgumentError(absl::StrCat("date '", date, "': want YYYY-MM-DD"));
  v1::Date d;
  d.set_year(ToInt(std::string_view(date).substr(0, 4)));
  d.set_month(ToInt(std::string_view(date).substr(5, 2)));
  d.set_day(ToInt(std::string_view(date).substr(8, 2)));
  *row.valid.mutable_start() = d;  // an event on one day
  *row.valid.mutable_end() = d;
  row.content_key = absl::StrCat(row.subject_label, "\t", row.predicate, "\t", row.object_label, "\t", date);
  return row;
}

absl::StatusOr<TsvRow> ParseYagoLine(std::string_view line) {
  const auto cols = SplitTabs(line);
  if (cols.size() != 5) return absl::InvalidArgumentError(absl::StrCat("want 5 tab-separated fields, got ", cols.size()));
  TsvRow row;
  row.subject_label = YagoLabel(cols[0]);
  row.predicate = YagoLabel(cols[1]);
  row.object_label = YagoLabel(cols[2]);
  if (row.subject_label.empty() || row.predicate.empty() || row.object_label.empty())
    return absl::InvalidArgumentError("empty subject, predicate or object");
  auto start = ParseYagoDate(Trimmed(cols[3]));
  if (!start.ok()) return absl::InvalidArgumentError(absl::StrCat("start ", start.status().message()));
  auto end = ParseYagoDate(Trimmed(cols[4]));
  if (!end.ok()) return absl::InvalidArgumentError(absl::StrCat("end ", end.status().message()));
  if (start->unknown) {
    row.valid.set_start_unknown(true);
  } else {
    *row.valid.mutable_start() = start->date;
    if (start->latest.year() != 0) *row.valid.mutable_start_latest() = start->latest;
  }
  if (end->unknown) {
    row.valid.set_end_unknown(true);
  } else {
    *row.valid.mutable_end() = end->date;
    if (end->latest.year() != 0) *row.valid.mutable_end_latest() = end->latest;
  }
  row.content_key = absl::StrCat(Trimmed(line));
  return row;
}

}  // namespace annals::cli
