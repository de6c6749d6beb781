// ICEWS and YAGO tab-separated rows into Annals records: names become entity ids the same
// way every run, dates keep their precision, and a row that cannot be taken as it is gets
// a reason, never a guess.
//
//   ICEWS: subject TAB predicate TAB object TAB YYYY-MM-DD
//   YAGO:  <subject> TAB <predicate> TAB <object> TAB start TAB end, where '#' is an unknown
//          digit: 1952-##-## is some day of 1952, 195#-##-## some year of the 1950s,
//          19##-##-## some year of the 1900s, ####-##-## an unknown endpoint (it ended, when
//          is not known: not "still holding"), and -N is N BCE.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "annals/v1/types.pb.h"

namespace annals::cli {

// A deterministic entity id for a name: lower-case ASCII letters and digits with '-'
// between words ("John Kerry" -> "john-kerry"). Where that loses information (accents,
// other scripts, punctuation such as parentheses) or runs long, a short hash of the
// original name follows ("Abdullah Gül" -> "abdullah-g-l-1f3c9a2e"), so distinct names
// stay distinct.
std::string EntityIdFor(std::string_view name);

// A YAGO name: "<Government_of_Canada>" -> "Government of Canada".
std::string YagoLabel(std::string_view raw);

// One endpoint of a YAGO range. `unknown` for ####-##-##.
struct YagoEndpoint {
  v1::Date date, latest;  // latest set only when '#' widens a year
  bool unknown = false;
};
absl::StatusOr<YagoEndpoint> ParseYagoDate(std::string_view text);

struct TsvRow {
  std::string subject_label, predicate, object_label;
  v1::TimeRange valid;
  std::string content_key;  // the row's fields, for a deterministic relation id
};
absl::StatusOr<TsvRow> ParseIcewsLine(std::string_view line);
absl::StatusOr<TsvRow> ParseYagoLine(std::string_view line);

}  // namespace annals::cli
