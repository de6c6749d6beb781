// Parsing what people type: dates, statuses, source spans, quantities.
#pragma once

#include <optional>
#include <string>

#include "annals/v1/query.pb.h"
#include "annals/v1/types.pb.h"

namespace annals::cli {

// "2011", "2011-05", "2011-05-13", "-44" (44 BCE). Shape only: the server checks the
// calendar (2011-02-30) and names the field.
std::optional<v1::Date> ParseDate(const std::string& text);
// "asserted", "PLANNED", ... (case-insensitive).
std::optional<v1::Status> ParseStatus(const std::string& text);
// "DOC:BEGIN-END" or "DOC:BEGIN-END:note".
std::optional<v1::Source> ParseSource(const std::string& text);
// "630e6 USD".
std::optional<v1::Quantity> ParseQuantity(const std::string& text);

}  // namespace annals::cli
