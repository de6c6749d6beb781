#include "service/server_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace annals::service {
namespace {

std::string_view View(const grpc_slice& slice) {
  return std::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)), GRPC_SLICE_LENGTH(slice));
}

// grpc_auth_metadata_processor.process: checks the call and answers at once.
void ProcessMetadata(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md, size_t num_md,
                     grpc_process_auth_metadata_done_cb done, void* user_data) {
  const auto& authorizer = *static_cast<std::shared_ptr<const Authorizer>*>(state);
  std::string_view method;
  std::vector<std::string_view> authorization;
  std::vector<grpc_metadata> consumed;
  for (size_t i = 0; i < num_md; ++i) {
    const std::string_view key = View(md[i].key);
    if (key == ":path") {
      method = View(md[i].value);
    } else if (key == "authorization") {
      authorization.push_back(View(md[i].value));
      consumed.push_back(md[i]);
    }
  }
  const grpc::Status status = authorizer->Check(method, authorization);
  if (status.ok()) {
    done(user_data, consumed.data(), consumed.size(), nullptr, 0, GRPC_STATUS_OK, nullptr);
  } else {
    done(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(status.error_code()),
         status.error_message().c_str());
  }
}

void DestroyState(void* state) { delete static_cast<std::shared_ptr<const Authorizer>*>(state); }

struct TlsPem {
  std::string cert, key, client_ca;
};

// Credentials built with gRPC's C API at AddPortToServer time: insecure or TLS, with the
// token check attached.
class CheckedServerCredentials final : public grpc::ServerCredentials {
 public:
  CheckedServerCredentials(std::optional<TlsPem> tls, std::shared_ptr<const Authorizer> authorizer)
      : tls_(std::move(tls)), authorizer_(std::move(authorizer)) {}

  // Not used: the processor is ours, set below.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = nullptr;
    if (tls_) {
      grpc_ssl_pem_key_cert_pair pair{tls_->key.c_str(), tls_->cert.c_str()};
      const bool mutual = !tls_->client_ca.empty();
      creds = grpc_ssl_server_credentials_create_ex(
          mutual ? tls_->client_ca.c_str() : nullptr, &pair, 1,
          mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          nullptr);
    } else {
      creds = grpc_insecure_server_credentials_create();
    }
    if (creds == nullptr) return 0;
    if (authorizer_) {
      grpc_auth_metadata_processor processor{ProcessMetadata, DestroyState,
                                             new std::shared_ptr<const Authorizer>(authorizer_)};
      grpc_server_credentials_set_auth_metadata_processor(creds, processor);
    }
    const int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }

  std::optional<TlsPem> tls_;
  std::shared_ptr<const Authorizer> authorizer_;
};

absl::StatusOr<std::string> ReadPem(std::string_view flag, const std::string& path, std::string_view marker) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(std::string(flag), " ", path, ": cannot open the file"));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos || pem.find(marker) == std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(std::string(flag), " ", path, ": not a PEM file holding '", std::string(marker), "'"));
  return pem;
}

// The first certificate of the chain must parse, the key must parse and be that
// certificate's key: caught here, with the flags named, rather than as failed handshakes.
absl::Status CheckKeyPair(const TlsFiles& files, const TlsPem& pem) {
  BIO* cert_bio = BIO_new_mem_buf(pem.cert.data(), static_cast<int>(pem.cert.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(pem.key.data(), static_cast<int>(pem.key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError(absl::StrCat("--tls-cert ", files.cert_file, ": cannot parse the certificate"));
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--tls-key ", files.key_file, ": cannot parse the private key (encrypted keys are not supported)"));
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError(absl::StrCat("--tls-key ", files.key_file,
                                                     " is not the private key of the certificate in --tls-cert ",
                                                     files.cert_file));
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return status;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& tls, std::shared_ptr<const Authorizer> authorizer) {
  std::optional<TlsPem> pem;
  if (tls.enabled()) {
    if (tls.cert_file.empty() || tls.key_file.empty())
      return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key (--tls-client-ca adds mutual TLS)");
    pem.emplace();
    auto cert = ReadPem("--tls-cert", tls.cert_file, "CERTIFICATE-----");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("--tls-key", tls.key_file, "PRIVATE KEY-----");
    if (!key.ok()) return key.status();
    pem->cert = std::move(*cert);
    pem->key = std::move(*key);
    if (auto s = CheckKeyPair(tls, *pem); !s.ok()) return s;
    if (!tls.client_ca_file.empty()) {
      auto ca = ReadPem("--tls-client-ca", tls.client_ca_file, "CERTIFICATE-----");
      if (!ca.ok()) return ca.status();
      pem->client_ca = std::move(*ca);
    }
  }
  if (!pem && !authorizer) return grpc::InsecureServerCredentials();
  return std::shared_ptr<grpc::ServerCredentials>(new CheckedServerCredentials(std::move(pem), std::move(authorizer)));
}

}  // namespace annals::service
