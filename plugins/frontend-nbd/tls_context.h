// TlsContext: one frontend's TLS configuration made ready for connections — an OpenSSL SSL_CTX
// with the server certificate and key (X.509), the CA that verifies client certificates, and
// the pre-shared keys of nbdkit's PSK file format (`identity:hexkey` per line). Built once in
// open(), so a missing file, a bad key or a key file other users can read fails startup with a
// message naming the file; afterwards it is immutable and shared by every connection and thread
// (OpenSSL allows concurrent SSL_new on one SSL_CTX). One context serves every listener whose
// mode is "on" or "require": the mode belongs to the listener, the keys to the frontend.
//
// Secrets never reach a log or an error message: errors name files and line numbers, not
// contents, and the PSK table is wiped when the context is destroyed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "negotiation.h"

namespace bpnbd {

struct TlsSettings {
  TlsMode mode = TlsMode::kOff;     // the section's `tls`: the default of its listeners
  std::string certificate;          // PEM chain; empty: no X.509 (PSK only)
  std::string key;                  // PEM private key of the certificate
  std::string ca;                   // PEM CA bundle for client certificates; empty: none
  bool verify_clients = false;      // require a client certificate signed by `ca`
  std::string psk_file;             // nbdkit format; empty: no PSK
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

// Reads a PSK file: one `identity:hexkey` per line (blank lines and lines starting with '#'
// ignored). Keys are 1 to 256 bytes of hex. Returns false with a message naming the line.
bool ParsePskText(const std::string& text, std::map<std::string, std::vector<uint8_t>>* keys,
                  std::string* error);

// Refuses a secret file that is not a regular file or that group or others may read or write.
bool CheckSecretFile(const std::string& path, const std::string& what, std::string* error);

class TlsContext {
 public:
  // Builds the context; false with a message when a file is missing, unreadable, too open,
  // or does not hold what it should.
  static bool Create(const TlsSettings& settings, std::unique_ptr<TlsContext>* out,
                     std::string* error);
  ~TlsContext();

  boost::asio::ssl::context& ssl() const { return *ssl_; }
  bool has_psk() const { return !psks_.empty(); }

  // The key for a PSK identity, or nullptr.
  const std::vector<uint8_t>* FindPsk(const std::string& identity) const;

  // Before a handshake: where the PSK callback records the identity the client used (TLS 1.3
  // external PSKs are not otherwise retrievable). *psk_identity must outlive the handshake.
  static void Attach(SSL* ssl, std::string* psk_identity);
  // After a handshake: the client's identity — its PSK identity, or the RFC 2253 subject of its
  // certificate — and the certificate's common name (empty when not applicable).
  static void PeerIdentity(SSL* ssl, std::string* identity, std::string* common_name);

 private:
  TlsContext() = default;

  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::map<std::string, std::vector<uint8_t>> psks_;
};

}  // namespace bpnbd
