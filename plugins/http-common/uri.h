// URL pieces for the remote backends: RFC 3986 percent-encoding as the signers need it, parsing
// of the user's endpoint setting, and redaction of credentials from URLs before they go into an
// error message.
#ifndef BLOCKPIPE_HTTP_COMMON_URI_H
#define BLOCKPIPE_HTTP_COMMON_URI_H

#include <string>
#include <string_view>

namespace bphttp {

// Percent-encode every byte except the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~), with
// upper-case hex digits. '/' is kept as is unless encode_slash is true.
std::string UriEncode(std::string_view text, bool encode_slash);

// Decode %XX escapes (and nothing else: '+' stays '+'). False on a malformed escape.
bool UriDecode(std::string_view text, std::string* out);

// A parsed endpoint such as "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:7480/base".
struct Endpoint {
  std::string scheme;          // "http" or "https", lower-cased
  std::string host;            // host name (lower-cased) or IP literal (IPv6 without brackets)
  int port = 0;                // explicit port, or the scheme's default (80 / 443)
  bool explicit_port = false;  // the text named a port
  std::string path;            // base path without a trailing '/', "" when none
  bool loopback = false;       // host is localhost, 127.0.0.0/8 or ::1
  bool ip_literal = false;     // host is an IPv4 or IPv6 address rather than a name

  // "host" or "host:port" as it belongs in a Host header and a URL authority (IPv6 in brackets;
  // the port only when it is not the scheme's default).
  std::string Authority() const;
  // scheme://authority, without path.
  std::string Origin() const;
};

// Parse an http(s) URL with no user info, query or fragment. On failure returns false and sets
// *error to a sentence naming what is wrong.
bool ParseEndpoint(std::string_view text, Endpoint* endpoint, std::string* error);

// The URL with the values of query parameters that are credentials replaced by "REDACTED":
// sig (Azure SAS), signature, x-amz-signature, x-amz-credential, x-amz-security-token,
// awsaccesskeyid, skoid, sktid (names compared case-insensitively). Everything else is kept, so
// the URL can still go into a log line or an error message.
std::string RedactQuery(std::string_view url);

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_URI_H
