// Turns an S3 response into the SDK's error classes and a message a user can act on. The store's
// own error code wins over the HTTP status: a 503 SlowDown and a 500 InternalError are retried,
// a 404 NoSuchBucket is not "object not found" but a broken configuration, and a 409
// ConditionalRequestConflict (two conditional writes racing) is worth retrying.
#ifndef BLOCKPIPE_BACKEND_S3_S3_ERRORS_H
#define BLOCKPIPE_BACKEND_S3_S3_ERRORS_H

#include <string>
#include <string_view>

#include "http_client.h"
#include "s3_xml.h"

namespace s3backend {

// SDK class for an S3 error code ("SlowDown" → BP_ERR_TRANSIENT …), or 0 when the code is not one
// the backend knows (the HTTP status decides then).
int ClassOfS3Code(std::string_view code);

struct S3Failure {
  int code = 0;         // BP_OK or a BP_ERR_* class
  std::string summary;  // "HTTP 403 AccessDenied: Access Denied" / "no response (…)"
  S3ErrorDocument document;
};

// Classify a response (BP_OK for 2xx without sink overflow).
S3Failure ClassifyS3Response(const bphttp::HttpResponse& response);

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_S3_ERRORS_H
