// The smallest API records the service tests write: an entity, and a relation between two
// entities. Shared by service_test and validation_table_test.
#pragma once

#include <string>

#include "annals/v1/types.pb.h"

namespace annals::testing {

inline v1::Entity Entity(const std::string& id, const std::string& label, const std::string& kind = "state") {
  v1::Entity e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind(kind);
  return e;
}

inline v1::Relation Relation(const std::string& subject, const std::string& predicate, const std::string& object) {
  v1::Relation r;
  r.set_subject(subject);
  r.set_predicate(predicate);
  r.set_object_id(object);
  return r;
}

}  // namespace annals::testing
