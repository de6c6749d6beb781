// libFuzzer: the JSON Lines reader (service/jsonl_reader.h, ParseJsonlLine) on arbitrary
// lines, then what the loaders do next with a parsed record: add it to a batch, find its
// line from a field path, and convert it to a storage record (whose valid time is checked
// with BoundsOf). A parsed record printed as JSON must parse back to the same record.
#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "service/jsonl_reader.h"
#include "service/record_convert.h"
#include "storage/valid_time.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "jsonl_fuzz: invariant broken: %s\n", what);
    abort();
  }
}

std::string Bytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace annals;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto record = service::ParseJsonlLine(line);
  if (!record.ok()) {
    Check(!record.status().message().empty(), "a bad line is explained");
    return 0;
  }
  Check(record->record_case() != v1::JsonlRecord::RECORD_NOT_SET, "a parsed line holds a record");

  std::string json;
  Check(google::protobuf::util::MessageToJsonString(*record, &json).ok(), "a parsed record prints as JSON");
  auto again = service::ParseJsonlLine(json);
  Check(again.ok(), "a record printed as JSON parses again");
  // NaN never equals itself, so compare bytes, not values.
  Check(Bytes(*again) == Bytes(*record), "JSON round trip keeps the record");

  service::JsonlBatch batch;
  batch.Add(*record, 7);
  Check(batch.size() == 1, "one record, one item");
  const char* path = record->has_entity() ? "entities[0].id" : record->has_document() ? "documents[0].id" : "relations[0].subject";
  Check(batch.LineOf(path) == 7, "an item's field path finds its line");
  Check(batch.LineOf("relations[99999999999999999999].x") == 0, "an absurd path finds no line");

  if (record->has_relation()) {
    const storage::RelationRecord r = service::ToRecord(record->relation());
    (void)storage::BoundsOf(r.valid());
    Check(service::ToApi(r).subject() == record->relation().subject(), "conversion keeps the subject");
  } else if (record->has_entity()) {
    const storage::EntityRecord e = service::ToRecord(record->entity());
    if (record->entity().has_existence()) (void)storage::BoundsOf(e.existence());
  } else {
    (void)service::ToRecord(record->document());
  }
  return 0;
}
