// AzureStore reads. get() is one Get Blob into the host's buffer. read() is a ranged Get Blob:
// x-ms-range "bytes=FIRST-LAST" (never a suffix range, which azurite answers with a 500) with
// the response body written straight into the caller's buffer through the transport's sink, so
// a 4 KiB random read costs one request and no copy. A range that starts at or past the end
// answers 416 InvalidRange, which is the SDK's "0 bytes read", not an error.
#include <cstring>

#include "azure_store.h"

namespace azurebackend {

int AzureStore::Get(const std::string& key, struct bp_buf* out) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "get: `" + key + "` is not a valid key");
  const std::string blob = BlobName(key);
  BlobRequest request;
  request.method = "GET";
  request.blob = &blob;
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "get", blob);
  if (failure.code != BP_OK) return FailWith(failure);
  if (!response.body.empty() &&
      bp_host->buf_append(out, response.body.data(), response.body.size()) != BP_OK) {
    return Fail(BP_ERR_PERMANENT, "get " + blob + ": the host refused " +
                                      std::to_string(response.body.size()) + " bytes");
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
  request.headers.emplace_back("x-ms-range", "bytes=" + std::to_string(offset) + "-" +
                                                 std::to_string(offset + length - 1));
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
