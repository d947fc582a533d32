// SigV4 as specified in AWS's "Signature Version 4 signing process": four HMAC-SHA256 steps
// derive a signing key from the secret, the date, the region and the service; the signature is
// the HMAC of a string to sign that carries the hash of the canonical request. Every byte of
// the canonical request matters, so each canonicalization rule below is its own function.
#include "sigv4_signer.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <stdexcept>

#include "crypto.h"
#include "text.h"
#include "uri.h"

namespace s3backend {
namespace {

// Trim the ends and collapse runs of spaces into one, as SigV4 requires of header values.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 section 5.2.4 dot-segment removal plus collapsing of empty segments.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string_view segment =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  // A trailing slash survives ("//example//" → "/example/"); a path that normalizes to the
  // root is just "/".
  bool trailing_slash = !path.empty() && path.back() == '/' && !segments.empty();
  std::string out;
  for (std::string_view segment : segments) {
    out += '/';
    out += segment;
  }
  if (out.empty()) return "/";
  if (trailing_slash) out += '/';
  return out;
}

}  // namespace

std::string CanonicalUri(std::string_view path, SigV4PathRule rule) {
  if (path.empty()) return "/";
  if (rule == SigV4PathRule::kNormalized) return bphttp::UriEncode(NormalizePath(path), false);
  return bphttp::UriEncode(path, false);
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(bphttp::UriEncode(name, true), bphttp::UriEncode(value, true));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

SigV4Signature SignV4(const SigV4Request& request, const SigV4Scope& scope,
                      std::string_view amz_date, SigV4PathRule path_rule) {
  if (amz_date.size() != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z') {
    throw std::invalid_argument("SigV4 date must look like 20150830T123600Z");
  }
  // Canonical headers: lower-case names in byte order, values trimmed, repeats joined by ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = bphttp::AsciiLower(CanonicalHeaderValue(name));
    std::string canonical_value = CanonicalHeaderValue(value);
    auto [it, inserted] = headers.emplace(key, canonical_value);
    if (!inserted) it->second += "," + canonical_value;
  }
  SigV4Signature out;
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  out.canonical_request = request.method + "\n" + CanonicalUri(request.path, path_rule) + "\n" +
                          CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + request.payload_hash;

  std::string date(amz_date.substr(0, 8));
  std::string credential_scope = date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  out.string_to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + credential_scope + "\n" +
      bphttp::Sha256Hex(out.canonical_request.data(), out.canonical_request.size());

  std::string key = bphttp::HmacSha256("AWS4" + scope.secret_access_key, date);
  key = bphttp::HmacSha256(key, scope.region);
  key = bphttp::HmacSha256(key, scope.service);
  key = bphttp::HmacSha256(key, "aws4_request");
  out.signature = bphttp::Hex(bphttp::HmacSha256(key, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + scope.access_key_id + "/" +
                      credential_scope + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  return out;
}

std::string AmzDateNow() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

}  // namespace s3backend
