// The HTTP status → SDK error class table shared by the remote backends.
#include "status_class.h"

#include <blockpipe/bp_common.h>

namespace bphttp {

int ClassifyHttp(const HttpResponse& response) {
  long status = response.status;
  if (status >= 200 && status < 300) {
    return response.sink_overflow ? BP_ERR_PERMANENT : BP_OK;
  }
  switch (status) {
    case 0:    // no response at all: refused, reset, timed out, DNS
    case 408:  // request timeout
    case 429:  // too many requests
    case 500:
    case 502:
    case 503:
    case 504: return BP_ERR_TRANSIENT;
    case 404: return BP_ERR_NOT_FOUND;
    case 412: return BP_ERR_PRECONDITION;
    default: return BP_ERR_PERMANENT;
  }
}

const char* ErrorClassName(int code) {
  switch (code) {
    case BP_OK: return "ok";
    case BP_ERR_TRANSIENT: return "transient";
    case BP_ERR_PERMANENT: return "permanent";
    case BP_ERR_NOT_FOUND: return "not found";
    case BP_ERR_PRECONDITION: return "precondition failed";
    case BP_ERR_UNSUPPORTED: return "unsupported";
    case BP_ERR_CORRUPT: return "corrupt";
    case BP_ERR_INVALID: return "invalid";
    default: return "unknown error";
  }
}

}  // namespace bphttp
