// Reads the JSON Lines interchange format (proto/annals/v1/jsonl.proto): one
// {"entity"|"document"|"relation": {...}} object a line, in the protobuf JSON mapping.
// Used by `annalsd --load` (a file is one batch) and by `annals import` (batches of N).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "annals/v1/ingest.pb.h"
#include "annals/v1/jsonl.pb.h"

namespace annals::service {

// Parses one line; the error says what is wrong with it (not where: callers add that).
absl::StatusOr<v1::JsonlRecord> ParseJsonlLine(std::string_view line);

// One batch built from lines, remembering each item's line for error messages.
struct JsonlBatch {
  v1::IngestRequest request;
  std::vector<int> entity_lines, document_lines, relation_lines;
  // Adds a record read at `line`.
  void Add(v1::JsonlRecord record, int line);
  int size() const;
  // "relations[3].subject" -> the line of relations[3]; 0 when the path names no item.
  int LineOf(std::string_view field_path) const;
  void Clear();
};

// Reads a whole file: every line parsed into one batch, or the list of bad lines as
// "PATH:LINE: reason". Blank lines are skipped.
struct JsonlFile {
  JsonlBatch batch;
  std::vector<std::string> errors;
  std::string content;  // the raw bytes, for a content-derived request id
};
absl::StatusOr<JsonlFile> ReadJsonlFile(const std::string& path);

// Expands files and directories (their *.jsonl, in name order) into a list of files.
absl::StatusOr<std::vector<std::string>> ExpandJsonlPaths(const std::vector<std::string>& paths);

}  // namespace annals::service
