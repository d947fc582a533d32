// Url and endpoint validation for the S3 backend, and the two addressing styles. Auto picks
// virtual hosts on AWS (path-style is deprecated there) but only for bucket names that are valid
// DNS labels without dots, since a dotted bucket breaks the TLS wildcard certificate; custom
// endpoints (RGW, MinIO, IP addresses) get path-style, which they all support.
#include "s3_location.h"

#include <blockpipe/bp_common.h>

#include <cctype>

namespace s3backend {
namespace {

// Bucket names as S3-compatible stores accept them for path-style requests: AWS's rules plus
// the legacy upper-case and underscore forms some stores still hold.
bool ValidBucketName(std::string_view name, std::string* why) {
  if (name.size() < 3 || name.size() > 255) {
    *why = "must be 3 to 255 characters long";
    return false;
  }
  for (unsigned char c : name) {
    if (std::isalnum(c) == 0 && c != '-' && c != '.' && c != '_') {
      *why = "may contain only letters, digits, '-', '.' and '_'";
      return false;
    }
  }
  return true;
}

// A bucket that can be the first label of a virtual host name under TLS.
bool DnsSafeBucket(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  if (name.front() == '-' || name.back() == '-') return false;
  for (unsigned char c : name) {
    if (!(std::islower(c) != 0 || std::isdigit(c) != 0 || c == '-')) return false;
  }
  return true;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

bool IsAwsEndpoint(const bphttp::Endpoint& endpoint) {
  return EndsWith(endpoint.host, ".amazonaws.com") || EndsWith(endpoint.host, ".amazonaws.com.cn");
}

std::string S3Location::Host() const {
  bphttp::Endpoint target = endpoint;
  if (virtual_hosted) target.host = bucket + "." + endpoint.host;
  return target.Authority();
}

std::string S3Location::Origin() const { return endpoint.scheme + "://" + Host(); }

std::string S3Location::BucketPath() const {
  return virtual_hosted ? endpoint.path + "/" : endpoint.path + "/" + bucket;
}

std::string S3Location::ObjectPath(std::string_view object_key) const {
  std::string path = virtual_hosted ? endpoint.path + "/" : endpoint.path + "/" + bucket + "/";
  path.append(object_key);
  return path;
}

std::string S3Location::Url() const {
  std::string out = "s3://" + bucket;
  if (!prefix.empty()) out += "/" + prefix.substr(0, prefix.size() - 1);
  return out;
}

int BuildS3Location(const S3LocationInputs& inputs, S3Location* out, std::string* error) {
  *out = S3Location();
  std::string_view url = inputs.url;
  if (url.rfind("s3://", 0) != 0) {
    *error = "url \"" + inputs.url + "\" must look like s3://BUCKET or s3://BUCKET/PREFIX";
    return BP_ERR_INVALID;
  }
  std::string_view rest = url.substr(5);
  size_t slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  std::string why;
  if (!ValidBucketName(bucket, &why)) {
    *error = "bucket name \"" + std::string(bucket) + "\" in url \"" + inputs.url + "\" " + why;
    return BP_ERR_INVALID;
  }
  out->bucket = std::string(bucket);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (prefix.find("//") != std::string_view::npos || (!prefix.empty() && prefix.front() == '/')) {
      *error = "prefix in url \"" + inputs.url + "\" must not contain empty path segments";
      return BP_ERR_INVALID;
    }
    for (unsigned char c : prefix) {
      if (c < 0x20 || c == 0x7f) {
        *error = "prefix in url \"" + inputs.url + "\" contains a control character";
        return BP_ERR_INVALID;
      }
    }
    if (!prefix.empty()) out->prefix = std::string(prefix) + "/";
  }

  out->region = inputs.region.empty() ? "us-east-1" : inputs.region;
  for (unsigned char c : out->region) {
    if (std::isalnum(c) == 0 && c != '-') {
      *error = "region \"" + out->region + "\" may contain only letters, digits and '-'";
      return BP_ERR_INVALID;
    }
  }
  std::string endpoint_text =
      inputs.endpoint.empty() ? "https://s3." + out->region + ".amazonaws.com" : inputs.endpoint;
  if (!bphttp::ParseEndpoint(endpoint_text, &out->endpoint, error)) return BP_ERR_INVALID;
  if (out->endpoint.scheme == "http" && !out->endpoint.loopback && !inputs.allow_http) {
    *error = "endpoint " + endpoint_text +
             " is plain http to a non-loopback host: requests and data would cross the network "
             "unencrypted; use https, or set allow_http = true if that is intended";
    return BP_ERR_INVALID;
  }

  if (inputs.addressing == "path") {
    out->virtual_hosted = false;
  } else if (inputs.addressing == "virtual") {
    if (out->endpoint.ip_literal) {
      *error = "addressing = \"virtual\" needs a host name endpoint, not the IP address " +
               out->endpoint.host;
      return BP_ERR_INVALID;
    }
    if (!DnsSafeBucket(out->bucket) &&
        (out->endpoint.scheme == "https" || out->bucket.find_first_of("_") != std::string::npos)) {
      *error = "bucket \"" + out->bucket +
               "\" cannot be addressed as a virtual host (it is not a DNS label without dots); "
               "use addressing = \"path\"";
      return BP_ERR_INVALID;
    }
    out->virtual_hosted = true;
  } else if (inputs.addressing.empty() || inputs.addressing == "auto") {
    out->virtual_hosted = IsAwsEndpoint(out->endpoint) && DnsSafeBucket(out->bucket);
  } else {
    *error =
        "addressing must be \"auto\", \"path\" or \"virtual\", not \"" + inputs.addressing + "\"";
    return BP_ERR_INVALID;
  }
  return BP_OK;
}

}  // namespace s3backend
