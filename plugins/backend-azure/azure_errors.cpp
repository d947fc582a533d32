// Error classification for the Blob service. The generic HTTP mapping (bphttp::ClassifyHttp)
// handles statuses; the service's error codes then override it where the status alone would
// mislead:
//   ServerBusy, OperationTimedOut, InternalError            → transient (any status)
//   BlobAlreadyExists (409), ConditionNotMet (412)          → precondition: put-if-absent lost
//   BlobNotFound (404)                                      → not found
//   ContainerNotFound (404)                                 → permanent: the whole store is
//                                                             gone, not one object
//   AuthenticationFailed, AuthorizationFailure … (403)      → permanent, with a sentence saying
//                                                             the key or SAS token was rejected
#include "azure_errors.h"

#include <blockpipe/bp_common.h>

#include "blob_xml.h"
#include "status_class.h"

namespace azurebackend {
namespace {

bool IsOneOf(const std::string& code, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (code == name) return true;
  }
  return false;
}

std::string AuthSentence(const std::string& code, AuthMode auth) {
  if (code == "AuthenticationFailed" || code == "AuthorizationFailure" ||
      code == "InvalidAuthenticationInfo" || code.empty()) {
    return auth == AuthMode::kSharedKey
               ? "the account key was rejected (wrong key for this account?)"
               : "the SAS token was rejected (expired, revoked, or for another account?)";
  }
  if (code == "AuthorizationPermissionMismatch" || code == "AuthorizationResourceTypeMismatch" ||
      code == "AuthorizationServiceMismatch") {
    return "the credentials lack a permission this operation needs (a SAS token needs "
           "services b, resource types co and permissions rwdl)";
  }
  return "the request was not authorized";
}

}  // namespace

AzureFailure ClassifyResponse(const bphttp::HttpResponse& response, const std::string& operation,
                              const std::string& target, AuthMode auth) {
  AzureFailure f;
  f.status = response.status;
  f.code = bphttp::ClassifyHttp(response);
  const std::string where = operation + " " + target;
  if (response.status == 0) {
    f.message = where + ": no response from the service: " +
                (response.transport_error.empty() ? std::string("connection failed")
                                                  : response.transport_error);
    return f;
  }
  if (f.code == BP_OK) return f;
  if (response.status >= 200 && response.status < 300) {
    // 2xx with an overflowing sink: more bytes than the request allowed for.
    f.message = where + ": the service sent more data than was asked for";
    return f;
  }

  std::string body_code, body_message;
  ParseErrorBody(response.body, &body_code, &body_message);
  const std::string* header_code = response.Header("x-ms-error-code");
  f.error_code = header_code != nullptr && !header_code->empty() ? *header_code : body_code;
  const std::string& ec = f.error_code;

  if (IsOneOf(ec, {"ServerBusy", "OperationTimedOut", "InternalError"})) {
    f.code = BP_ERR_TRANSIENT;
  } else if (IsOneOf(ec, {"BlobAlreadyExists", "ConditionNotMet", "TargetConditionNotMet"})) {
    f.code = BP_ERR_PRECONDITION;
  } else if (ec == "BlobNotFound") {
    f.code = BP_ERR_NOT_FOUND;
  } else if (ec == "ContainerNotFound" || ec == "ContainerBeingDeleted") {
    f.code = BP_ERR_PERMANENT;
  }

  f.message = where + ": HTTP " + std::to_string(response.status);
  if (!ec.empty()) f.message += " " + ec;
  if (response.status == 401 || response.status == 403) {
    f.code = BP_ERR_PERMANENT;
    f.message += ": " + AuthSentence(ec, auth);
  } else if (ec == "ContainerNotFound") {
    f.message += ": the container does not exist";
  } else if (!body_message.empty()) {
    f.message += ": " + body_message;
  }
  return f;
}

}  // namespace azurebackend
