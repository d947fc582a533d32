// Where the backend's location and credentials come from, resolved once at open(): the
// [backend] keys, then the environment (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY,
// AZURE_STORAGE_SAS_TOKEN), then a connection string (the `connection_string` key or
// AZURE_STORAGE_CONNECTION_STRING). The result says which source each credential came from so
// startup messages can name it, and never holds a secret in any message.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "azure_location.h"
#include "uri.h"

namespace azurebackend {

// The Blob service version every request pins with x-ms-version. Azure serves it, and azurite
// 3.35.0 accepts it; changing it changes what the service may send back (docs/plugins).
inline constexpr const char* kApiVersion = "2021-08-06";

// The emulator's documented development account and key (public; they open nothing but an
// emulator). Used only for a connection string with UseDevelopmentStorage=true.
inline constexpr const char* kDevelopmentAccount = "devstoreaccount1";
inline constexpr const char* kDevelopmentKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

enum class AuthMode { kSharedKey, kSas };

// What open() read from the config; empty strings mean "not set".
struct SettingsInput {
  std::string url;
  std::string endpoint;
  std::string account;
  std::string account_key;
  std::string sas_token;
  std::string connection_string;
  bool allow_http = false;
  // Environment lookup ("" when unset); tests pass their own.
  std::function<std::string(const char* name)> env;
};

struct ResolvedSettings {
  ContainerLocation location;
  bphttp::Endpoint endpoint;
  std::string endpoint_text;  // as configured or derived, for messages (never has credentials)
  std::string account;
  AuthMode auth = AuthMode::kSharedKey;
  std::string decoded_key;        // Shared Key: the account key, base64-decoded
  std::string sas_token;          // SAS: the token as a query string, without a leading '?'
  std::string credential_source;  // e.g. "account_key", "$AZURE_STORAGE_SAS_TOKEN"
};

// Parse "Name=value;Name=value" (values may contain '='; empty parts are skipped). Names are
// matched case-insensitively and returned as given. False with *error on a part without '='.
bool ParseConnectionString(const std::string& text, std::map<std::string, std::string>* out,
                           std::string* error);

// Resolve everything; false with *error (a sentence for the user) when something is missing,
// malformed or contradictory.
bool ResolveSettings(const SettingsInput& input, ResolvedSettings* out, std::string* error);

}  // namespace azurebackend
