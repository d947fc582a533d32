// AzureStore puts. Both paths make the object appear atomically: a Put Blob replaces the blob
// in one step, and blocks uploaded by Put Block stay invisible until Put Block List commits
// them. Put-if-absent puts If-None-Match: * on that creating request; Azure (and azurite)
// answer an existing blob with 409 BlobAlreadyExists, some versions with 412, both mean the
// put lost.
//
// Block ids carry a random per-upload nonce: two writers racing to create the same segment
// upload uncommitted blocks to the same blob name, and with ids like "block-000001" the loser's
// blocks would replace the winner's before the winner commits, so the winner could commit a mix
// of both uploads. With distinct ids each writer commits exactly its own blocks.
//
// A put-if-absent whose response was lost (timeout, reset, 5xx) may still have created the
// blob; the host retries it and the retry meets its own blob. That is told apart from a second
// writer by reading the blob back and comparing it with the bytes being put.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "azure_store.h"
#include "blob_xml.h"
#include "crypto.h"
#include "put_if_absent_probe.h"

namespace azurebackend {
namespace {

constexpr size_t kMaxAmbiguousKeys = 1024;

// Equal-length ids within one blob, as the service requires: "bp" + 16-hex nonce + 6 digits,
// 24 bytes before base64.
std::string BlockId(const std::string& nonce, size_t index) {
  char number[16];
  std::snprintf(number, sizeof(number), "%06zu", index);
  return bphttp::Base64Encode("bp" + nonce + number);
}

}  // namespace

int AzureStore::Put(const std::string& key, const void* data, uint64_t length, uint32_t flags) {
  if (!ValidKey(key)) return Fail(BP_ERR_INVALID, "put: `" + key + "` is not a valid key");
  if (length > 0 && data == nullptr) return Fail(BP_ERR_INVALID, "put " + key + ": no data");
  const bool if_absent = (flags & BP_PUT_IF_ABSENT) != 0;
  int rc = length <= upload_.single_put_limit ? PutSingle(key, data, length, if_absent)
                                              : PutBlocks(key, data, length, if_absent);
  if (if_absent) {
    if (rc == BP_ERR_PRECONDITION && WasAmbiguous(key)) {
      rc = ResolveLostResponse(key, data, length);
    }
    NoteAmbiguous(key, rc == BP_ERR_TRANSIENT);
  }
  return rc;
}

int AzureStore::PutSingle(const std::string& key, const void* data, uint64_t length,
                          bool if_absent) {
  const std::string blob = BlobName(key);
  BlobRequest request;
  request.method = "PUT";
  request.blob = &blob;
  request.headers = {{"Content-Type", "application/octet-stream"}, {"x-ms-blob-type", "BlockBlob"}};
  if (if_absent) request.headers.emplace_back("If-None-Match", "*");
  request.body = data;
  request.body_length = length;
  AzureFailure failure = Classify(Send(request), "put", blob);
  return failure.code == BP_OK ? BP_OK : FailWith(failure);
}

int AzureStore::PutBlocks(const std::string& key, const void* data, uint64_t length,
                          bool if_absent) {
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
    AzureFailure failure = Classify(Send(request), "put block " + std::to_string(i + 1) + "/" +
                                                       std::to_string(count) + " of",
                                    blob);
    if (failure.code != BP_OK) return FailWith(failure);
  }
  const std::string list = BlockListXml(ids);
  BlobRequest commit;
  commit.method = "PUT";
  commit.blob = &blob;
  commit.query = {{"comp", "blocklist"}};
  commit.headers = {{"Content-Type", "application/xml"},
                    {"x-ms-blob-content-type", "application/octet-stream"}};
  if (if_absent) commit.headers.emplace_back("If-None-Match", "*");
  commit.body = list.data();
  commit.body_length = list.size();
  AzureFailure failure = Classify(Send(commit), "put block list of", blob);
  return failure.code == BP_OK ? BP_OK : FailWith(failure);
}

int AzureStore::ResolveLostResponse(const std::string& key, const void* data, uint64_t length) {
  const std::string blob = BlobName(key);
  // Read one byte more than expected: a longer blob then shows as a length mismatch.
  std::vector<uint8_t> stored(length + 1);
  BlobRequest request;
  request.method = "GET";
  request.blob = &blob;
  request.headers.emplace_back("x-ms-range", "bytes=0-" + std::to_string(length));
  request.sink = stored.data();
  request.sink_capacity = stored.size();
  bphttp::HttpResponse response = Send(request);
  uint64_t got = 0;
  if (response.status == 416) {
    got = 0;  // the blob exists and is empty
  } else {
    AzureFailure failure = Classify(response, "read back after a lost put response of", blob);
    if (failure.code != BP_OK) return FailWith(failure);
    got = response.sink_bytes;
  }
  if (got == length && (length == 0 || std::memcmp(stored.data(), data, length) == 0)) {
    if (bp_host != nullptr) {
      bp_host->log(BP_LOG_INFO, "azure",
                   ("put " + blob + ": an earlier attempt whose response was lost had created "
                    "it; same bytes, so the put succeeded")
                       .c_str());
    }
    return BP_OK;
  }
  return Fail(BP_ERR_PRECONDITION,
              "put " + blob + ": the blob exists with other contents (another writer created it)");
}

void AzureStore::NoteAmbiguous(const std::string& key, bool ambiguous) {
  std::lock_guard<std::mutex> lock(ambiguous_mutex_);
  auto it = std::find(ambiguous_keys_.begin(), ambiguous_keys_.end(), key);
  if (it != ambiguous_keys_.end()) ambiguous_keys_.erase(it);
  if (!ambiguous) return;
  ambiguous_keys_.push_back(key);
  if (ambiguous_keys_.size() > kMaxAmbiguousKeys) ambiguous_keys_.pop_front();
}

bool AzureStore::WasAmbiguous(const std::string& key) {
  std::lock_guard<std::mutex> lock(ambiguous_mutex_);
  return std::find(ambiguous_keys_.begin(), ambiguous_keys_.end(), key) != ambiguous_keys_.end();
}

}  // namespace azurebackend
