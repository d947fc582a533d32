// Shared Key string-to-sign and signature. The rules that are easy to get wrong, each pinned by
// a unit test: Content-Length is an empty line when the body is empty (service version
// 2015-02-21 and later); Date stays empty because x-ms-date is always sent; x-ms- header names
// are lower-cased and sorted, their values folded; query names are lower-cased and their values
// decoded, sorted and comma-joined; and a path-style endpoint puts the account in the resource
// twice, once as the signer's account and once as the first path segment.
#include "shared_key.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>

#include "crypto.h"
#include "text.h"

namespace azurebackend {
namespace {

// Runs of spaces and tabs become one space; leading and trailing ones go. Quoted strings are
// not treated specially: blockpipe sends no x-ms- header whose value contains quotes.
std::string FoldWhitespace(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

const std::string* FindHeader(const HeaderList& headers, std::string_view lower_name) {
  for (const auto& [name, value] : headers) {
    if (bphttp::AsciiLower(name) == lower_name) return &value;
  }
  return nullptr;
}

}  // namespace

std::string CanonicalizedHeaders(const HeaderList& headers) {
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& [name, value] : headers) {
    std::string lower = bphttp::AsciiLower(name);
    if (lower.rfind("x-ms-", 0) == 0) ms.emplace_back(std::move(lower), FoldWhitespace(value));
  }
  std::sort(ms.begin(), ms.end());
  std::string out;
  for (const auto& [name, value] : ms) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  return out;
}

std::string CanonicalizedResource(std::string_view account, std::string_view encoded_path,
                                  const QueryList& query) {
  std::string out = "/";
  out += account;
  out += encoded_path.empty() ? std::string_view("/") : encoded_path;
  std::map<std::string, std::vector<std::string>> grouped;  // sorted by name
  for (const auto& [name, value] : query) grouped[bphttp::AsciiLower(name)].push_back(value);
  for (auto& [name, values] : grouped) {
    std::sort(values.begin(), values.end());
    out += '\n';
    out += name;
    out += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += values[i];
    }
  }
  return out;
}

std::string StringToSign(const SignedRequest& request) {
  auto header = [&](std::string_view lower_name) -> std::string {
    const std::string* value = FindHeader(request.headers, lower_name);
    return value != nullptr ? *value : std::string();
  };
  std::string out;
  out.reserve(256);
  out += request.method + '\n';
  out += header("content-encoding") + '\n';
  out += header("content-language") + '\n';
  out +=
      (request.content_length == 0 ? std::string() : std::to_string(request.content_length)) + '\n';
  out += header("content-md5") + '\n';
  out += header("content-type") + '\n';
  out += header("date") + '\n';
  out += header("if-modified-since") + '\n';
  out += header("if-match") + '\n';
  out += header("if-none-match") + '\n';
  out += header("if-unmodified-since") + '\n';
  out += header("range") + '\n';
  out += CanonicalizedHeaders(request.headers);
  out += CanonicalizedResource(request.account, request.encoded_path, request.query);
  return out;
}

std::string SharedKeySignature(std::string_view decoded_key, std::string_view string_to_sign) {
  return bphttp::Base64Encode(bphttp::HmacSha256(decoded_key, string_to_sign));
}

std::string SharedKeyAuthorization(const SignedRequest& request, std::string_view decoded_key) {
  return "SharedKey " + request.account + ":" +
         SharedKeySignature(decoded_key, StringToSign(request));
}

std::string HttpDate(int64_t unix_seconds) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

}  // namespace azurebackend
