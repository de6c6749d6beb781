#include "service/jsonl_reader.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace annals::service {

absl::StatusOr<v1::JsonlRecord> ParseJsonlLine(std::string_view line) {
  v1::JsonlRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field is an error, not silently lost
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &record, options);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  if (record.record_case() == v1::JsonlRecord::RECORD_NOT_SET)
    return absl::InvalidArgumentError("expected one of \"entity\", \"document\" or \"relation\"");
  return record;
}

void JsonlBatch::Add(v1::JsonlRecord record, int line) {
  switch (record.record_case()) {
    case v1::JsonlRecord::kEntity:
      *request.add_entities() = std::move(*record.mutable_entity());
      entity_lines.push_back(line);
      break;
    case v1::JsonlRecord::kDocument:
      *request.add_documents() = std::move(*record.mutable_document());
      document_lines.push_back(line);
      break;
    case v1::JsonlRecord::kRelation:
      *request.add_relations() = std::move(*record.mutable_relation());
      relation_lines.push_back(line);
      break;
    case v1::JsonlRecord::RECORD_NOT_SET: break;
  }
}

int JsonlBatch::size() const {
  return request.entities_size() + request.documents_size() + request.relations_size();
}

int JsonlBatch::LineOf(std::string_view path) const {
  const size_t open = path.find('['), close = path.find(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return 0;
  const std::string_view kind = path.substr(0, open);
  size_t index = 0;
  auto [ptr, ec] = std::from_chars(path.data() + open + 1, path.data() + close, index);
  if (ec != std::errc()) return 0;
  const std::vector<int>* lines = kind == "entities"    ? &entity_lines
                                  : kind == "documents" ? &document_lines
                                  : kind == "relations" ? &relation_lines
                                                        : nullptr;
  return lines && index < lines->size() ? (*lines)[index] : 0;
}

void JsonlBatch::Clear() {
  request.Clear();
  entity_lines.clear();
  document_lines.clear();
  relation_lines.clear();
}

absl::StatusOr<JsonlFile> ReadJsonlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  JsonlFile file;
  std::stringstream buffer;
  buffer << in.rdbuf();
  file.content = buffer.str();
  std::string_view rest = file.content;
  int line_number = 0;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto record = ParseJsonlLine(line);
    if (!record.ok()) {
      file.errors.push_back(absl::StrCat(path, ":", line_number, ": ", record.status().message()));
      continue;
    }
    file.batch.Add(std::move(*record), line_number);
  }
  return file;
}

absl::StatusOr<std::vector<std::string>> ExpandJsonlPaths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".jsonl")
          found.push_back(entry.path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
    }
  }
  return files;
}

}  // namespace annals::service
