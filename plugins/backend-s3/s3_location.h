// Where objects live: the bucket and key prefix from the user's url (s3://BUCKET/PREFIX), the
// endpoint, the region, and whether requests address the bucket by path
// (https://host/BUCKET/key) or by virtual host (https://BUCKET.host/key). Everything a request
// needs to name an object — the Host header, the path that is signed and sent, the origin —
// comes from here, so signing and the wire can never disagree.
#ifndef BLOCKPIPE_BACKEND_S3_S3_LOCATION_H
#define BLOCKPIPE_BACKEND_S3_S3_LOCATION_H

#include <string>
#include <string_view>

#include "uri.h"

namespace s3backend {

enum class Addressing { kAuto, kPath, kVirtual };

struct S3LocationInputs {
  std::string url;         // "s3://BUCKET" or "s3://BUCKET/PREFIX"
  std::string endpoint;    // empty: https://s3.<region>.amazonaws.com
  std::string region;      // already resolved (config, environment or us-east-1)
  std::string addressing;  // "auto", "path" or "virtual"
  bool allow_http = false;
};

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or ending in '/': every key the host passes is appended to it
  std::string region;
  bphttp::Endpoint endpoint;
  bool virtual_hosted = false;

  // Host header value and the scheme://host[:port] the requests go to.
  std::string Host() const;
  std::string Origin() const;
  // Decoded request path of the bucket itself ("/BUCKET" or "/") and of an object whose full
  // key (prefix included) is `object_key`.
  std::string BucketPath() const;
  std::string ObjectPath(std::string_view object_key) const;
  // "s3://BUCKET/PREFIX" for messages.
  std::string Url() const;
};

// Parse and validate; BP_OK or BP_ERR_INVALID with *error set.
int BuildS3Location(const S3LocationInputs& inputs, S3Location* out, std::string* error);

// True when `endpoint` is one of AWS's own (s3.amazonaws.com, s3.<region>.amazonaws.com,
// *.amazonaws.com.cn …), where virtual-hosted addressing is the default.
bool IsAwsEndpoint(const bphttp::Endpoint& endpoint);

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_S3_LOCATION_H
