#include "cluster/replication_service.h"

namespace annals::cluster {

v1::ForwardedCommit ToForwarded(const storage::WriteSet& batch) {
  v1::ForwardedCommit out;
  storage::LogEntry* p = out.mutable_proposal();
  p->set_request_id(batch.request_id);
  p->set_fingerprint(batch.fingerprint);
  for (const auto& d : batch.documents) *p->add_documents() = d;
  for (const auto& e : batch.entities) *p->add_entities() = e;
  for (const auto& r : batch.relations) *p->add_relations() = r;
  for (const auto& r : batch.retractions) {
    auto* item = p->add_retractions();
    item->set_id(r.id);
    item->set_reason(r.reason);
  }
  for (const auto& d : batch.deletions) {
    auto* item = p->add_deletions();
    item->set_kind(d.kind);
    item->set_id(d.id);
    out.add_cascade(d.cascade);
  }
  for (const auto& m : batch.merges) {
    auto* item = p->add_merges();
    item->set_id(m.id);
    item->set_into(m.into);
  }
  return out;
}

storage::WriteSet FromForwarded(const v1::ForwardedCommit& forwarded) {
  const storage::LogEntry& p = forwarded.proposal();
  storage::WriteSet batch;
  batch.request_id = p.request_id();
  batch.fingerprint = p.fingerprint();
  batch.documents.assign(p.documents().begin(), p.documents().end());
  batch.entities.assign(p.entities().begin(), p.entities().end());
  batch.relations.assign(p.relations().begin(), p.relations().end());
  for (const auto& r : p.retractions()) batch.retractions.push_back({r.id(), r.reason()});
  for (int i = 0; i < p.deletions_size(); ++i)
    batch.deletions.push_back({p.deletions(i).kind(), p.deletions(i).id(),
                               i < forwarded.cascade_size() && forwarded.cascade(i)});
  for (const auto& m : p.merges()) batch.merges.push_back({m.id(), m.into()});
  return batch;
}

grpc::ServerUnaryReactor* ReplicationService::Commit(grpc::CallbackServerContext* ctx,
                                                     const v1::ForwardedCommit* request,
                                                     v1::CommitOutcome* response) {
  auto* reactor = ctx->DefaultReactor();
  Replica* replica = replica_.load(std::memory_order_acquire);
  // Only the leader commits a forwarded write; a follower never forwards it again, so a
  // write cannot bounce between two replicas that each think the other leads.
  auto committed = replica == nullptr ? absl::StatusOr<storage::CommitResult>(
                                            absl::UnavailableError("this replica is still starting"))
                                      : replica->CommitAsLeader(FromForwarded(*request));
  if (committed.ok()) {
    const storage::CommitResult& r = *committed;
    *response->mutable_result() = storage::ResponseOf(r, "");
    response->set_replayed(r.replayed);
  } else {
    response->set_code(static_cast<int32_t>(committed.status().code()));
    response->set_message(std::string(committed.status().message()));
    for (const auto& e : storage::ItemErrorsOf(committed.status())) {
      auto* item = response->add_errors();
      item->set_field(e.field);
      item->set_description(e.description);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace annals::cluster
