// Where the S3 backend's access key comes from. The chain, first match wins:
//   1. access_key_id + secret_access_key (+ session_token) in the [backend] section;
//   2. a profile or credentials_file named explicitly in the [backend] section: that file;
//   3. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) in the environment;
//   4. the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), profile
//      $AWS_PROFILE or "default", when it exists.
// Half a key pair anywhere is an error rather than a fall-through, so a typo cannot silently
// pick up other credentials. Secrets are never part of an error message.
#ifndef BLOCKPIPE_BACKEND_S3_S3_CREDENTIALS_H
#define BLOCKPIPE_BACKEND_S3_S3_CREDENTIALS_H

#include <functional>
#include <string>

namespace s3backend {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty without temporary credentials
  std::string source;         // where they came from, for the log: "config", "environment" …
};

struct CredentialInputs {
  // Values of the [backend] keys; empty means not set.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string profile;
  std::string credentials_file;
  // Environment lookup (returns nullptr when unset); getenv in the plugin, a map in tests.
  std::function<const char*(const char*)> getenv;
};

// BP_OK with *out filled, or BP_ERR_INVALID with *error saying what is missing or inconsistent.
int ResolveCredentials(const CredentialInputs& inputs, S3Credentials* out, std::string* error);

// Read one profile of an AWS shared credentials file. Sections are "[name]" (or "[profile
// name]"); keys aws_access_key_id, aws_secret_access_key, aws_session_token. BP_OK,
// BP_ERR_NOT_FOUND (no such file or profile) or BP_ERR_INVALID (unreadable, incomplete), with
// *error set on failure.
int ReadSharedCredentials(const std::string& path, const std::string& profile, S3Credentials* out,
                          std::string* error);

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_S3_CREDENTIALS_H
