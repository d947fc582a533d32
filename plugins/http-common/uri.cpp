// Percent-encoding, endpoint parsing and URL redaction. The endpoint parser is deliberately
// strict (http/https only, no user info, query or fragment): an endpoint is configuration, and
// a typo should fail at startup with a sentence, not turn into a request to the wrong place.
#include "uri.h"
#include "text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace bphttp {
namespace {

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsLoopbackHost(const std::string& host, bool* ip_literal) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, host.c_str(), addr) == 1) {
    *ip_literal = true;
    return addr[0] == 127;
  }
  if (inet_pton(AF_INET6, host.c_str(), addr) == 1) {
    *ip_literal = true;
    static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(addr, kLoop6, 16) == 0;
  }
  *ip_literal = false;
  return host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"));
}

bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (unsigned char c : host) {
    if (std::isalnum(c) == 0 && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// Query keys whose values are credentials (SigV4 presigned URLs, Azure SAS tokens).
bool IsSecretQueryKey(std::string_view key) {
  std::string lower = bphttp::AsciiLower(key);
  static const char* const kSecret[] = {"sig",
                                        "signature",
                                        "x-amz-signature",
                                        "x-amz-credential",
                                        "x-amz-security-token",
                                        "awsaccesskeyid",
                                        "skoid",
                                        "sktid"};
  for (const char* name : kSecret) {
    if (lower == name) return true;
  }
  return false;
}

}  // namespace

std::string UriEncode(std::string_view text, bool encode_slash) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (unsigned char c : text) {
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

bool UriDecode(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int hi = HexValue(text[i + 1]);
    int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string Endpoint::Authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) out += ":" + std::to_string(port);
  return out;
}

std::string Endpoint::Origin() const { return scheme + "://" + Authority(); }

bool ParseEndpoint(std::string_view text, Endpoint* endpoint, std::string* error) {
  *endpoint = Endpoint();
  std::string quoted = "\"" + std::string(text) + "\"";
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    *error =
        "endpoint " + quoted + " is not a URL: expected http://HOST[:PORT] or https://HOST[:PORT]";
    return false;
  }
  endpoint->scheme = bphttp::AsciiLower(text.substr(0, sep));
  if (endpoint->scheme != "http" && endpoint->scheme != "https") {
    *error = "endpoint " + quoted + " must use http or https, not \"" + endpoint->scheme + "\"";
    return false;
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    *error = "endpoint " + quoted + " must not have a query or fragment";
    return false;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  endpoint->path = std::string(path);
  if (authority.find('@') != std::string_view::npos) {
    *error =
        "endpoint " + quoted + " must not contain user info (put credentials in their own keys)";
    return false;
  }
  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "endpoint " + quoted + " has an unterminated IPv6 address";
      return false;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "endpoint " + quoted + " has text after the IPv6 address";
        return false;
      }
      port_text = after.substr(1);
      endpoint->explicit_port = true;
    }
    unsigned char addr[16];
    if (inet_pton(AF_INET6, std::string(host).c_str(), addr) != 1) {
      *error = "endpoint " + quoted + " has an invalid IPv6 address";
      return false;
    }
  } else {
    size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      endpoint->explicit_port = true;
    }
    if (!ValidHostName(host)) {
      *error = "endpoint " + quoted + " has no valid host name";
      return false;
    }
  }
  endpoint->host = bphttp::AsciiLower(host);
  if (endpoint->explicit_port) {
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
      *error = "endpoint " + quoted + " has an invalid port";
      return false;
    }
    endpoint->port = std::stoi(std::string(port_text));
    if (endpoint->port < 1 || endpoint->port > 65535) {
      *error = "endpoint " + quoted + " has a port outside 1-65535";
      return false;
    }
  } else {
    endpoint->port = endpoint->scheme == "https" ? 443 : 80;
  }
  endpoint->loopback = IsLoopbackHost(endpoint->host, &endpoint->ip_literal);
  return true;
}

std::string RedactQuery(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, q + 1));
  std::string_view query = url.substr(q + 1);
  size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string decoded_key;
    if (!UriDecode(key, &decoded_key)) decoded_key = std::string(key);
    if (!first) out += '&';
    first = false;
    if (eq != std::string_view::npos && IsSecretQueryKey(decoded_key)) {
      out += std::string(key) + "=REDACTED";
    } else {
      out += std::string(pair);
    }
  }
  return out;
}

}  // namespace bphttp
