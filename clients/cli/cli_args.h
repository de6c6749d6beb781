// Parsing what people type: dates, statuses, source spans, quantities.
#pragma once

#include <optional>
#include <string>

#include "annals/v1/query.pb.h"
#include "annals/v1/types.pb.h"

namespace annals::cli {

// "2011", "2011-05", "2011-05-13", "-44" (44 BCE). Shape only: the server checks the
// calendar (2011-02-30) and names the field.
std::optional<v1::Date> ParseDate(const std::string& text);
// "asserted", "PLANNED", ... (case-insensitive).
std::optional<v1::Status> ParseStatus(const std::string& text);
// "basic" or "full" (checked by the flag itself): a relation view (AIP-157).
inline v1::RelationView ViewOf(const std::string& text) { return text == "basic" ? v1::BASIC : v1::FULL; }
// "DOC:BEGIN-END" or "DOC:BEGIN-END:note".
std::optional<v1::Source> ParseSource(const std::string& text);
// "630e6 USD".
std::optional<v1::Quantity> ParseQuantity(const std::string& text);

// How `annals` reaches a secured annalsd (the global flags; docs/security.md).
struct ConnectionSecurity {
  bool tls = false;              // --tls: TLS with the system's trusted CAs
  std::string tls_ca;            // --tls-ca FILE: TLS, trusting this PEM CA bundle (implies --tls)
  std::string tls_cert;          // --tls-cert FILE: client certificate for mutual TLS
  std::string tls_key;           // --tls-key FILE: its private key
  std::string tls_server_name;   // --tls-server-name: the name the server certificate must carry
  std::string token;             // --token (ANNALS_TOKEN): sent as "authorization: Bearer TOKEN"
  std::string token_file;        // --token-file: the token is the file's first line
  bool UsesTls() const { return tls || !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty() || !tls_server_name.empty(); }
};

}  // namespace annals::cli
