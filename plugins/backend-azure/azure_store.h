// AzureStore: one open Azure Blob backend instance — blockpipe objects as block blobs named
// PREFIX + key in one container. It implements the operations of bp_backend.h on BlobClient:
//
//   put     Put Blob for objects up to single_put_limit; above it Put Block (block_size pieces,
//           ids unique to this upload) + Put Block List. Put-if-absent sends If-None-Match: *
//           on the request that creates the blob (Put Blob or Put Block List).
//   get     Get Blob.          read  Get Blob with x-ms-range straight into the caller's buffer.
//   del     Delete Blob.       list  List Blobs with prefix and marker, keys made relative.
//
// open() proves the container and credentials with a one-result listing, then probes whether
// put-if-absent is honoured on both put paths before declaring BP_BACKEND_CAP_PUT_IF_ABSENT.
// Every method is thread-safe (BP_THREAD_PARALLEL) and returns a BP_* code, recording a message
// through the host on failure. No method retries: the host's RetryingStore does, by class.
#pragma once

#include <blockpipe/bp_backend.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
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

  int PutSingle(const std::string& key, const void* data, uint64_t length, bool if_absent);
  int PutBlocks(const std::string& key, const void* data, uint64_t length, bool if_absent);
  // After a put-if-absent lost with a precondition failure: if an earlier attempt at the same
  // key ended without a clear answer and the stored blob holds exactly `data`, that attempt
  // landed and this put succeeded. Returns BP_OK or BP_ERR_PRECONDITION (or a read error).
  int ResolveLostResponse(const std::string& key, const void* data, uint64_t length);
  void NoteAmbiguous(const std::string& key, bool ambiguous);
  bool WasAmbiguous(const std::string& key);

  BlobClient client_;
  const UploadOptions upload_;
  bool put_if_absent_ = false;

  std::mutex ambiguous_mutex_;
  std::deque<std::string> ambiguous_keys_;  // bounded, most recent last
};

}  // namespace azurebackend
