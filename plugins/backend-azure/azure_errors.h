// From an HTTP response of the Blob service to an SDK error class and a message for the user.
// The class decides what the host does (RetryingStore retries only BP_ERR_TRANSIENT until
// [engine] retry_deadline_ms), so it is refined from the service's own error code, which
// arrives in the x-ms-error-code header and in the XML body: a 409 BlobAlreadyExists is a lost
// put-if-absent, a ServerBusy is worth retrying whatever its status, an AuthenticationFailed
// never is.
#pragma once

#include <string>

#include "azure_settings.h"
#include "http_client.h"

namespace azurebackend {

struct AzureFailure {
  int code = 0;            // BP_* class
  long status = 0;         // HTTP status, 0 when no response arrived
  std::string error_code;  // the service's code ("BlobNotFound"), "" if none
  std::string message;     // one line for set_error / the log; no credentials
};

// Classify `response` to `operation` ("put", "list" …) on `target` (a blob name or
// "container NAME"). Returns code BP_OK for a 2xx that did not overflow its sink. `auth` picks
// the wording of authentication failures (a rejected key vs. a rejected SAS token).
AzureFailure ClassifyResponse(const bphttp::HttpResponse& response, const std::string& operation,
                              const std::string& target, AuthMode auth);

}  // namespace azurebackend
