// Resolution of the Azure location and credentials. The precedence, first match wins:
//   endpoint     `endpoint`, connection-string BlobEndpoint, connection-string protocol + account
//                + EndpointSuffix, UseDevelopmentStorage, https://ACCOUNT.blob.core.windows.net
//   account      the path of a path-style endpoint, `account`, $AZURE_STORAGE_ACCOUNT,
//                connection-string AccountName (an explicit `account` contradicting the endpoint
//                path is an error: every signature would fail)
//   credentials  `account_key`, `sas_token`, $AZURE_STORAGE_KEY, $AZURE_STORAGE_SAS_TOKEN,
//                connection-string AccountKey, then SharedAccessSignature
// Plain http is refused for anything but loopback unless allow_http is set, because a SAS token
// in the URL and the data would travel in the clear.
#include "azure_settings.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "crypto.h"
#include "text.h"

namespace azurebackend {
namespace {

class ConnectionString {
 public:
  std::string Get(const char* name) const {
    auto it = parts_.find(bphttp::AsciiLower(name));
    return it != parts_.end() ? it->second : std::string();
  }
  bool Load(const std::string& text, const std::string& source, std::string* error) {
    std::map<std::string, std::string> raw;
    if (!ParseConnectionString(text, &raw, error)) {
      *error = "the connection string from " + source + " is malformed: " + *error;
      return false;
    }
    for (auto& [name, value] : raw) parts_[bphttp::AsciiLower(name)] = value;
    source_ = source;
    return true;
  }
  const std::string& source() const { return source_; }
  bool empty() const { return parts_.empty(); }

 private:
  std::map<std::string, std::string> parts_;
  std::string source_;
};

// The endpoint the connection string implies, "" if none.
std::string ConnectionStringEndpoint(const ConnectionString& cs) {
  std::string blob = cs.Get("BlobEndpoint");
  if (!blob.empty()) return blob;
  if (bphttp::AsciiLower(cs.Get("UseDevelopmentStorage")) == "true") {
    return std::string("http://127.0.0.1:10000/") + kDevelopmentAccount;
  }
  std::string account = cs.Get("AccountName");
  if (account.empty()) return std::string();
  std::string protocol = cs.Get("DefaultEndpointsProtocol");
  std::string suffix = cs.Get("EndpointSuffix");
  return (protocol.empty() ? std::string("https") : bphttp::AsciiLower(protocol)) + "://" +
         account + ".blob." + (suffix.empty() ? std::string("core.windows.net") : suffix);
}

bool AcceptKey(const std::string& key_text, const std::string& source, ResolvedSettings* out,
               std::string* error) {
  std::string decoded;
  if (!bphttp::Base64Decode(bphttp::TrimSpace(key_text), &decoded) || decoded.empty()) {
    *error = "the account key from " + source + " is not valid base64";
    return false;
  }
  out->auth = AuthMode::kSharedKey;
  out->decoded_key = std::move(decoded);
  out->credential_source = source;
  return true;
}

bool AcceptSas(const std::string& token_text, const std::string& source, ResolvedSettings* out,
               std::string* error) {
  std::string token = bphttp::TrimSpace(token_text);
  if (!token.empty() && token.front() == '?') token.erase(0, 1);
  for (unsigned char c : token) {
    if (c <= ' ' || c == '#' || c >= 0x7f) {
      *error = "the SAS token from " + source +
               " contains a character that cannot appear in a URL query (space, '#' or non-ASCII)";
      return false;
    }
  }
  bool has_sig = token.rfind("sig=", 0) == 0 || token.find("&sig=") != std::string::npos;
  if (!has_sig) {
    *error = "the SAS token from " + source +
             " has no sig= parameter; give the query string of "
             "a SAS URL (sv=...&sig=...)";
    return false;
  }
  out->auth = AuthMode::kSas;
  out->sas_token = std::move(token);
  out->credential_source = source;
  return true;
}

}  // namespace

bool ParseConnectionString(const std::string& text, std::map<std::string, std::string>* out,
                           std::string* error) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t semi = text.find(';', start);
    std::string part = bphttp::TrimSpace(
        text.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string::npos || eq == 0) {
        // Never echo the part: it may be (a piece of) a key.
        *error = "a part is not Name=value";
        return false;
      }
      (*out)[bphttp::TrimSpace(part.substr(0, eq))] = bphttp::TrimSpace(part.substr(eq + 1));
    }
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  return true;
}

