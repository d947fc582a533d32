// S3 requests: each builds a Call (method, decoded path, query, extra headers, body), and Send()
// adds the SigV4 headers, signs, and hands the exact same path and query to the HTTP client, so
// what was signed is what goes on the wire. Responses are classified by s3_errors.
#include "s3_client.h"

#include <blockpipe/bp_common.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "crypto.h"
#include "s3_errors.h"
#include "sigv4_signer.h"
#include "uri.h"

namespace s3backend {
namespace {

const char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "bytes 100-199/1000" → start 100, end 199. False when malformed.
bool ParseContentRange(const std::string& value, uint64_t* start, uint64_t* end) {
  unsigned long long a = 0, b = 0;
  char slash = 0;
  if (std::sscanf(value.c_str(), "bytes %llu-%llu%c", &a, &b, &slash) != 3 || slash != '/' ||
      b < a) {
    return false;
  }
  *start = a;
  *end = b;
  return true;
}

}  // namespace

S3Client::S3Client(S3ClientOptions options) : options_(std::move(options)), http_(options_.http) {}

std::string S3Client::ObjectUrl(std::string_view key) const {
  return "s3://" + options_.location.bucket + "/" + options_.location.prefix + std::string(key);
}

bphttp::HttpResponse S3Client::Send(const Call& call) const {
  const S3Location& loc = options_.location;
  std::string payload_hash = call.body_length == 0 ? std::string(kEmptySha256)
                                                   : bphttp::Sha256Hex(call.body, call.body_length);
  std::string amz_date = AmzDateNow();
  SigV4Request request;
  request.method = call.method;
  request.path = call.path;
  request.query = call.query;
  request.payload_hash = payload_hash;
  request.headers = call.headers;
  request.headers.emplace_back("Host", loc.Host());
  request.headers.emplace_back("x-amz-date", amz_date);
  request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  if (!options_.credentials.session_token.empty()) {
    request.headers.emplace_back("x-amz-security-token", options_.credentials.session_token);
  }
  SigV4Scope scope{options_.credentials.access_key_id, options_.credentials.secret_access_key,
                   loc.region, "s3"};
  SigV4Signature signature = SignV4(request, scope, amz_date, SigV4PathRule::kS3AsIs);

  bphttp::HttpRequest http;
  http.method = call.method;
  http.url = loc.Origin() + CanonicalUri(call.path, SigV4PathRule::kS3AsIs);
  std::string query = CanonicalQuery(call.query);
  if (!query.empty()) http.url += "?" + query;
  http.headers = std::move(request.headers);
  http.headers.emplace_back("Authorization", signature.authorization);
  http.body = call.body;
  http.body_length = call.body_length;
  http.sink = call.sink;
  http.sink_capacity = call.sink_capacity;
  return http_.Perform(http);
}

int S3Client::Fail(const bphttp::HttpResponse& response, const std::string& what,
                   std::string* error) const {
  S3Failure failure = ClassifyS3Response(response);
  if (failure.code == BP_OK) failure.code = BP_ERR_PERMANENT;  // callers only get here on errors
  *error = "S3 " + what + " failed: " + failure.summary;
  if (response.status == 0) *error += " from " + options_.location.Origin();
  return failure.code;
}

int S3Client::CheckBucket(std::string* error) const {
  const S3Location& loc = options_.location;
  Call call;
  call.method = "GET";
  call.path = loc.BucketPath();
  call.query = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", loc.prefix}};
  bphttp::HttpResponse response = Send(call);
  std::string where = "bucket " + loc.bucket + " at " + loc.endpoint.Origin();
  S3Failure failure = ClassifyS3Response(response);
  const std::string& code = failure.document.code;
  if (failure.code == BP_OK) {
    ListObjectsPage page;
    std::string parse_error;
    if (!ParseListObjectsV2(response.body, &page, &parse_error)) {
      *error = "the endpoint " + loc.endpoint.Origin() + " answered a bucket listing of " + where +
               " with something that is not an S3 ListBucketResult (" + parse_error +
               "); is it an S3 endpoint?";
      return BP_ERR_PERMANENT;
    }
    return BP_OK;
  }
  if (response.status == 0) {
    *error = "cannot reach the S3 endpoint " + loc.endpoint.Origin() + " for bucket " + loc.bucket +
             ": " + response.transport_error;
    return BP_ERR_TRANSIENT;
  }
  if (code == "NoSuchBucket" || (response.status == 404 && code.empty())) {
    *error = "bucket " + loc.bucket + " does not exist at " + loc.endpoint.Origin();
    return BP_ERR_PERMANENT;
  }
  const std::string* bucket_region = response.Header("x-amz-bucket-region");
  std::string right_region = bucket_region != nullptr ? *bucket_region : failure.document.region;
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
      response.status == 301) {
    *error =
        where + " rejected the request for region " + loc.region + " (" + failure.summary + ")";
    if (!right_region.empty() && right_region != loc.region) {
      *error +=
          "; the bucket is in region " + right_region + ": set region = \"" + right_region + "\"";
    }
    return BP_ERR_PERMANENT;
  }
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "AccessDenied" ||
      code == "InvalidToken" || code == "ExpiredToken" || code == "RequestTimeTooSkewed" ||
      response.status == 401 || response.status == 403) {
    *error = "S3 rejected the credentials for " + where + ": " +
             (code.empty() ? "HTTP " + std::to_string(response.status) : code) +
             (failure.document.message.empty() ? "" : " (" + failure.document.message + ")") +
             "; access key " + options_.credentials.access_key_id + " from " +
             options_.credentials.source;
    if (code == "RequestTimeTooSkewed") *error += "; the local clock is off: fix the system time";
    return BP_ERR_PERMANENT;
  }
  *error = "checking " + where + " failed: " + failure.summary;
  return failure.code == BP_OK ? BP_ERR_PERMANENT : failure.code;
}

