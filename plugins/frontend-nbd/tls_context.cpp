// TlsContext implementation: OpenSSL context set-up (protocol floor, certificate and key, CA and
// client verification, PSK callback for TLS 1.2 and 1.3) and the PSK file parser. The PSK
// callback is OpenSSL's server callback, which TLS 1.3 also uses (with SHA-256 cipher suites),
// matching what GnuTLS clients — libnbd, qemu — offer for PSK.
#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bpnbd {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// The SSL ex_data slot holding the connection's PSK identity string. A slot of our own rather
// than SSL_set_app_data, which any library layered on the SSL may claim.
int PskIdentityIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The SSL_CTX ex_data slot pointing back at the TlsContext (asio owns SSL_CTX_set_app_data too).
int ContextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The PSK lookup for both TLS 1.2 and 1.3. OpenSSL hands us the identity the client sent.
unsigned int PskServerCallback(SSL* ssl, const char* identity, unsigned char* psk,
                               unsigned int max_psk_len) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  auto* self = static_cast<const TlsContext*>(SSL_CTX_get_ex_data(ctx, ContextIndex()));
  if (!self || !identity) return 0;
  const std::vector<uint8_t>* key = self->FindPsk(identity);
  if (!key || key->size() > max_psk_len) return 0;
  std::memcpy(psk, key->data(), key->size());
  // OpenSSL does not keep the identity of a TLS 1.3 external PSK for SSL_get_psk_identity:
  // remember it for the connection (its std::string, see TlsContext::Attach).
  if (auto* seen = static_cast<std::string*>(SSL_get_ex_data(ssl, PskIdentityIndex()))) {
    *seen = identity;
  }
  return static_cast<unsigned int>(key->size());
}

}  // namespace

bool ParsePskText(const std::string& text, std::map<std::string, std::vector<uint8_t>>* keys,
                  std::string* error) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.rfind(':');
    const std::string where = "line " + std::to_string(number);
    if (colon == std::string::npos || colon == 0) {
      *error = where + ": expected \"identity:hexkey\"";
      return false;
    }
    const std::string identity = line.substr(0, colon);
    const std::string hex = line.substr(colon + 1);
    if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 512) {
      *error = where + ": the key must be 1 to 256 bytes written as an even number of hex digits";
      return false;
    }
    std::vector<uint8_t> key(hex.size() / 2);
    for (size_t i = 0; i < key.size(); ++i) {
      int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        *error = where + ": the key is not hexadecimal";
        return false;
      }
      key[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (identity.size() > 128) {
      *error = where + ": identity longer than 128 bytes";
      return false;
    }
    if (keys->count(identity)) {
      *error = where + ": identity \"" + identity + "\" appears twice";
      return false;
    }
    (*keys)[identity] = std::move(key);
  }
  if (keys->empty()) {
    *error = "no keys (expected lines of \"identity:hexkey\")";
    return false;
  }
  return true;
}

bool CheckSecretFile(const std::string& path, const std::string& what, std::string* error) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *error = what + " " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = what + " " + path + " is not a regular file";
    return false;
  }
  if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *error = what + " " + path + " has mode " + mode +
             ": other users could read or change it; restrict it to its owner (chmod 600 " + path +
             ")";
    return false;
  }
  return true;
}

TlsContext::~TlsContext() {
  // Keys do not linger in freed memory.
  for (auto& [identity, key] : psks_) OPENSSL_cleanse(key.data(), key.size());
}

const std::vector<uint8_t>* TlsContext::FindPsk(const std::string& identity) const {
  auto it = psks_.find(identity);
  return it == psks_.end() ? nullptr : &it->second;
}

bool TlsContext::Create(const TlsSettings& settings, std::unique_ptr<TlsContext>* out,
                        std::string* error) {
  namespace ssl = boost::asio::ssl;
  std::unique_ptr<TlsContext> self(new TlsContext());
  if (settings.certificate.empty() && settings.psk_file.empty()) {
    *error = "TLS needs `tls_certificate` and `tls_key`, or `tls_psk_file`";
    return false;
  }
  if (settings.certificate.empty() != settings.key.empty()) {
    *error = "`tls_certificate` and `tls_key` must be given together";
    return false;
  }
  if (settings.verify_clients && settings.ca.empty()) {
    *error = "`tls_verify_clients` needs `tls_ca`, the CA that signs client certificates";
    return false;
  }
  self->ssl_ = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = self->ssl_->native_handle();
  // Nothing older than TLS 1.2; compression and renegotiation off (CRIME, client-initiated
  // renegotiation as a denial of service).
  SSL_CTX_set_min_proto_version(ctx,
                                settings.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_ex_data(ctx, ContextIndex(), self.get());
  // No session resumption: nothing to gain for long-lived NBD connections, one secret less.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  // AES-GCM first: with AES instructions it is the cheapest. TLS 1.3 PSK needs a SHA-256 suite.
  SSL_CTX_set_ciphersuites(
      ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");

  if (!settings.certificate.empty()) {
    if (!CheckSecretFile(settings.key, "TLS key", error)) return false;
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.certificate.c_str()) != 1) {
      *error = "cannot load TLS certificate " + settings.certificate + ": " + OpenSslError();
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      // OpenSSL's reason names the problem (bad format, wrong password) without key material.
      *error = "cannot load TLS key " + settings.key + ": " + OpenSslError();
      return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      *error = "TLS key " + settings.key + " does not match certificate " + settings.certificate;
      return false;
    }
  }
  if (!settings.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, settings.ca.c_str(), nullptr) != 1) {
      *error = "cannot load TLS CA " + settings.ca + ": " + OpenSslError();
      return false;
    }
    int verify = SSL_VERIFY_PEER;
    if (settings.verify_clients) verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, verify, nullptr);
    // Tell clients which CAs are acceptable.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
  }
  if (!settings.psk_file.empty()) {
    if (!CheckSecretFile(settings.psk_file, "TLS PSK file", error)) return false;
    std::ifstream in(settings.psk_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      *error = "cannot read TLS PSK file " + settings.psk_file;
      return false;
    }
    std::string contents = text.str();
    std::string parse_error;
    bool parsed = ParsePskText(contents, &self->psks_, &parse_error);
    OPENSSL_cleanse(contents.data(), contents.size());
    if (!parsed) {
      *error = "TLS PSK file " + settings.psk_file + ": " + parse_error;
      return false;
    }
    SSL_CTX_set_psk_server_callback(ctx, PskServerCallback);
  }
  ERR_clear_error();
  *out = std::move(self);
  return true;
}

void TlsContext::Attach(SSL* ssl, std::string* psk_identity) {
  psk_identity->clear();
  SSL_set_ex_data(ssl, PskIdentityIndex(), psk_identity);
}

void TlsContext::PeerIdentity(SSL* ssl, std::string* identity, std::string* common_name) {
  common_name->clear();
  // A PSK handshake filled *identity through the callback (Attach).
  if (auto* seen = static_cast<std::string*>(SSL_get_ex_data(ssl, PskIdentityIndex()));
      seen && !seen->empty()) {
    *identity = *seen;
    return;
  }
  identity->clear();
  if (const char* psk = SSL_get_psk_identity(ssl)) {
    *identity = psk;
    return;
  }
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return;
  X509_NAME* subject = X509_get_subject_name(cert);
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      if (n > 0 && data) identity->assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  char cn[256];
  int n = X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn);
  if (n > 0) common_name->assign(cn, static_cast<size_t>(n));
  X509_free(cert);
}

}  // namespace bpnbd
