// Classification of Blob service responses into the SDK's error classes: the service's error
// code overrides the bare status where they disagree, authentication failures say which secret
// was rejected, and a lost connection is transient.
#include <blockpipe/bp_common.h>
#include <gtest/gtest.h>

#include <string>

#include "azure_errors.h"

namespace azurebackend {
namespace {

bphttp::HttpResponse Response(long status, const std::string& code, bool in_header = true) {
  bphttp::HttpResponse r;
  r.status = status;
  if (!code.empty()) {
    if (in_header) r.headers.emplace_back("x-ms-error-code", code);
    r.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code +
             "</Code><Message>Service says " + code + ".\nRequestId:1\nTime:2</Message></Error>";
  }
  return r;
}

int ClassOf(long status, const std::string& code, bool in_header = true) {
  return ClassifyResponse(Response(status, code, in_header), "put", "k", AuthMode::kSharedKey).code;
}

TEST(AzureErrors, ServiceCodesRefineTheStatus) {
  EXPECT_EQ(ClassOf(201, ""), BP_OK);
  EXPECT_EQ(ClassOf(409, "BlobAlreadyExists"), BP_ERR_PRECONDITION);
  EXPECT_EQ(ClassOf(412, "ConditionNotMet"), BP_ERR_PRECONDITION);
  EXPECT_EQ(ClassOf(404, "BlobNotFound"), BP_ERR_NOT_FOUND);
  EXPECT_EQ(ClassOf(404, "ContainerNotFound"), BP_ERR_PERMANENT);
  EXPECT_EQ(ClassOf(503, "ServerBusy"), BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassOf(500, "OperationTimedOut"), BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassOf(500, "InternalError"), BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassOf(403, "AuthenticationFailed"), BP_ERR_PERMANENT);
  EXPECT_EQ(ClassOf(400, "InvalidBlockList"), BP_ERR_PERMANENT);
  EXPECT_EQ(ClassOf(409, "LeaseIdMissing"), BP_ERR_PERMANENT);
  EXPECT_EQ(ClassOf(502, ""), BP_ERR_TRANSIENT);
}

TEST(AzureErrors, CodeFromTheBodyWhenTheHeaderIsMissing) {
  AzureFailure f = ClassifyResponse(Response(409, "BlobAlreadyExists", false), "put", "vol/seg/1",
                                    AuthMode::kSharedKey);
  EXPECT_EQ(f.code, BP_ERR_PRECONDITION);
  EXPECT_EQ(f.error_code, "BlobAlreadyExists");
  EXPECT_EQ(f.message,
            "put vol/seg/1: HTTP 409 BlobAlreadyExists: Service says BlobAlreadyExists.");
}

TEST(AzureErrors, AuthenticationFailureNamesTheRejectedSecret) {
  AzureFailure key = ClassifyResponse(Response(403, "AuthenticationFailed"), "list", "container c",
                                      AuthMode::kSharedKey);
  EXPECT_EQ(key.code, BP_ERR_PERMANENT);
  EXPECT_NE(key.message.find("the account key was rejected"), std::string::npos) << key.message;
  AzureFailure sas = ClassifyResponse(Response(403, "AuthorizationFailure"), "list", "container c",
                                      AuthMode::kSas);
  EXPECT_NE(sas.message.find("the SAS token was rejected"), std::string::npos) << sas.message;
  AzureFailure perm = ClassifyResponse(Response(403, "AuthorizationPermissionMismatch"), "put", "k",
                                       AuthMode::kSas);
  EXPECT_NE(perm.message.find("permission"), std::string::npos) << perm.message;
}

TEST(AzureErrors, NoResponseIsTransientAndSaysWhy) {
  bphttp::HttpResponse r;
  r.transport_error = "Failed to connect to 127.0.0.1 port 1";
  AzureFailure f = ClassifyResponse(r, "read", "vol/seg/1", AuthMode::kSharedKey);
  EXPECT_EQ(f.code, BP_ERR_TRANSIENT);
  EXPECT_NE(f.message.find("no response"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("port 1"), std::string::npos) << f.message;
}

TEST(AzureErrors, SinkOverflowIsAnError) {
  bphttp::HttpResponse r;
  r.status = 200;
  r.sink_overflow = true;
  AzureFailure f = ClassifyResponse(r, "read", "k", AuthMode::kSharedKey);
  EXPECT_NE(f.code, BP_OK);
  EXPECT_NE(f.code, BP_ERR_TRANSIENT);
}

TEST(AzureErrors, NonXmlBodyStillClassifiesByStatus) {
  bphttp::HttpResponse r;
  r.status = 503;
  r.body = "<html>Service Unavailable</html>";
  AzureFailure f = ClassifyResponse(r, "get", "k", AuthMode::kSharedKey);
  EXPECT_EQ(f.code, BP_ERR_TRANSIENT);
  EXPECT_EQ(f.message, "get k: HTTP 503");
}

}  // namespace
}  // namespace azurebackend
