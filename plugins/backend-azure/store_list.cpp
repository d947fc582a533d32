// AzureStore listing and deletion. List Blobs returns names in ascending order, which for
// blockpipe's ASCII keys is the byte order the SDK asks for; the service's NextMarker is passed
// through as the opaque cursor, so a page boundary never loses or repeats a key. Names under the
// prefix that are not blockpipe keys (files someone else put there) are left out, as the file
// backend leaves out foreign files.
#include <cctype>

#include "azure_store.h"
#include "blob_xml.h"

namespace azurebackend {

int AzureStore::List(const std::string& prefix, const char* cursor, struct bp_list* out) {
  bool prefix_ok = prefix.size() <= 512;
  for (unsigned char c : prefix) {
    prefix_ok = prefix_ok && (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/');
  }
  if (!prefix_ok) {
    return Fail(BP_ERR_INVALID, "list: prefix `" + prefix + "` is not a key prefix");
  }
  const std::string& base = settings().location.prefix;
  BlobRequest request;
  request.method = "GET";
  request.query = {
      {"restype", "container"}, {"comp", "list"}, {"maxresults", std::to_string(kListPageSize)}};
  if (!(base + prefix).empty()) request.query.emplace_back("prefix", base + prefix);
  if (cursor != nullptr && *cursor != '\0') request.query.emplace_back("marker", cursor);
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "list", "prefix `" + base + prefix + "`");
  if (failure.code != BP_OK) return FailWith(failure);

  BlobListPage page;
  std::string error;
  if (!ParseListBlobs(response.body, &page, &error)) {
    return Fail(BP_ERR_TRANSIENT, "list prefix `" + base + prefix + "`: " + error);
  }
  for (const BlobEntry& entry : page.blobs) {
    if (entry.name.compare(0, base.size(), base) != 0) continue;
    std::string key = entry.name.substr(base.size());
    if (!ValidKey(key)) continue;
    int rc = bp_host->list_add(out, key.c_str(), entry.size);
    if (rc != BP_OK) return Fail(rc, "list: the host refused a list entry");
  }
  if (!page.next_marker.empty()) bp_host->list_set_next(out, page.next_marker.c_str());
  return BP_OK;
}

int AzureStore::Delete(const std::string& key) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "delete: `" + key + "` is not a valid key");
  const std::string blob = BlobName(key);
  BlobRequest request;
  request.method = "DELETE";
  request.blob = &blob;
  // blockpipe never snapshots blobs, but a snapshot someone took would otherwise make the
  // delete fail with 409 SnapshotsPresent forever.
  request.headers.emplace_back("x-ms-delete-snapshots", "include");
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "delete", blob);
  return failure.code == BP_OK ? BP_OK : FailWith(failure);
}

}  // namespace azurebackend
