// Azure Storage Shared Key authorization for the Blob service, as Microsoft's "Authorize with
// Shared Key" describes it: a string-to-sign made of the verb, twelve standard header values,
// the canonicalized x-ms- headers and the canonicalized resource, MACed with HMAC-SHA256 under
// the base64-decoded account key. Kept free of any transport so the exact bytes can be checked
// against worked examples in unit tests; a one-byte slip here is only ever seen as a 403.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace azurebackend {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// What the signature covers. The caller builds the request from the same values, so what is
// signed is what is sent.
struct SignedRequest {
  std::string method;   // "GET", "PUT", "DELETE", "HEAD"
  std::string account;  // storage account name
  // The URL path exactly as sent (percent-encoded), starting with '/'. With a path-style
  // endpoint (emulators) it begins with the account: "/devstoreaccount1/container/blob".
  std::string encoded_path;
  QueryList query;              // decoded query parameters, any order; repeated names allowed
  HeaderList headers;           // every header sent except Authorization (names in any case)
  uint64_t content_length = 0;  // body bytes; 0 signs an empty Content-Length line
};

// The x-ms- headers, lower-cased, sorted by name, values with runs of whitespace folded to one
// space and trimmed, each as "name:value\n".
std::string CanonicalizedHeaders(const HeaderList& headers);

// "/" + account + encoded_path, then for each query parameter name (lower-cased, sorted)
// "\n" + name + ":" + its values sorted and joined with ",".
std::string CanonicalizedResource(std::string_view account, std::string_view encoded_path,
                                  const QueryList& query);

// The full string-to-sign for the request.
std::string StringToSign(const SignedRequest& request);

// Base64 of HMAC-SHA256(decoded_key, string_to_sign).
std::string SharedKeySignature(std::string_view decoded_key, std::string_view string_to_sign);

// The Authorization header value: "SharedKey <account>:<signature>".
std::string SharedKeyAuthorization(const SignedRequest& request, std::string_view decoded_key);

// An RFC 1123 date for x-ms-date ("Sun, 11 Oct 2009 21:49:13 GMT") for the given UNIX time,
// independent of the process locale.
std::string HttpDate(int64_t unix_seconds);

}  // namespace azurebackend
