// The credential chain and a small reader for AWS shared credentials files (INI: sections,
// key = value, '#' and ';' comments). Only the three keys the backend needs are read; anything
// else in the file (region, role settings) is ignored.
#include "s3_credentials.h"
#include "text.h"

#include <blockpipe/bp_common.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace s3backend {
namespace {

std::string Env(const CredentialInputs& inputs, const char* name) {
  if (!inputs.getenv) return "";
  const char* value = inputs.getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

}  // namespace

int ReadSharedCredentials(const std::string& path, const std::string& profile, S3Credentials* out,
                          std::string* error) {
  std::ifstream file(path);
  if (!file) {
    int err = errno;
    *error = "cannot open the shared credentials file " + path + ": " + std::strerror(err);
    return err == ENOENT ? BP_ERR_NOT_FOUND : BP_ERR_INVALID;
  }
  bool in_profile = false;
  bool found_profile = false;
  S3Credentials found;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    std::string text = bphttp::TrimSpace(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[') {
      if (text.back() != ']') {
        *error = path + ":" + std::to_string(line_number) + ": malformed section header";
        return BP_ERR_INVALID;
      }
      std::string name = bphttp::TrimSpace(text.substr(1, text.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = bphttp::TrimSpace(name.substr(8));
      in_profile = name == profile;
      found_profile = found_profile || in_profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    std::string key = bphttp::AsciiLower(bphttp::TrimSpace(text.substr(0, eq)));
    std::string value = bphttp::TrimSpace(text.substr(eq + 1));
    if (key == "aws_access_key_id") found.access_key_id = value;
    if (key == "aws_secret_access_key") found.secret_access_key = value;
    if (key == "aws_session_token") found.session_token = value;
  }
  if (!found_profile) {
    *error = "profile \"" + profile + "\" is not in the shared credentials file " + path;
    return BP_ERR_NOT_FOUND;
  }
  if (found.access_key_id.empty() || found.secret_access_key.empty()) {
    *error = "profile \"" + profile + "\" in " + path +
             " lacks aws_access_key_id or aws_secret_access_key";
    return BP_ERR_INVALID;
  }
  found.source = "shared credentials file " + path + " (profile " + profile + ")";
  *out = found;
  return BP_OK;
}

int ResolveCredentials(const CredentialInputs& inputs, S3Credentials* out, std::string* error) {
  // 1. The config section.
  bool has_id = !inputs.access_key_id.empty();
  bool has_secret = !inputs.secret_access_key.empty();
  if (has_id != has_secret) {
    *error = has_id ? "access_key_id is set but secret_access_key is not"
                    : "secret_access_key is set but access_key_id is not";
    return BP_ERR_INVALID;
  }
  if (has_id) {
    *out = {inputs.access_key_id, inputs.secret_access_key, inputs.session_token, "config"};
    return BP_OK;
  }
  if (!inputs.session_token.empty()) {
    *error = "session_token is set without access_key_id and secret_access_key";
    return BP_ERR_INVALID;
  }

  std::string file = inputs.credentials_file;
  if (file.empty()) file = Env(inputs, "AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = Env(inputs, "HOME");
    if (!home.empty()) file = home + "/.aws/credentials";
  }
  std::string profile = inputs.profile;
  if (profile.empty()) profile = Env(inputs, "AWS_PROFILE");
  if (profile.empty()) profile = "default";

  // 2. A file or profile the config names explicitly must be used (and must work).
  if (!inputs.profile.empty() || !inputs.credentials_file.empty()) {
    if (file.empty()) {
      *error = "profile is set but no credentials file is known (set credentials_file or HOME)";
      return BP_ERR_INVALID;
    }
    int rc = ReadSharedCredentials(file, profile, out, error);
    return rc == BP_OK ? BP_OK : BP_ERR_INVALID;
  }

  // 3. The environment.
  std::string env_id = Env(inputs, "AWS_ACCESS_KEY_ID");
  std::string env_secret = Env(inputs, "AWS_SECRET_ACCESS_KEY");
  if (!env_id.empty() || !env_secret.empty()) {
    if (env_id.empty() || env_secret.empty()) {
      *error = env_id.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                              : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not";
      return BP_ERR_INVALID;
    }
    *out = {env_id, env_secret, Env(inputs, "AWS_SESSION_TOKEN"), "environment"};
    return BP_OK;
  }

  // 4. The default shared credentials file, if there is one.
  if (!file.empty()) {
    std::string file_error;
    int rc = ReadSharedCredentials(file, profile, out, &file_error);
    if (rc == BP_OK) return BP_OK;
    if (rc != BP_ERR_NOT_FOUND || !Env(inputs, "AWS_PROFILE").empty()) {
      *error = file_error;
      return BP_ERR_INVALID;
    }
  }
  *error =
      "no S3 credentials found: set access_key_id and secret_access_key in [backend] (for "
      "example from ${VARIABLES}), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
      "environment, or a profile in " +
      (file.empty() ? std::string("~/.aws/credentials") : file);
  return BP_ERR_INVALID;
}

}  // namespace s3backend
