// AzureStore reads. get() is one Get Blob into the host's buffer; get_tagged() the same, plus
// the ETag of that response, which describes exactly the bytes it carried. read() is a ranged Get Blob:
// x-ms-range "bytes=FIRST-LAST" (never a suffix range, which azurite answers with a 500) with
// the response body written straight into the caller's buffer through the transport's sink, so
// a 4 KiB random read costs one request and no copy. A range that starts at or past the end
// answers 416 InvalidRange, which is the SDK's "0 bytes read", not an error.
#include <cstring>

#include "azure_store.h"

namespace azurebackend {

int AzureStore::Get(const std::string& key, struct bp_buf* out) {
  return GetBlob(key, out, nullptr);
}

int AzureStore::GetTagged(const std::string& key, struct bp_buf* out, char* tag) {
  std::string etag;
  int rc = GetBlob(key, out, &etag);
  if (rc != BP_OK) return rc;
  if (etag.empty() || etag.size() >= BP_VERSION_TAG_MAX) {
    return Fail(BP_ERR_PERMANENT, "get " + BlobName(key) + ": the service returned no usable ETag");
  }
  std::memcpy(tag, etag.c_str(), etag.size() + 1);
  return BP_OK;
}

int AzureStore::FetchBlob(const std::string& key, std::string* body, std::string* etag) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "get: `" + key + "` is not a valid key");
  const std::string blob = BlobName(key);
  BlobRequest request;
  request.method = "GET";
  request.blob = &blob;
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "get", blob);
  if (failure.code != BP_OK) return FailWith(failure);
  if (etag != nullptr) {
    const std::string* value = response.Header("etag");
    etag->assign(value != nullptr ? *value : "");
  }
  *body = std::move(response.body);
  return BP_OK;
}

int AzureStore::GetBlob(const std::string& key, struct bp_buf* out, std::string* etag) {
  std::string body;
  int rc = FetchBlob(key, &body, etag);
  if (rc != BP_OK) return rc;
  if (!body.empty() && bp_host->buf_append(out, body.data(), body.size()) != BP_OK) {
    return Fail(BP_ERR_PERMANENT, "get " + BlobName(key) + ": the host refused " +
                                      std::to_string(body.size()) + " bytes");
  }
  return BP_OK;
}

int AzureStore::Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                     uint64_t* nread) {
  *nread = 0;
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "read: `" + key + "` is not a valid key");
  const std::string blob = BlobName(key);
  if (length > UINT64_MAX - offset) {
    return Fail(BP_ERR_INVALID, "read " + blob + ": offset + length overflows");
  }
  BlobRequest request;
  request.blob = &blob;
  if (length == 0) {
    // Nothing to transfer, but a missing object must still be reported: Get Blob Properties.
    request.method = "HEAD";
    bphttp::HttpResponse response = Send(request);
    AzureFailure failure = Classify(response, "read", blob);
    if (response.status == 404 && failure.error_code.empty()) failure.code = BP_ERR_NOT_FOUND;
    return failure.code == BP_OK ? BP_OK : FailWith(failure);
  }
  request.method = "GET";
  request.headers.emplace_back(
      "x-ms-range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  request.sink = buf;
  request.sink_capacity = length;
  bphttp::HttpResponse response = Send(request);
  if (response.status == 416) return BP_OK;  // the range starts at or past the end
  AzureFailure failure = Classify(response, "read", blob);
  if (failure.code != BP_OK) return FailWith(failure);
  if (response.status != 206 && offset != 0) {
    // A 200 means the range was ignored and the body is the object from byte 0: unusable here.
    return Fail(BP_ERR_PERMANENT, "read " + blob + ": the service ignored x-ms-range (HTTP " +
                                      std::to_string(response.status) + ")");
  }
  *nread = response.sink_bytes;
  return BP_OK;
}

}  // namespace azurebackend
