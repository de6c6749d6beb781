// How the CLI shows things: aligned tables for people, protobuf JSON for scripts.
#pragma once

#include <google/protobuf/message.h>

#include <iosfwd>
#include <string>
#include <vector>

#include "annals/v1/query.pb.h"
#include "annals/v1/types.pb.h"

namespace annals::cli {

// "2011", "2011-05", "2011-05-13"; "-44-03-15" for 44 BCE.
std::string FormatDate(const v1::Date& date);
// "2011-05-11..2011-05-13", "2011..", "..2012", "2012-10-01~2012-10-07", "?" for unknown.
std::string FormatRange(const v1::TimeRange& range);
std::string FormatValue(const v1::Value& value);
std::string FormatObject(const v1::Relation& relation);
std::string FormatSources(const v1::Relation& relation);

// One JSON object on one line (the protobuf JSON mapping, fields with default values kept
// out), so `--json` output pipes into jq or another program.
std::string ToJson(const google::protobuf::Message& message);

// A plain text table: a header row and left-aligned columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

void PrintEntity(const v1::Entity& entity, std::ostream& out);
void PrintRelation(const v1::Relation& relation, std::ostream& out);
void PrintRelationTable(const google::protobuf::RepeatedPtrField<v1::Relation>& relations, std::ostream& out);

}  // namespace annals::cli