bool ResolveSettings(const SettingsInput& input, ResolvedSettings* out, std::string* error) {
  auto env = [&](const char* name) { return input.env ? input.env(name) : std::string(); };
  ResolvedSettings r;
  if (!ParseAzureUrl(input.url, &r.location, error)) return false;

  ConnectionString cs;
  if (!input.connection_string.empty()) {
    if (!cs.Load(input.connection_string, "connection_string", error)) return false;
  } else if (std::string text = env("AZURE_STORAGE_CONNECTION_STRING"); !text.empty()) {
    if (!cs.Load(text, "$AZURE_STORAGE_CONNECTION_STRING", error)) return false;
  }

  // The endpoint first: a path-style endpoint fixes the account.
  std::string endpoint_text = input.endpoint;
  if (endpoint_text.empty()) endpoint_text = ConnectionStringEndpoint(cs);
  std::string path_account;
  if (!endpoint_text.empty()) {
    std::string why;
    if (!bphttp::ParseEndpoint(endpoint_text, &r.endpoint, &why)) {
      *error = "endpoint `" + endpoint_text + "`: " + why;
      return false;
    }
    if (!PathStyleAccount(r.endpoint, &path_account, error)) return false;
  }

  if (!path_account.empty()) {
    if (!input.account.empty() && input.account != path_account) {
      *error = "account `" + input.account +
               "` contradicts the endpoint, whose path names account `" + path_account + "`";
      return false;
    }
    r.account = path_account;
  } else if (!input.account.empty()) {
    r.account = input.account;
  } else if (std::string a = env("AZURE_STORAGE_ACCOUNT"); !a.empty()) {
    r.account = a;
  } else if (std::string a = cs.Get("AccountName"); !a.empty()) {
    r.account = a;
  } else if (bphttp::AsciiLower(cs.Get("UseDevelopmentStorage")) == "true") {
    r.account = kDevelopmentAccount;
  }
  if (r.account.empty()) {
    *error =
        "no storage account: set `account` in [backend], AZURE_STORAGE_ACCOUNT, or an "
        "endpoint of the form http(s)://HOST/ACCOUNT";
    return false;
  }
  if (!ValidAccountName(r.account)) {
    *error = "account `" + r.account +
             "` is not a storage account name (3-24 lower-case letters "
             "and digits)";
    return false;
  }

  if (endpoint_text.empty()) {
    endpoint_text = "https://" + r.account + ".blob.core.windows.net";
    std::string why;
    if (!bphttp::ParseEndpoint(endpoint_text, &r.endpoint, &why)) {
      *error = "endpoint `" + endpoint_text + "`: " + why;
      return false;
    }
  }
  r.endpoint_text = endpoint_text;
  if (r.endpoint.scheme == "http" && !r.endpoint.loopback && !input.allow_http) {
    *error = "endpoint `" + endpoint_text +
             "` uses plain http to a host that is not loopback; "
             "use https, or set allow_http = true to accept data and SAS tokens in the clear";
    return false;
  }

  if (!input.account_key.empty()) {
    if (!AcceptKey(input.account_key, "account_key", &r, error)) return false;
  } else if (!input.sas_token.empty()) {
    if (!AcceptSas(input.sas_token, "sas_token", &r, error)) return false;
  } else if (std::string k = env("AZURE_STORAGE_KEY"); !k.empty()) {
    if (!AcceptKey(k, "$AZURE_STORAGE_KEY", &r, error)) return false;
  } else if (std::string s = env("AZURE_STORAGE_SAS_TOKEN"); !s.empty()) {
    if (!AcceptSas(s, "$AZURE_STORAGE_SAS_TOKEN", &r, error)) return false;
  } else if (std::string k = cs.Get("AccountKey"); !k.empty()) {
    if (!AcceptKey(k, "the connection string in " + cs.source(), &r, error)) return false;
  } else if (std::string s = cs.Get("SharedAccessSignature"); !s.empty()) {
    if (!AcceptSas(s, "the connection string in " + cs.source(), &r, error)) return false;
  } else if (bphttp::AsciiLower(cs.Get("UseDevelopmentStorage")) == "true") {
    if (!AcceptKey(kDevelopmentKey, "the development storage account", &r, error)) return false;
  } else {
    *error = "no credentials for account `" + r.account +
             "`: set account_key or sas_token in "
             "[backend] (e.g. \"${AZURE_STORAGE_KEY}\"), or AZURE_STORAGE_KEY, "
             "AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING in the environment";
    return false;
  }
  *out = std::move(r);
  return true;
}

}  // namespace azurebackend
