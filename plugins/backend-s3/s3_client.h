// The S3 operations the backend needs, each one signed request (or a few, for batched deletes):
// PutObject (optionally If-None-Match: * or If-Match: ETag), ranged and whole GetObject, HeadObject, DeleteObject,
// DeleteObjects, ListObjectsV2, and the startup bucket check. Keys passed in are relative to the
// configured prefix; the client adds it on the way out and strips it from listings.
//
// Thread-safe: every method may run concurrently (the HTTP client pools connections). No method
// retries — the host's RetryingStore does, guided by the error class each method returns — and
// each request is bounded by the HTTP client's request timeout.
#ifndef BLOCKPIPE_BACKEND_S3_S3_CLIENT_H
#define BLOCKPIPE_BACKEND_S3_S3_CLIENT_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_client.h"
#include "s3_credentials.h"
#include "s3_location.h"
#include "s3_xml.h"

namespace s3backend {

struct S3ClientOptions {
  S3Location location;
  S3Credentials credentials;
  bphttp::HttpClientOptions http;
  size_t delete_batch = 1000;    // keys per DeleteObjects request (S3 allows at most 1000)
  size_t list_page_size = 1000;  // max-keys of a ListObjectsV2 page (S3 returns at most 1000)
};

// Every method returns BP_OK or a BP_ERR_* class and, on failure, sets *error to a message naming
// the operation, the object, the HTTP status and the store's error code and message. Messages
// never contain credentials or signatures.
class S3Client {
 public:
  explicit S3Client(S3ClientOptions options);

  const S3Location& location() const { return options_.location; }
  const S3Credentials& credentials() const { return options_.credentials; }

  // One ListObjectsV2 (max-keys=1) under the prefix: proves the endpoint answers, the bucket
  // exists, the region is right and the credentials are accepted. Tailored messages for each.
  int CheckBucket(std::string* error) const;

  // With if_absent, an existing object is BP_ERR_PRECONDITION. (Whether it is this put's own
  // earlier attempt whose response was lost is for the host's RetryingStore to find out.)
  int Put(std::string_view key, const void* data, uint64_t length, bool if_absent,
          std::string* error) const;
  // PutObject with If-Match: the object's ETag must still be `etag` (as GetObject returned it).
  // 412, and 404 for a missing object, are BP_ERR_PRECONDITION. *new_etag: the response's ETag.
  int PutIfMatch(std::string_view key, const void* data, uint64_t length, const std::string& etag,
                 std::string* new_etag, std::string* error) const;
  // How If-Match carries the ETag: AWS compares the quoted form ("abc…"), Ceph RGW only the bare
  // one. Chosen by the startup probe, before the client is shared between threads.
  void SetIfMatchUnquoted(bool unquoted) { if_match_unquoted_ = unquoted; }
  bool if_match_unquoted() const { return if_match_unquoted_; }
  // Up to `length` bytes at `offset` into buf; *nread < length only at the end of the object.
  int Read(std::string_view key, uint64_t offset, uint64_t length, void* buf, uint64_t* nread,
           std::string* error) const;
  // *etag (if not null) receives the ETag of exactly the bytes returned.
  int Get(std::string_view key, std::string* out, std::string* error,
          std::string* etag = nullptr) const;
  int Head(std::string_view key, uint64_t* size, std::string* error) const;
  // S3 answers 204 for a missing key too, so this usually reports BP_OK either way.
  int Delete(std::string_view key, std::string* error) const;
  // results[i] for keys[i]; the return value is BP_OK when every batch request was carried out.
  int DeleteMany(const char* const* keys, size_t count, int* results, std::string* error) const;
  // One page of keys starting with `prefix` (relative), continuing from `cursor` (empty: first
  // page). Returned keys are relative too; page->next_continuation_token is the next cursor.
  int List(std::string_view prefix, std::string_view cursor, ListObjectsPage* page,
           std::string* error) const;

 private:
  struct Call {
    std::string method;
    std::string path;  // decoded
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;  // besides the signing headers
    const void* body = nullptr;
    uint64_t body_length = 0;
    void* sink = nullptr;
    uint64_t sink_capacity = 0;
  };
  bphttp::HttpResponse Send(const Call& call) const;
  std::string ObjectUrl(std::string_view key) const;  // s3://bucket/prefix/key for messages
  int Fail(const bphttp::HttpResponse& response, const std::string& what, std::string* error) const;
  int ReadWithoutRange(std::string_view key, uint64_t offset, uint64_t length, void* buf,
                       uint64_t* nread, std::string* error) const;
  Call PutCall(std::string_view key, const void* data, uint64_t length) const;
  int DeleteBatch(const char* const* keys, size_t count, int* results, std::string* error) const;

  S3ClientOptions options_;
  bphttp::HttpClient http_;
  bool if_match_unquoted_ = false;
};

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_S3_CLIENT_H
