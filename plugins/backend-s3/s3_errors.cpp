// The S3 error-code table. Codes not listed fall back to the HTTP status classes of the shared
// HTTP layer (5xx and 429 transient, 404 not found, 412 precondition, the rest permanent).
#include "s3_errors.h"

#include <blockpipe/bp_common.h>

#include "status_class.h"

namespace s3backend {

int ClassOfS3Code(std::string_view code) {
  struct Entry {
    const char* code;
    int cls;
  };
  static const Entry kTable[] = {
      {"SlowDown", BP_ERR_TRANSIENT},
      {"ServiceUnavailable", BP_ERR_TRANSIENT},
      {"InternalError", BP_ERR_TRANSIENT},
      {"RequestTimeout", BP_ERR_TRANSIENT},
      {"ConditionalRequestConflict", BP_ERR_TRANSIENT},
      {"OperationAborted", BP_ERR_TRANSIENT},
      {"RequestTimeTooSkewed", BP_ERR_PERMANENT},
      {"NoSuchKey", BP_ERR_NOT_FOUND},
      {"NoSuchBucket", BP_ERR_PERMANENT},
      {"AccessDenied", BP_ERR_PERMANENT},
      {"SignatureDoesNotMatch", BP_ERR_PERMANENT},
      {"InvalidAccessKeyId", BP_ERR_PERMANENT},
      {"InvalidToken", BP_ERR_PERMANENT},
      {"ExpiredToken", BP_ERR_PERMANENT},
      {"AuthorizationHeaderMalformed", BP_ERR_PERMANENT},
      {"PermanentRedirect", BP_ERR_PERMANENT},
      {"BadDigest", BP_ERR_TRANSIENT},  // body damaged in transit; a resend carries it intact
      {"XAmzContentSHA256Mismatch", BP_ERR_TRANSIENT},
      {"PreconditionFailed", BP_ERR_PRECONDITION},
  };
  for (const Entry& entry : kTable) {
    if (code == entry.code) return entry.cls;
  }
  return 0;
}

S3Failure ClassifyS3Response(const bphttp::HttpResponse& response) {
  S3Failure failure;
  failure.code = bphttp::ClassifyHttp(response);
  if (response.status == 0) {
    failure.summary = "no response (" +
                      (response.transport_error.empty() ? std::string("connection failed")
                                                        : response.transport_error) +
                      ")";
    return failure;
  }
  if (failure.code == BP_OK) return failure;
  if (response.sink_overflow) {
    failure.summary = "HTTP " + std::to_string(response.status) + ": " + response.transport_error;
    return failure;
  }
  failure.summary = "HTTP " + std::to_string(response.status);
  if (ParseErrorDocument(response.body, &failure.document)) {
    int cls = ClassOfS3Code(failure.document.code);
    if (cls != 0) failure.code = cls;
    failure.summary += " " + failure.document.code;
    if (!failure.document.message.empty()) failure.summary += ": " + failure.document.message;
  }
  return failure;
}

}  // namespace s3backend
