// AWS Signature Version 4 (header-based): canonical request, string to sign, signing-key
// derivation and the Authorization header. Written for S3 but service-neutral, so it can be
// checked against AWS's generic test suite as well as the S3 documentation's worked examples.
// The signer signs exactly the headers it is given; the caller decides which ones (S3 needs
// host, x-amz-date and x-amz-content-sha256, plus x-amz-security-token with session
// credentials) and must send them unchanged. Stateless and thread-safe.
#ifndef BLOCKPIPE_BACKEND_S3_SIGV4_SIGNER_H
#define BLOCKPIPE_BACKEND_S3_SIGV4_SIGNER_H

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s3backend {

// How the request path becomes the canonical URI.
enum class SigV4PathRule {
  // S3: the path is used as sent, each byte outside the unreserved set percent-encoded once;
  // "//", "." and ".." are object-key characters, never normalized away.
  kS3AsIs,
  // Other AWS services (and the generic test suite): remove "." and ".." segments and collapse
  // repeated slashes first, then encode as above.
  kNormalized,
};

struct SigV4Request {
  std::string method;  // "GET", "PUT" …
  std::string path;    // decoded path starting with '/', e.g. "/bucket/dir/key"
  // Decoded query parameters in any order; a parameter without value has an empty value.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign, as sent (any case, untrimmed). Repeated names are joined with ',' in the
  // order given, as the HTTP layer would.
  std::vector<std::pair<std::string, std::string>> headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash;
};

struct SigV4Scope {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // hex
  std::string authorization;   // value of the Authorization header
  std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
};

// Sign `request` at time `amz_date` ("YYYYMMDDTHHMMSSZ", UTC; it must equal the x-amz-date
// header the caller sends).
SigV4Signature SignV4(const SigV4Request& request, const SigV4Scope& scope,
                      std::string_view amz_date, SigV4PathRule path_rule);

// The parts, exposed for tests and for building the wire URL the same way the signature saw it.
std::string CanonicalUri(std::string_view path, SigV4PathRule rule);
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// The current UTC time as "YYYYMMDDTHHMMSSZ".
std::string AmzDateNow();

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_SIGV4_SIGNER_H
