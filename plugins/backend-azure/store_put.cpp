// AzureStore puts. Both paths make the object appear atomically: a Put Blob replaces the blob
// in one step, and blocks uploaded by Put Block stay invisible until Put Block List commits
// them. A conditional put carries its condition on that visible request: If-None-Match: * for
// put-if-absent (Azure and azurite answer an existing blob with 409 BlobAlreadyExists, some
// versions with 412; both mean the put lost), If-Match: ETag for put-if-match (412
// ConditionNotMet when the blob changed; a blob that is gone lost too).
//
// Block ids carry a random per-upload nonce: two writers racing to create the same segment
// upload uncommitted blocks to the same blob name, and with ids like "block-000001" the loser's
// blocks would replace the winner's before the winner commits, so the winner could commit a mix
// of both uploads. With distinct ids each writer commits exactly its own blocks.
//
// A conditional put whose response was lost (timeout, reset, 5xx) may still have landed; the
// host retries it, and its RetryingStore tells the retry's precondition failure apart from a
// second writer by reading the blob back. Nothing here second-guesses the store's answer.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "azure_store.h"
#include "blob_xml.h"
#include "crypto.h"
#include "put_if_absent_probe.h"

namespace azurebackend {
namespace {

// Equal-length ids within one blob, as the service requires: "bp" + 16-hex nonce + 6 digits,
// 24 bytes before base64.
std::string BlockId(const std::string& nonce, size_t index) {
  char number[16];
  std::snprintf(number, sizeof(number), "%06zu", index);
  return bphttp::Base64Encode("bp" + nonce + number);
}

void TakeEtag(const bphttp::HttpResponse& response, std::string* etag) {
  if (etag == nullptr) return;
  const std::string* value = response.Header("etag");
  etag->assign(value != nullptr ? *value : "");
}

}  // namespace

int AzureStore::Put(const std::string& key, const void* data, uint64_t length, uint32_t flags) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "put: `" + key + "` is not a valid key");
  if (length > 0 && data == nullptr) return Fail(BP_ERR_INVALID, "put " + key + ": no data");
  Condition condition;
  if ((flags & BP_PUT_IF_ABSENT) != 0) condition = {"If-None-Match", "*"};
  return Upload(key, data, length, condition, /*force_blocks=*/false, nullptr);
}

int AzureStore::PutIfMatch(const std::string& key, const void* data, uint64_t length,
                           const std::string& expected_tag, char* new_tag) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "put: `" + key + "` is not a valid key");
  if (length > 0 && data == nullptr) return Fail(BP_ERR_INVALID, "put " + key + ": no data");
  std::string etag;
  int rc = Upload(key, data, length, {"If-Match", expected_tag}, /*force_blocks=*/false, &etag);
  if (rc == BP_ERR_NOT_FOUND) {
    return Fail(BP_ERR_PRECONDITION, "put-if-match " + BlobName(key) + ": the blob is gone");
  }
  if (rc != BP_OK) return rc;
  // A tag the host could not hold is simply not reported; it reads the blob back instead.
  if (etag.size() >= BP_VERSION_TAG_MAX) etag.clear();
  std::memcpy(new_tag, etag.c_str(), etag.size() + 1);
  return BP_OK;
}

int AzureStore::Upload(const std::string& key, const void* data, uint64_t length,
                       const Condition& condition, bool force_blocks, std::string* etag) {
  return !force_blocks && length <= upload_.single_put_limit
             ? PutSingle(key, data, length, condition, etag)
             : PutBlocks(key, data, length, condition, etag);
}

int AzureStore::PutSingle(const std::string& key, const void* data, uint64_t length,
                          const Condition& condition, std::string* etag) {
  const std::string blob = BlobName(key);
  BlobRequest request;
  request.method = "PUT";
  request.blob = &blob;
  request.headers = {{"Content-Type", "application/octet-stream"}, {"x-ms-blob-type", "BlockBlob"}};
  if (!condition.header.empty()) request.headers.emplace_back(condition.header, condition.value);
  request.body = data;
  request.body_length = length;
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "put", blob);
  if (failure.code != BP_OK) return FailWith(failure);
  TakeEtag(response, etag);
  return BP_OK;
}

int AzureStore::PutBlocks(const std::string& key, const void* data, uint64_t length,
                          const Condition& condition, std::string* etag) {
  const std::string blob = BlobName(key);
  const uint64_t block_size = std::max<uint64_t>(upload_.block_size, 1);
  // An empty object commits an empty block list (the service refuses empty blocks).
  const uint64_t count = (length + block_size - 1) / block_size;
  if (count > kMaxBlocks) {
    return Fail(BP_ERR_INVALID, "put " + blob + ": " + std::to_string(length) + " bytes need " +
                                    std::to_string(count) + " blocks of block_size " +
                                    std::to_string(block_size) + ", more than the service's " +
                                    std::to_string(kMaxBlocks) + "; raise block_size");
  }
  const std::string nonce = bphttp::RandomHex(8);
  std::vector<std::string> ids;
  ids.reserve(count);
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t offset = i * block_size;
    const uint64_t piece = std::min(block_size, length - std::min(length, offset));
    ids.push_back(BlockId(nonce, static_cast<size_t>(i)));
    BlobRequest request;
    request.method = "PUT";
    request.blob = &blob;
    request.query = {{"comp", "block"}, {"blockid", ids.back()}};
    request.headers = {{"Content-Type", "application/octet-stream"}};
    request.body = piece > 0 ? bytes + offset : nullptr;
    request.body_length = piece;
    AzureFailure failure =
        Classify(Send(request),
                 "put block " + std::to_string(i + 1) + "/" + std::to_string(count) + " of", blob);
    if (failure.code != BP_OK) return FailWith(failure);
  }
  const std::string list = BlockListXml(ids);
  BlobRequest commit;
  commit.method = "PUT";
  commit.blob = &blob;
  commit.query = {{"comp", "blocklist"}};
  commit.headers = {{"Content-Type", "application/xml"},
                    {"x-ms-blob-content-type", "application/octet-stream"}};
  if (!condition.header.empty()) commit.headers.emplace_back(condition.header, condition.value);
  commit.body = list.data();
  commit.body_length = list.size();
  bphttp::HttpResponse response = Send(commit);
  AzureFailure failure = Classify(response, "put block list of", blob);
  if (failure.code != BP_OK) return FailWith(failure);
  TakeEtag(response, etag);
  return BP_OK;
}

}  // namespace azurebackend
