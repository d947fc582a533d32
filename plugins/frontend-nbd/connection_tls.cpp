// Connection, TLS: the switch from plaintext to TLS after NBD_OPT_STARTTLS was acknowledged.
// The handshake is asynchronous (TlsTransport over the connection's socket), so a slow or
// silent client holds no thread; the negotiation timer that bounds the whole handshake phase
// keeps running and drops a client that never completes it. A failed handshake (wrong PSK,
// untrusted certificate, plaintext garbage) closes the connection: after the ACK there is no way
// back to plaintext. Bytes the client sent after STARTTLS but before the handshake are not
// possible to misread: the option reader was idle while the ACK was written.
#include <openssl/ssl.h>

#include "connection.h"
#include "plugin_log.h"
#include "server.h"
#include "tls_context.h"

namespace bpnbd {

void Connection::StartTls() {
  if (!tls_) return Abort("STARTTLS without a TLS context");  // Negotiation refuses it first
  auto transport = std::make_unique<TlsTransport>(socket_, tls_->ssl().native_handle());
  if (!transport->ok()) return Abort("cannot allocate a TLS session");
  tls_transport_ = std::move(transport);
  TlsContext::Attach(tls_transport_->ssl(), &tls_psk_identity_);
  tls_transport_->AsyncHandshake([self = shared_from_this()](const boost::system::error_code& ec) {
    self->OnTlsHandshake(ec);
  });
}

void Connection::OnTlsHandshake(const boost::system::error_code& ec) {
  if (finished_ || stopping_) {
    if (!finished_) Abort("server is stopping");
    return;
  }
  if (ec) {
    // The reason is OpenSSL's (e.g. "decryption failed", "certificate verify failed"); it
    // never contains key material.
    Log(BP_LOG_WARN, "TLS handshake failed: " + ec.message());
    Abort("TLS handshake failed");
    return;
  }
  std::string identity = tls_psk_identity_, common_name;
  SSL* ssl = tls_transport_->ssl();
  TlsContext::PeerIdentity(ssl, &identity, &common_name);
  Log(BP_LOG_INFO, std::string("TLS established (") + SSL_get_version(ssl) + ", " +
                       SSL_get_cipher_name(ssl) +
                       (identity.empty() ? std::string(", no client identity")
                                         : ", client \"" + identity + "\"") +
                       ")");
  negotiation_->TlsEstablished(std::move(identity), std::move(common_name));
  ReadOptionHeader();
}

}  // namespace bpnbd
