#include "service/relation_filter_parse.h"

namespace annals::service {

absl::Status ApplyDirection(std::string_view field, v1::Direction direction, storage::RelationFilter* filter) {
  switch (direction) {
    case v1::DIRECTION_UNSPECIFIED:
    case v1::BOTH: filter->outgoing = filter->incoming = true; return absl::OkStatus();
    case v1::OUT: filter->incoming = false; return absl::OkStatus();
    case v1::IN: filter->outgoing = false; return absl::OkStatus();
    default: break;
  }
  return BadField(field, absl::StrCat("unknown value ", static_cast<int>(direction)));
}

}  // namespace annals::service
