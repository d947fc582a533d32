// Parsing of azure:// URLs and building of request URLs. Validation is strict on purpose: a
// container or prefix the service would reject, or would silently map to a different name,
// fails at startup with the rule it broke instead of as an HTTP 400 on the first write.
#include "azure_location.h"

#include <cctype>

namespace azurebackend {
namespace {

constexpr std::string_view kScheme = "azure://";

bool ValidContainerName(std::string_view name, std::string* why) {
  if (name.size() < 3 || name.size() > 63) {
    *why = "must be 3 to 63 characters long";
    return false;
  }
  for (unsigned char c : name) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) {
      *why = "may contain only lower-case letters, digits and '-'";
      return false;
    }
  }
  if (name.front() == '-' || name.back() == '-') {
    *why = "must start and end with a letter or digit";
    return false;
  }
  if (name.find("--") != std::string_view::npos) {
    *why = "must not contain \"--\"";
    return false;
  }
  return true;
}

bool ValidPrefix(std::string_view prefix, std::string* why) {
  if (prefix.size() > 512) {
    *why = "is longer than 512 characters";
    return false;
  }
  size_t start = 0;
  while (start <= prefix.size()) {
    size_t slash = prefix.find('/', start);
    std::string_view segment = prefix.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      *why = "has an empty path segment (\"//\")";
      return false;
    }
    if (segment == "." || segment == "..") {
      *why = "has a \".\" or \"..\" segment";
      return false;
    }
    for (unsigned char c : segment) {
      if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) {
        *why = "may contain only letters, digits, '.', '_', '-' and '/'";
        return false;
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

bool ParseAzureUrl(std::string_view url, ContainerLocation* out, std::string* error) {
  if (url.substr(0, kScheme.size()) != kScheme) {
    *error = "url `" + std::string(url) + "` must start with azure:// (azure://CONTAINER/PREFIX)";
    return false;
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view container = rest.substr(0, slash);
  std::string_view prefix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string why;
  if (container.empty()) {
    *error = "url `" + std::string(url) + "` names no container (azure://CONTAINER/PREFIX)";
    return false;
  }
  if (!ValidContainerName(container, &why)) {
    *error = "container name `" + std::string(container) + "` in url " + why;
    return false;
  }
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!prefix.empty() && !ValidPrefix(prefix, &why)) {
    *error = "prefix `" + std::string(prefix) + "` in url " + why;
    return false;
  }
  out->container = std::string(container);
  out->prefix = prefix.empty() ? std::string() : std::string(prefix) + "/";
  return true;
}

bool ValidKey(std::string_view key) {
  std::string why;
  return !key.empty() && key.size() <= 512 && ValidPrefix(key, &why);
}

bool ValidAccountName(std::string_view account) {
  if (account.size() < 3 || account.size() > 24) return false;
  for (unsigned char c : account) {
    if (!(std::islower(c) || std::isdigit(c))) return false;
  }
  return true;
}

bool PathStyleAccount(const bphttp::Endpoint& endpoint, std::string* account, std::string* error) {
  std::string_view path = endpoint.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find('/') != std::string_view::npos) {
    *error = "endpoint path `" + endpoint.path +
             "` has more than one segment; a path-style endpoint is http(s)://HOST:PORT/ACCOUNT";
    return false;
  }
  *account = std::string(path);
  return true;
}

BlobAddressing::BlobAddressing(bphttp::Endpoint endpoint, std::string container)
    : endpoint_(std::move(endpoint)), container_(std::move(container)) {
  while (!endpoint_.path.empty() && endpoint_.path.back() == '/') endpoint_.path.pop_back();
}

std::string BlobAddressing::ContainerPath() const {
  return bphttp::UriEncode(endpoint_.path, false) + "/" + container_;
}

std::string BlobAddressing::BlobPath(std::string_view blob_name) const {
  return ContainerPath() + "/" + bphttp::UriEncode(blob_name, false);
}

std::string BlobAddressing::Url(const std::string& encoded_path, const QueryList& query,
                                std::string_view sas_token) const {
  std::string url = endpoint_.Origin() + encoded_path;
  char separator = '?';
  for (const auto& [name, value] : query) {
    url += separator;
    url += bphttp::UriEncode(name, true);
    url += '=';
    url += bphttp::UriEncode(value, true);
    separator = '&';
  }
  if (!sas_token.empty()) {
    url += separator;
    url += sas_token;
  }
  return url;
}

}  // namespace azurebackend
