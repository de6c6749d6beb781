#include "service/write_path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "service/record_convert.h"
#include "storage/status_macros.h"

namespace annals::service {

std::string Fingerprint(const google::protobuf::Message& request,
                        std::initializer_list<const char*> ignored_fields) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const auto* descriptor = copy->GetDescriptor();
  for (const char* name : ignored_fields)
    if (const auto* field = descriptor->FindFieldByName(name))
      copy->GetReflection()->ClearField(copy.get(), field);
  std::string bytes = descriptor->full_name();
  bytes.push_back('\0');
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Digest128(bytes);
}

WriteOutcome CommitItems(cluster::Committer& committer, const google::protobuf::Message& request,
                         const std::string& request_id, const Items<v1::Entity>& entities,
                         const Items<v1::Document>& documents, const Items<v1::Relation>& relations) {
  WriteOutcome out;
  if (auto s = CheckRequestId(request_id); !s.ok()) {
    out.status = s;
    return out;
  }
  const int total = entities.size() + documents.size() + relations.size();
  if (total > kMaxBatchItems) {
    out.status = BadField("request", absl::StrCat(total, " items, more than ", kMaxBatchItems, " in one request"));
    return out;
  }
  storage::WriteSet batch;
  FieldErrors errors;
  for (int i = 0; i < entities.size(); ++i) {
    ValidateEntity(entities[i], FieldPath("entities", i), &errors);
    batch.entities.push_back(ToRecord(entities[i]));
  }
  for (int i = 0; i < documents.size(); ++i) {
    ValidateDocument(documents[i], FieldPath("documents", i), &errors);
    batch.documents.push_back(ToRecord(documents[i]));
  }
  for (int i = 0; i < relations.size(); ++i) {
    ValidateRelation(relations[i], FieldPath("relations", i), &errors);
    batch.relations.push_back(ToRecord(relations[i]));
  }
  if (!errors.empty()) {
    out.status = FirstError(errors);
    return out;
  }
  batch.request_id = request_id;
  if (!request_id.empty()) batch.fingerprint = Fingerprint(request, {"request_id"});
  // The store's item paths ("relations[2].subject") index the WriteSet, which holds the
  // request's items in request order: they are the request's paths as they are.
  auto committed = committer.Commit(batch);
  if (!committed.ok()) {
    out.status = committed.status();
    return out;
  }
  out.result = std::move(*committed);
  return out;
}

absl::Status AddItemsToBulk(storage::BulkLoader& loader, const Items<v1::Entity>& entities,
                            const Items<v1::Document>& documents, const Items<v1::Relation>& relations,
                            FieldErrors* errors) {
  auto valid = [&](auto validate, const auto& item, const FieldPath& path) {
    const size_t before = errors->size();
    validate(item, path, errors);
    return errors->size() == before;
  };
  for (int i = 0; i < documents.size(); ++i)
    if (valid(ValidateDocument, documents[i], FieldPath("documents", i)))
      RETURN_IF_ERROR(loader.AddDocument(ToRecord(documents[i])));
  for (int i = 0; i < entities.size(); ++i)
    if (valid(ValidateEntity, entities[i], FieldPath("entities", i)))
      RETURN_IF_ERROR(loader.AddEntity(ToRecord(entities[i])));
  for (int i = 0; i < relations.size(); ++i)
    if (valid(ValidateRelation, relations[i], FieldPath("relations", i)))
      RETURN_IF_ERROR(loader.AddRelation(ToRecord(relations[i])).status());
  return absl::OkStatus();
}

}  // namespace annals::service
