// Converts between the public API messages (annals.v1) and the storage records
// (annals.storage). The two schemas are separate on purpose (storage/record.proto); this is
// the only place that knows both.
#pragma once

#include "annals/v1/types.pb.h"
#include "storage/record.pb.h"

namespace annals::service {

storage::Date ToRecord(const v1::Date& d);
storage::TimeRange ToRecord(const v1::TimeRange& r);
storage::EntityRecord ToRecord(const v1::Entity& e);
storage::DocumentRecord ToRecord(const v1::Document& d);
storage::RelationRecord ToRecord(const v1::Relation& r);

v1::Date ToApi(const storage::Date& d);
v1::Entity ToApi(const storage::EntityRecord& e);
// The same, into a message the caller owns (one allocated on a response's arena: filling
// it in place avoids a copy between arenas).
void ToApi(const storage::EntityRecord& e, v1::Entity* out);
v1::Document ToApi(const storage::DocumentRecord& d);
void ToApi(const storage::DocumentRecord& d, v1::Document* out);
v1::Relation ToApi(const storage::RelationRecord& r);
void ToApi(const storage::RelationRecord& r, v1::Relation* out);

}  // namespace annals::service
