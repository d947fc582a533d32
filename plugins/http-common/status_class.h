// Maps an HTTP outcome to the SDK's error classes, so the host's retry policy (RetryingStore)
// retries exactly what can succeed later. Backends refine the result with the store's own error
// codes from the response body (an S3 SlowDown is transient whatever its status).
#ifndef BLOCKPIPE_HTTP_COMMON_STATUS_CLASS_H
#define BLOCKPIPE_HTTP_COMMON_STATUS_CLASS_H

#include "http_client.h"

namespace bphttp {

// BP_OK for 2xx; no response (status 0), 408, 429, 500, 502, 503, 504 → BP_ERR_TRANSIENT;
// 404 → BP_ERR_NOT_FOUND; 412 → BP_ERR_PRECONDITION; 401, 403 and everything else →
// BP_ERR_PERMANENT. A 2xx whose body overflowed the sink is BP_ERR_PERMANENT (the object is
// larger than the caller allowed for).
int ClassifyHttp(const HttpResponse& response);

// Name of an SDK error class for messages: "transient", "permanent", "not found" …
const char* ErrorClassName(int code);

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_STATUS_CLASS_H
