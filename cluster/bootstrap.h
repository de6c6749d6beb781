// Joining from a peer: installs a copy of a member's database where this replica's
// database goes (docs/cluster.md "Joining from a peer"). The copy comes over
// AdminService.StreamCheckpoint (service/checkpoint_stream.h sends it), from the registered
// member that has applied the most; each file is checked against its digest and the whole
// against the header's list before it is moved into place, so a broken transfer leaves
// nothing behind. The replica then opens it (a newer binary upgrades an older format on
// open) and follows the log from its position.
#pragma once

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cluster/etcd_client.h"

namespace annals::cluster {

struct BootstrapOptions {
  EtcdOptions etcd;
  std::string cluster;  // the key prefix /annals/<cluster>/
  std::string node_id;  // this replica: never its own peer
  // How this replica reaches its peers: channel credentials (null: plaintext) and a bearer
  // token, which must have the admin scope when the peers require tokens.
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials;
  std::string peer_token;
  absl::Duration timeout = absl::Minutes(30);  // for one whole transfer
};

struct BootstrapResult {
  std::string peer;  // "<node id> at <address>"
  int64_t position = 0, revision = 0, bytes = 0;
  uint32_t format_version = 0;
  absl::Duration took;
};

// True when `db_path` holds no database: it does not exist, is empty, or holds only the
// remains of a transfer that did not finish.
bool HoldsNoDatabase(const std::string& db_path);

// True when a replica starting with no database should install a peer's copy: the cluster
// has a head, and a member other than `node_id` is registered to copy from. (Without one,
// the cluster is new, or being created: the replica starts empty and follows the log.)
absl::StatusOr<bool> PeerToCopyFrom(const BootstrapOptions& options);

// Installs a peer's database at `db_path`, which must hold no database (HoldsNoDatabase). FAILED_PRECONDITION when
// no registered peer could send one (each one's failure named), or when the copy is of a
// database format newer than this binary opens.
absl::StatusOr<BootstrapResult> BootstrapFromPeer(const BootstrapOptions& options, const std::string& db_path);

}  // namespace annals::cluster
