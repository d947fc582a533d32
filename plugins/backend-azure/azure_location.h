// Where blobs live and how their URLs are spelled: the user's `url = "azure://CONTAINER/PREFIX"`,
// the service endpoint (host-style "https://ACCOUNT.blob.core.windows.net", or path-style
// "http://127.0.0.1:10000/ACCOUNT" for emulators), and the encoded paths and query strings of
// container and blob requests. The encoded path built here is both what goes on the wire and
// what the Shared Key signer covers, so the two can never disagree.
#pragma once

#include <string>
#include <string_view>

#include "shared_key.h"
#include "uri.h"

namespace azurebackend {

// The parsed `url`. prefix is "" or ends with '/': keys are stored as blobs named prefix + key.
struct ContainerLocation {
  std::string container;
  std::string prefix;
};

// Parse "azure://CONTAINER[/PREFIX]". The container must be a valid Azure container name (3-63
// of a-z 0-9 '-', starting and ending with a letter or digit, no "--"); the prefix may use the
// characters of blockpipe keys ([A-Za-z0-9._-] and '/') without empty or dot-only segments.
// Leading and trailing slashes of the prefix are dropped. False with *error set on bad input.
bool ParseAzureUrl(std::string_view url, ContainerLocation* out, std::string* error);

// True for a blockpipe object key: 1-512 bytes of [A-Za-z0-9._-] and '/', no empty, "." or ".."
// segment. Listings skip blob names under the prefix that are not keys (someone else's files).
bool ValidKey(std::string_view key);

// True for a name Azure accepts as a storage account: 3-24 lower-case letters and digits.
bool ValidAccountName(std::string_view account);

// The account a path-style endpoint names in its path ("/devstoreaccount1" → "devstoreaccount1"),
// "" for a host-style endpoint. False with *error if the path has more than one segment.
bool PathStyleAccount(const bphttp::Endpoint& endpoint, std::string* account, std::string* error);

// URL construction for one container.
class BlobAddressing {
 public:
  BlobAddressing(bphttp::Endpoint endpoint, std::string container);

  // Encoded request path of the container: "[/ACCOUNT]/CONTAINER".
  std::string ContainerPath() const;
  // Encoded request path of a blob: "[/ACCOUNT]/CONTAINER/NAME" with NAME percent-encoded
  // (slashes kept).
  std::string BlobPath(std::string_view blob_name) const;
  // Full URL: origin + encoded_path + "?" + encoded query, then the SAS token (already a query
  // string, appended as given) when not empty.
  std::string Url(const std::string& encoded_path, const QueryList& query,
                  std::string_view sas_token) const;

  const bphttp::Endpoint& endpoint() const { return endpoint_; }
  const std::string& container() const { return container_; }

 private:
  bphttp::Endpoint endpoint_;
  std::string container_;
};

}  // namespace azurebackend