S3Client::Call S3Client::PutCall(std::string_view key, const void* data, uint64_t length) const {
  Call call;
  call.method = "PUT";
  call.path = options_.location.ObjectPath(options_.location.prefix + std::string(key));
  call.body = data;
  call.body_length = length;
  // The body's SHA-256 is signed (Send), and S3 refuses a body that does not match it
  // (XAmzContentSHA256Mismatch): that is the end-to-end check. A Content-MD5 on top would check
  // the same bytes again for about 1.4 CPU-seconds per GiB put (MD5 runs at ~750 MB/s where
  // SHA-256 with the SHA extensions runs at ~1.7 GB/s), which on a host that also encodes the
  // segments is a large share of what a sequential write costs.
  call.headers.emplace_back("Content-Type", "application/octet-stream");
  return call;
}

int S3Client::Put(std::string_view key, const void* data, uint64_t length, bool if_absent,
                  std::string* error) const {
  Call call = PutCall(key, data, length);
  if (if_absent) call.headers.emplace_back("If-None-Match", "*");
  bphttp::HttpResponse response = Send(call);
  if (response.status >= 200 && response.status < 300) return BP_OK;
  return Fail(response, std::string(if_absent ? "put-if-absent" : "put") + " of " + ObjectUrl(key),
              error);
}

int S3Client::PutIfMatch(std::string_view key, const void* data, uint64_t length,
                         const std::string& etag, std::string* new_etag, std::string* error) const {
  std::string condition = etag;
  if (if_match_unquoted_ && condition.size() >= 2 && condition.front() == '"' &&
      condition.back() == '"') {
    condition = condition.substr(1, condition.size() - 2);
  }
  Call call = PutCall(key, data, length);
  call.headers.emplace_back("If-Match", condition);
  bphttp::HttpResponse response = Send(call);
  if (response.status >= 200 && response.status < 300) {
    const std::string* tag = response.Header("etag");
    new_etag->assign(tag != nullptr ? *tag : "");
    return BP_OK;
  }
  int rc = Fail(response, "put-if-match of " + ObjectUrl(key), error);
  // A conditional replace of an object that is gone lost too (S3 answers 404 NoSuchKey).
  return rc == BP_ERR_NOT_FOUND ? BP_ERR_PRECONDITION : rc;
}

