// The write path shared by every writer: the unary write RPCs, the Ingest stream,
// `annalsd --load` and the bulk import (`annals import --bulk`). Shape validation, conversion to records, the request fingerprint for
// idempotency, then one Store::Commit.
#pragma once

#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>

#include "annals/v1/types.pb.h"
#include "service/digest.h"
#include "service/request_validation.h"
#include "storage/bulk_load.h"
#include "cluster/committer.h"
#include "storage/store.h"

namespace annals::service {

// A stable digest of `request` with the named fields cleared (e.g. request_id,
// page_token), including the message type: two requests with equal digests ask the same.
std::string Fingerprint(const google::protobuf::Message& request,
                        std::initializer_list<const char*> ignored_fields);


template <typename T>
using Items = google::protobuf::RepeatedPtrField<T>;

struct WriteOutcome {
  absl::Status status;           // OK, or the error; INVALID_ARGUMENT carries every item error
  storage::CommitResult result;  // when OK
};

// Validates and commits entities, documents and relations of one request as one revision.
// `request` is the whole request message (for the idempotency fingerprint).
WriteOutcome CommitItems(cluster::Committer& committer, const google::protobuf::Message& request,
                         const std::string& request_id, const Items<v1::Entity>& entities,
                         const Items<v1::Document>& documents, const Items<v1::Relation>& relations);

// The bulk path's counterpart of CommitItems: validates each item and adds the valid ones
// to `loader` (storage/bulk_load.h; nothing is written before loader.Finish()). Items with
// shape errors are skipped and reported in `errors` by path, like CommitItems reports
// them; an error of the loader itself (a relation that already exists, ...) is returned,
// and is sticky: the load can then only be abandoned.
absl::Status AddItemsToBulk(storage::BulkLoader& loader, const Items<v1::Entity>& entities,
                            const Items<v1::Document>& documents, const Items<v1::Relation>& relations,
                            FieldErrors* errors);

}  // namespace annals::service
