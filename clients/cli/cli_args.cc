#include "clients/cli/cli_args.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace annals::cli {
namespace {

bool ParseInt(std::string_view s, int32_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::optional<v1::Date> ParseDate(const std::string& text) {
  std::string_view rest = text;
  const bool bce = !rest.empty() && rest.front() == '-';
  if (bce) rest.remove_prefix(1);
  int32_t parts[3] = {0, 0, 0};
  int count = 0;
  while (count < 3) {
    const size_t dash = rest.find('-');
    if (!ParseInt(rest.substr(0, dash), &parts[count++])) return std::nullopt;
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
    if (count == 3) return std::nullopt;
  }
  if (parts[0] <= 0 || (count >= 2 && parts[1] <= 0) || (count == 3 && parts[2] <= 0)) return std::nullopt;
  v1::Date date;
  date.set_year(bce ? -parts[0] : parts[0]);
  date.set_month(parts[1]);
  date.set_day(parts[2]);
  return date;
}

std::optional<v1::Status> ParseStatus(const std::string& text) {
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  v1::Status status;
  if (!v1::Status_Parse(upper, &status)) return std::nullopt;
  return status;
}

std::optional<v1::Source> ParseSource(const std::string& text) {
  // Document ids may contain ':', so the span is the first ":BEGIN-END" that is followed
  // by ':' or the end of the text.
  for (size_t colon = text.find(':'); colon != std::string::npos; colon = text.find(':', colon + 1)) {
    std::string_view span = std::string_view(text).substr(colon + 1);
    std::string_view note;
    if (const size_t next = span.find(':'); next != std::string_view::npos) {
      note = span.substr(next + 1);
      span = span.substr(0, next);
    }
    const size_t dash = span.find('-');
    int32_t begin = 0, end = 0;
    if (dash == std::string_view::npos || !ParseInt(span.substr(0, dash), &begin) ||
        !ParseInt(span.substr(dash + 1), &end))
      continue;
    v1::Source source;
    source.set_document_id(text.substr(0, colon));
    source.set_begin(begin);
    source.set_end(end);
    source.set_note(std::string(note));
    return source;
  }
  return std::nullopt;
}

std::optional<v1::Quantity> ParseQuantity(const std::string& text) {
  char* end = nullptr;
  const double amount = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return std::nullopt;
  std::string unit(end);
  unit.erase(0, unit.find_first_not_of(' '));
  if (unit.empty()) return std::nullopt;
  v1::Quantity q;
  q.set_amount(amount);
  q.set_unit(unit);
  return q;
}

}  // namespace annals::cli
