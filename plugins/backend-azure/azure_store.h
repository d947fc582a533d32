// AzureStore: one open Azure Blob backend instance — blockpipe objects as block blobs named
// PREFIX + key in one container. It implements the operations of bp_backend.h on BlobClient:
//
//   put     Put Blob for objects up to single_put_limit; above it Put Block (block_size pieces,
//           ids unique to this upload) + Put Block List. Put-if-absent sends If-None-Match: *
//           and put-if-match sends If-Match: ETag on the request that makes the blob visible
//           (Put Blob or Put Block List).
//   get     Get Blob (get_tagged also returns its ETag).
//   read    Get Blob with x-ms-range straight into the caller's buffer.
//   del     Delete Blob.       list  List Blobs with prefix and marker, keys made relative.
//
// open() proves the container and credentials with a one-result listing, then probes whether
// put-if-absent and put-if-match are honoured on both put paths before declaring
// BP_BACKEND_CAP_PUT_IF_ABSENT and BP_BACKEND_CAP_CONDITIONAL_PUT.
// Every method is thread-safe (BP_THREAD_PARALLEL) and returns a BP_* code, recording a message
// through the host on failure. No method retries: the host's RetryingStore does, by class.
#pragma once

#include <blockpipe/bp_backend.h>

#include <cstdint>
#include <memory>
#include <string>

#include "azure_errors.h"
#include "blob_client.h"

namespace azurebackend {

struct UploadOptions {
  uint64_t single_put_limit = 32ull << 20;  // objects up to this go in one Put Blob
  uint64_t block_size = 4ull << 20;         // Put Block size for larger objects
};

// Record `message` with the host (prefixed "azure backend: ") and return `code`.
int Fail(int code, const std::string& message);
// The message of the last Fail() on this thread, for callers that report it in their own words.
const std::string& LastFailure();

class AzureStore {
 public:
  static constexpr int kListPageSize = 1000;
  static constexpr size_t kMaxBlocks = 50000;  // the service's limit per blob

  static int Open(const ResolvedSettings& settings, const TransportOptions& transport,
                  const UploadOptions& upload, std::unique_ptr<AzureStore>* out);

  uint64_t Capabilities() const;
  int Get(const std::string& key, struct bp_buf* out);
  int Read(const std::string& key, uint64_t offset, uint64_t length, void* buf, uint64_t* nread);
  int Put(const std::string& key, const void* data, uint64_t length, uint32_t flags);
  int GetTagged(const std::string& key, struct bp_buf* out, char* tag);
  int PutIfMatch(const std::string& key, const void* data, uint64_t length,
                 const std::string& expected_tag, char* new_tag);
  int Delete(const std::string& key);
  int List(const std::string& prefix, const char* cursor, struct bp_list* out);

  // For messages: "azure://container/prefix at https://account.blob.core.windows.net".
  std::string Describe() const;

 private:
  AzureStore(const ResolvedSettings& settings, const TransportOptions& transport,
             const UploadOptions& upload);

  std::string BlobName(const std::string& key) const { return settings().location.prefix + key; }
  const ResolvedSettings& settings() const { return client_.settings(); }

  // Send, count it in the metrics, and classify the answer.
  bphttp::HttpResponse Send(const BlobRequest& request) const;
  AzureFailure Classify(const bphttp::HttpResponse& response, const std::string& operation,
                        const std::string& target) const;
  // Fail with the classified response's code and message.
  int FailWith(const AzureFailure& failure) const;

  int CheckContainer();
  // Run the put-if-absent probe on one upload path. *first_put_rc receives the code of the
  // probe's first put, so a store that refuses writes altogether can be told apart.
  bool ProbePath(bool force_blocks, std::string* detail, int* first_put_rc);

  // The condition on the request that makes an upload visible: none, If-None-Match: * or
  // If-Match: ETag.
  struct Condition {
    std::string header;  // empty: unconditional
    std::string value;
  };
  // Upload by the path the size calls for; *etag (if not null) receives the new blob's ETag.
  int Upload(const std::string& key, const void* data, uint64_t length, const Condition& condition,
             bool force_blocks, std::string* etag);
  int PutSingle(const std::string& key, const void* data, uint64_t length,
                const Condition& condition, std::string* etag);
  int PutBlocks(const std::string& key, const void* data, uint64_t length,
                const Condition& condition, std::string* etag);
  // Get Blob into *body; *etag (if not null) receives the ETag of exactly these bytes.
  int FetchBlob(const std::string& key, std::string* body, std::string* etag);
  // FetchBlob, appended to the host's buffer.
  int GetBlob(const std::string& key, struct bp_buf* out, std::string* etag);
  // Run the put-if-match probe on one upload path.
  bool ProbeIfMatch(bool force_blocks, std::string* detail);

  BlobClient client_;
  const UploadOptions upload_;
  bool put_if_absent_ = false;
  bool put_if_match_ = false;
};

}  // namespace azurebackend