int S3Client::Head(std::string_view key, uint64_t* size, std::string* error) const {
  Call call;
  call.method = "HEAD";
  call.path = options_.location.ObjectPath(options_.location.prefix + std::string(key));
  bphttp::HttpResponse response = Send(call);
  if (response.status >= 200 && response.status < 300) {
    const std::string* length = response.Header("content-length");
    *size = length != nullptr ? std::strtoull(length->c_str(), nullptr, 10) : 0;
    return BP_OK;
  }
  return Fail(response, "head of " + ObjectUrl(key), error);
}

int S3Client::Get(std::string_view key, std::string* out, std::string* error,
                  std::string* etag) const {
  Call call;
  call.method = "GET";
  call.path = options_.location.ObjectPath(options_.location.prefix + std::string(key));
  bphttp::HttpResponse response = Send(call);
  if (response.status >= 200 && response.status < 300) {
    *out = std::move(response.body);
    if (etag != nullptr) {
      const std::string* tag = response.Header("etag");
      etag->assign(tag != nullptr ? *tag : "");
    }
    return BP_OK;
  }
  return Fail(response, "get of " + ObjectUrl(key), error);
}

int S3Client::Read(std::string_view key, uint64_t offset, uint64_t length, void* buf,
                   uint64_t* nread, std::string* error) const {
  *nread = 0;
  if (length == 0) {
    uint64_t size = 0;
    return Head(key, &size, error);  // nothing to read, but a missing object is still an error
  }
  if (offset + length < offset) {
    *error = "S3 read of " + ObjectUrl(key) + ": offset + length overflows";
    return BP_ERR_INVALID;
  }
  Call call;
  call.method = "GET";
  call.path = options_.location.ObjectPath(options_.location.prefix + std::string(key));
  call.headers.emplace_back(
      "Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  call.sink = buf;
  call.sink_capacity = length;
  bphttp::HttpResponse response = Send(call);
  std::string what = "ranged get of " + ObjectUrl(key) + " bytes " + std::to_string(offset) + "+" +
                     std::to_string(length);
  if (response.status == 206 && !response.sink_overflow) {
    const std::string* range = response.Header("content-range");
    uint64_t start = 0, end = 0;
    if (range == nullptr || !ParseContentRange(*range, &start, &end) || start != offset ||
        end - start + 1 != response.sink_bytes) {
      *error = "S3 " + what + ": the store returned a different range (" +
               (range != nullptr ? *range : std::string("no Content-Range")) + ") than asked";
      return BP_ERR_TRANSIENT;
    }
    *nread = response.sink_bytes;
    return BP_OK;
  }
  if (response.status == 200) {
    // The store ignored the Range header and sent the object from its start. That is the
    // answer when it fits and we asked from offset 0; otherwise fetch it whole and slice.
    if (offset == 0 && !response.sink_overflow) {
      *nread = response.sink_bytes;
      return BP_OK;
    }
    return ReadWithoutRange(key, offset, length, buf, nread, error);
  }
  if (response.status == 416) return BP_OK;  // offset at or past the end: nothing to read
  return Fail(response, what, error);
}

int S3Client::ReadWithoutRange(std::string_view key, uint64_t offset, uint64_t length, void* buf,
                               uint64_t* nread, std::string* error) const {
  std::string whole;
  int rc = Get(key, &whole, error);
  if (rc != BP_OK) return rc;
  if (offset >= whole.size()) return BP_OK;
  *nread = std::min<uint64_t>(length, whole.size() - offset);
  std::memcpy(buf, whole.data() + offset, *nread);
  return BP_OK;
}

int S3Client::Delete(std::string_view key, std::string* error) const {
  Call call;
  call.method = "DELETE";
  call.path = options_.location.ObjectPath(options_.location.prefix + std::string(key));
  bphttp::HttpResponse response = Send(call);
  if (response.status >= 200 && response.status < 300) return BP_OK;
  return Fail(response, "delete of " + ObjectUrl(key), error);
}

int S3Client::DeleteMany(const char* const* keys, size_t count, int* results,
                         std::string* error) const {
  size_t batch = std::max<size_t>(1, std::min<size_t>(options_.delete_batch, 1000));
  for (size_t first = 0; first < count; first += batch) {
    size_t n = std::min(batch, count - first);
    int rc = DeleteBatch(keys + first, n, results + first, error);
    if (rc != BP_OK) {
      // The keys of this and later batches were not (known to be) deleted.
      std::fill(results + first, results + count, rc);
      return rc;
    }
  }
  return BP_OK;
}

int S3Client::DeleteBatch(const char* const* keys, size_t count, int* results,
                          std::string* error) const {
  std::vector<std::string> full_keys;
  full_keys.reserve(count);
  for (size_t i = 0; i < count; ++i) full_keys.push_back(options_.location.prefix + keys[i]);
  std::string body = BuildDeleteRequest(full_keys);
  Call call;
  call.method = "POST";
  call.path = options_.location.BucketPath();
  call.query = {{"delete", ""}};
  call.body = body.data();
  call.body_length = body.size();
  call.headers.emplace_back("Content-MD5",
                            bphttp::Base64Encode(bphttp::Md5Raw(body.data(), body.size())));
  call.headers.emplace_back("Content-Type", "application/xml");
  bphttp::HttpResponse response = Send(call);
  std::string what =
      "multi-delete of " + std::to_string(count) + " keys in s3://" + options_.location.bucket;
  if (response.status < 200 || response.status >= 300) return Fail(response, what, error);
  std::vector<DeleteFailure> failures;
  std::string parse_error;
  if (!ParseDeleteResult(response.body, &failures, &parse_error)) {
    *error = "S3 " + what + ": " + parse_error;
    return BP_ERR_TRANSIENT;
  }
  std::fill(results, results + count, BP_OK);
  std::multimap<std::string, size_t> index;
  for (size_t i = 0; i < count; ++i) index.emplace(full_keys[i], i);
  for (const DeleteFailure& failure : failures) {
    int cls = ClassOfS3Code(failure.code);
    if (cls == 0) cls = BP_ERR_PERMANENT;
    auto [begin, end] = index.equal_range(failure.key);
    for (auto it = begin; it != end; ++it) results[it->second] = cls;
  }
  return BP_OK;
}

int S3Client::List(std::string_view prefix, std::string_view cursor, ListObjectsPage* page,
                   std::string* error) const {
  const S3Location& loc = options_.location;
  Call call;
  call.method = "GET";
  call.path = loc.BucketPath();
  call.query = {{"list-type", "2"},
                {"max-keys", std::to_string(std::max<size_t>(
                                 1, std::min<size_t>(options_.list_page_size, 1000)))},
                {"prefix", loc.prefix + std::string(prefix)}};
  if (!cursor.empty()) call.query.emplace_back("continuation-token", std::string(cursor));
  bphttp::HttpResponse response = Send(call);
  std::string what = "list of s3://" + loc.bucket + "/" + loc.prefix + std::string(prefix) + "*";
  if (response.status < 200 || response.status >= 300) return Fail(response, what, error);
  std::string parse_error;
  if (!ParseListObjectsV2(response.body, page, &parse_error)) {
    *error = "S3 " + what + ": " + parse_error;
    return BP_ERR_TRANSIENT;
  }
  for (auto& [key, size] : page->objects) {
    if (key.compare(0, loc.prefix.size(), loc.prefix) != 0) {
      *error = "S3 " + what + ": the store listed key \"" + key + "\" outside the prefix";
      return BP_ERR_PERMANENT;
    }
    key.erase(0, loc.prefix.size());
  }
  return BP_OK;
}

}  // namespace s3backend
