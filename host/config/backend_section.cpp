// RenderBackendSection and CheckInitOptions: the storage part of `blockpipe init`. A user who
// runs `init --url s3://bucket/prefix --endpoint http://127.0.0.1:7480` should get a config that
// starts as is, with the credentials coming from the environment they already use for the AWS or
// Azure tools — never a secret in the file. The key names are those the s3 and azure backend
// plugins declare (plugins/backend-*/plugin.cpp); every key written gets a comment, and the
// credential keys a user may want instead of the environment are shown commented out, as
// ${VAR} references. Options that cannot work together (an endpoint for a directory, a URL
// without a bucket) are refused before anything is written.
#include <sstream>
#include <string_view>

#include "config/backend_section.h"

namespace bp {
namespace {

// The scheme of a URL ("s3" for "s3://b/p"), or empty when it has none.
std::string SchemeOf(const std::string& url) {
  const size_t at = url.find("://");
  return at == std::string::npos ? std::string() : url.substr(0, at);
}

// The first path element after the scheme: the bucket or container.
std::string FirstElement(const std::string& url) {
  const size_t start = url.find("://") + 3;
  const size_t slash = url.find('/', start);
  return url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
}

void RenderS3(const InitOptions& options, const std::string& url,
              std::string (*quote)(const std::string&), std::ostringstream& o) {
  o << "# Objects live in an S3 bucket under a prefix: s3://BUCKET/PREFIX. Any S3-compatible\n"
       "# store works (AWS, Ceph RGW, MinIO, Cloudflare R2 ...). The bucket must exist.\n"
    << "url = " << quote(url) << "\n";
  if (!options.endpoint.empty()) {
    o << "# The store's endpoint (http:// is accepted for loopback addresses only, unless\n"
         "# allow_http = true). Remove it for AWS, which is then reached at\n"
         "# https://s3.REGION.amazonaws.com.\n"
      << "endpoint = " << quote(options.endpoint) << "\n";
  } else {
    o << "# The store's endpoint, for stores other than AWS (which is reached at\n"
         "# https://s3.REGION.amazonaws.com), e.g.:\n"
         "# endpoint = \"https://minio.example.net:9000\"\n";
  }
  if (!options.region.empty() || !options.endpoint.empty()) {
    o << "# Region in the request signatures: the bucket's region on AWS; most other stores\n"
         "# accept us-east-1.\n"
      << "region = " << quote(options.region.empty() ? "us-east-1" : options.region) << "\n";
  } else {
    o << "# Region in the request signatures: the bucket's region. Unset, it is $AWS_REGION,\n"
         "# then $AWS_DEFAULT_REGION, then us-east-1.\n"
         "# region = \"eu-west-1\"\n";
  }
  o << "# \"path\" (https://HOST/BUCKET/key), \"virtual\" (https://BUCKET.HOST/key) or \"auto\"\n"
       "# (virtual-hosted on AWS, path-style on custom endpoints and IP addresses).\n"
    << "addressing = " << quote(options.endpoint.empty() ? "auto" : "path") << "\n"
    << "# Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for\n"
       "# temporary ones) in the daemon's environment, else the shared credentials file\n"
       "# (~/.aws/credentials, profile $AWS_PROFILE or \"default\"; see `profile` and\n"
       "# `credentials_file`). To set them here, reference variables rather than writing the\n"
       "# secret into this file:\n"
       "# access_key_id = \"${AWS_ACCESS_KEY_ID}\"\n"
       "# secret_access_key = \"${AWS_SECRET_ACCESS_KEY}\"\n"
       "# session_token = \"${AWS_SESSION_TOKEN}\"\n";
}

void RenderAzure(const InitOptions& options, const std::string& url,
                 std::string (*quote)(const std::string&), std::ostringstream& o) {
  o << "# Objects live in an Azure Blob container under a prefix: azure://CONTAINER/PREFIX.\n"
       "# The container must exist.\n"
    << "url = " << quote(url) << "\n";
  if (!options.endpoint.empty()) {
    o << "# The Blob service endpoint. Emulators and other path-style services name the\n"
         "# account in the path (http://127.0.0.1:10000/ACCOUNT); remove it for Azure, which\n"
         "# is then reached at https://ACCOUNT.blob.core.windows.net.\n"
      << "endpoint = " << quote(options.endpoint) << "\n";
  } else {
    o << "# The Blob service endpoint. Unset, it is https://ACCOUNT.blob.core.windows.net; set it\n"
         "# for sovereign clouds or an emulator (path-style, account in the path), e.g.:\n"
         "# endpoint = \"http://127.0.0.1:10000/devstoreaccount1\"\n";
  }
  o << "# Credentials: the account from the endpoint's path or AZURE_STORAGE_ACCOUNT, and\n"
       "# AZURE_STORAGE_KEY (Shared Key) or AZURE_STORAGE_SAS_TOKEN (a SAS with services b,\n"
       "# resource types co, permissions rwdl) in the daemon's environment; or\n"
       "# AZURE_STORAGE_CONNECTION_STRING. To set them here, reference variables rather than\n"
       "# writing the secret into this file:\n"
       "# account = \"${AZURE_STORAGE_ACCOUNT}\"\n"
       "# account_key = \"${AZURE_STORAGE_KEY}\"\n"
       "# sas_token = \"${AZURE_STORAGE_SAS_TOKEN}\"\n";
}

}  // namespace

Status CheckInitOptions(const InitOptions& options) {
  if (options.url.empty()) return Status::Ok();  // the file default
  const std::string scheme = SchemeOf(options.url);
  if (scheme.empty()) {
    return Status::Invalid(
        "--url " + options.url +
        ": expected file:///DIR, s3://BUCKET/PREFIX or azure://CONTAINER/PREFIX");
  }
  if (scheme == "file") {
    if (!options.endpoint.empty()) {
      return Status::Invalid("--endpoint is for s3:// and azure:// URLs; a file:// URL needs none");
    }
  } else if ((scheme == "s3" || scheme == "azure") && FirstElement(options.url).empty()) {
    return Status::Invalid(
        "--url " + options.url + ": no " +
        (scheme == "s3" ? "bucket (s3://BUCKET/PREFIX)" : "container (azure://CONTAINER/PREFIX)"));
  }
  if (!options.endpoint.empty() && SchemeOf(options.endpoint) != "http" &&
      SchemeOf(options.endpoint) != "https") {
    return Status::Invalid("--endpoint " + options.endpoint +
                           ": expected http://HOST[:PORT] or https://HOST[:PORT]");
  }
  if (!options.region.empty() && scheme != "s3") {
    return Status::Invalid("--region is for s3:// URLs");
  }
  return Status::Ok();
}

std::string RenderBackendSection(const InitOptions& options, const std::string& url,
                                 std::string (*quote)(const std::string&)) {
  std::ostringstream o;
  o << "[backend]\n"
       "# The backend plugin is chosen by the URL scheme; set plugin = \"name\" to force one.\n";
  const std::string scheme = SchemeOf(url);
  if (scheme == "s3") {
    RenderS3(options, url, quote, o);
  } else if (scheme == "azure") {
    RenderAzure(options, url, quote, o);
  } else {
    o << "# Where objects live: file:///DIR, s3://BUCKET/PREFIX or azure://CONTAINER/PREFIX\n"
         "# (`blockpipe init --url ... --endpoint ...` writes the settings each needs).\n"
      << "url = " << quote(url) << "\n";
    if (!options.endpoint.empty()) {
      o << "# Service endpoint for the object store.\n"
        << "endpoint = " << quote(options.endpoint) << "\n";
    }
  }
  return o.str();
}

}  // namespace bp
