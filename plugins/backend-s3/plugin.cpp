// The S3 backend's ABI surface: config keys, the open sequence (validate config, resolve
// credentials, prove the bucket answers, probe put-if-absent and put-if-match), the bp_backend_plugin table and
// the registration. Callbacks convert C arguments, call S3Client inside Guard() — which turns an
// escaping C++ exception into BP_ERR_PERMANENT, since none may cross into the host — and count
// requests and errors per operation in the host's metrics.
#include <blockpipe/bp_backend.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "plugin_support.h"
#include "put_if_absent_probe.h"
#include "put_if_match_probe.h"
#include "s3_client.h"
#include "status_class.h"

namespace s3backend {
namespace {

constexpr const char* kName = "s3";

using bpplugin::ConfigBool;
using bpplugin::ConfigIntInRange;
using bpplugin::ConfigString;

int Fail(int code, const std::string& message) { return bpplugin::SetError(code, message); }

void Log(int level, const std::string& message) { bp_host->log(level, kName, message.c_str()); }

void Count(const char* metric, int64_t delta) {
  if (bp_host->metric_add != nullptr) bp_host->metric_add(kName, metric, delta);
}

template <typename Fn>
int Guard(const char* operation, Fn&& fn) noexcept {
  return bpplugin::Guard("s3 backend: ", operation, std::forward<Fn>(fn));
}

// Run one client call: count it, and pass a failure's message to the host.
template <typename Fn>
int Request(const char* operation, const char* requests_metric, const char* errors_metric,
            Fn&& fn) noexcept {
  return Guard(operation, [&] {
    std::string error;
    Count(requests_metric, 1);
    int rc = fn(&error);
    if (rc != BP_OK && rc != BP_ERR_NOT_FOUND) Count(errors_metric, 1);
    if (rc != BP_OK) return Fail(rc, error);
    return BP_OK;
  });
}

struct Backend {
  std::unique_ptr<S3Client> client;
  uint64_t capabilities = 0;
};

Backend* BackendOf(void* handle) { return static_cast<Backend*>(handle); }

const char* const kUrlSchemes[] = {"s3", nullptr};

const struct bp_config_key kConfigKeys[] = {
    {"endpoint", BP_CFG_STRING, nullptr, 0,
     "S3 endpoint URL, e.g. http://127.0.0.1:7480 for a local Ceph RGW or MinIO. Default: "
     "https://s3.<region>.amazonaws.com."},
    {"region", BP_CFG_STRING, nullptr, 0,
     "Region used in the signature. Default: $AWS_REGION, then $AWS_DEFAULT_REGION, then "
     "us-east-1."},
    {"addressing", BP_CFG_STRING, "auto", 0,
     "\"path\" (https://host/BUCKET/key), \"virtual\" (https://BUCKET.host/key) or \"auto\": "
     "virtual-hosted on AWS endpoints, path-style on custom endpoints and IP addresses."},
    {"access_key_id", BP_CFG_STRING, nullptr, 0,
     "Access key id. With secret_access_key it takes precedence over the environment and the "
     "shared credentials file."},
    {"secret_access_key", BP_CFG_SECRET, nullptr, 0,
     "Secret access key (never logged). Use \"${VARIABLE}\" to keep it out of the file."},
    {"session_token", BP_CFG_SECRET, nullptr, 0,
     "Session token of temporary credentials (never logged)."},
    {"profile", BP_CFG_STRING, nullptr, 0,
     "Profile in the shared credentials file. Setting it makes that file the credential source. "
     "Default: $AWS_PROFILE, then \"default\"."},
    {"credentials_file", BP_CFG_PATH, nullptr, 0,
     "Shared credentials file. Setting it makes that file the credential source. Default: "
     "$AWS_SHARED_CREDENTIALS_FILE, then ~/.aws/credentials."},
    {"allow_http", BP_CFG_BOOL, "false", 0,
     "Accept a plain http:// endpoint on a non-loopback host (data and requests unencrypted). "
     "http:// to 127.0.0.1, ::1 or localhost is always accepted."},
    {"verify_tls", BP_CFG_BOOL, "true", 0,
     "Verify the endpoint's TLS certificate and host name. Turn off only for testing."},
    {"ca_file", BP_CFG_PATH, nullptr, 0, "CA bundle for TLS verification. Default: the system's."},
    {"connect_timeout_ms", BP_CFG_INT, "5000", 0,
     "Limit for establishing a connection (TCP and TLS), in milliseconds."},
    {"request_timeout_ms", BP_CFG_INT, "60000", 0,
     "Limit for one whole request, in milliseconds. A request that exceeds it fails as transient "
     "and is retried by the host within [engine] retry_deadline_ms."},
    {"delete_batch", BP_CFG_INT, "1000", 0, "Keys per DeleteObjects request (1 to 1000)."},
    {"max_idle_connections", BP_CFG_INT, "32", 0,
     "Connections kept open for reuse between requests (1 to 1024)."},
    {nullptr, 0, nullptr, 0, nullptr},
};

// Probe If-Match with the ETag quoted (AWS), then bare (Ceph RGW); leaves the client on the form
// the store honours. False when neither works.
bool ProbeIfMatch(S3Client& client, std::string* detail) {
  bphttp::ConditionalPutOps ops;
  ops.put = [&client](const std::string& key, const std::string& body) {
    std::string ignored;
    return client.Put(key, body.data(), body.size(), /*if_absent=*/false, &ignored);
  };
  ops.get_tagged = [&client](const std::string& key, std::string* body, std::string* tag) {
    std::string ignored;
    return client.Get(key, body, &ignored, tag);
  };
  ops.put_if_match = [&client](const std::string& key, const std::string& body,
                               const std::string& tag, std::string* new_tag) {
    std::string ignored;
    return client.PutIfMatch(key, body.data(), body.size(), tag, new_tag, &ignored);
  };
  ops.del = [&client](const std::string& key) {
    std::string ignored;
    return client.Delete(key, &ignored);
  };
  std::string quoted, bare;
  client.SetIfMatchUnquoted(false);
  if (bphttp::ProbePutIfMatch(ops, &quoted)) {
    *detail = quoted + ", ETag quoted";
    return true;
  }
  client.SetIfMatchUnquoted(true);
  if (bphttp::ProbePutIfMatch(ops, &bare)) {
    *detail = bare + ", ETag unquoted";
    return true;
  }
  client.SetIfMatchUnquoted(false);
  *detail = "with the ETag quoted: " + quoted + "; unquoted: " + bare;
  return false;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int OpenBackend(const struct bp_config* cfg, const char* url, void** handle) {
  std::string error;
  S3LocationInputs where;
  where.url = url;
  where.endpoint = ConfigString(cfg, "endpoint");
  where.region = ConfigString(cfg, "region");
  if (where.region.empty())
    where.region = EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", "us-east-1"));
  where.addressing = ConfigString(cfg, "addressing");
  where.allow_http = ConfigBool(cfg, "allow_http", false);

  S3ClientOptions options;
  int rc = BuildS3Location(where, &options.location, &error);
  if (rc != BP_OK) return Fail(rc, "s3 backend: " + error);

  CredentialInputs secrets;
  secrets.access_key_id = ConfigString(cfg, "access_key_id");
  secrets.secret_access_key = ConfigString(cfg, "secret_access_key");
  secrets.session_token = ConfigString(cfg, "session_token");
  secrets.profile = ConfigString(cfg, "profile");
  secrets.credentials_file = ConfigString(cfg, "credentials_file");
  secrets.getenv = [](const char* name) -> const char* { return std::getenv(name); };
  rc = ResolveCredentials(secrets, &options.credentials, &error);
  if (rc != BP_OK) {
    return Fail(rc, "s3 backend: " + options.location.Url() + ": " + error);
  }

  int64_t connect_ms = 5000, request_ms = 60000, batch = 1000, idle = 32;
  if (!ConfigIntInRange(cfg, "connect_timeout_ms", 1, 600000, &connect_ms, &error) ||
      !ConfigIntInRange(cfg, "request_timeout_ms", 1, 3600000, &request_ms, &error) ||
      !ConfigIntInRange(cfg, "delete_batch", 1, 1000, &batch, &error) ||
      !ConfigIntInRange(cfg, "max_idle_connections", 1, 1024, &idle, &error)) {
    return Fail(BP_ERR_INVALID, "s3 backend: " + error);
  }
  options.http.connect_timeout_ms = connect_ms;
  options.http.request_timeout_ms = request_ms;
  options.http.verify_tls = ConfigBool(cfg, "verify_tls", true);
  options.http.ca_file = ConfigString(cfg, "ca_file");
  options.http.max_idle_handles = static_cast<size_t>(idle);
  options.delete_batch = static_cast<size_t>(batch);

  const bool verify_tls = options.http.verify_tls;
  auto backend = std::make_unique<Backend>();
  backend->client = std::make_unique<S3Client>(std::move(options));
  S3Client& client = *backend->client;
  const S3Location& loc = client.location();
  if (!verify_tls) {
    Log(BP_LOG_WARN, "verify_tls = false for " + loc.endpoint.Origin() +
                         ": the endpoint's identity is not checked");
  }
  rc = client.CheckBucket(&error);
  if (rc != BP_OK) return Fail(rc, "s3 backend: " + error);

  std::string probe_detail;
  bool fenced = bphttp::ProbePutIfAbsent(
      // Each attempt writes different bytes, so the second cannot pass as a retry of the first.
      [&client, attempt = 0](const std::string& key, bool if_absent) mutable {
        std::string ignored;
        std::string body =
            "blockpipe put-if-absent probe, attempt " + std::to_string(++attempt) + "\n";
        return client.Put(key, body.data(), body.size(), if_absent, &ignored);
      },
      [&client](const std::string& key) {
        std::string ignored;
        return client.Delete(key, &ignored);
      },
      &probe_detail);
  backend->capabilities = BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_DELETE_MANY |
                          BP_BACKEND_CAP_LIST_PAGES | BP_BACKEND_CAP_DURABLE_PUT;
  std::string summary = loc.Url() + " at " + loc.endpoint.Origin() + " (" +
                        (loc.virtual_hosted ? "virtual-hosted" : "path-style") + ", region " +
                        loc.region + ", credentials from " + client.credentials().source + ")";
  if (fenced) {
    backend->capabilities |= BP_BACKEND_CAP_PUT_IF_ABSENT;
    Log(BP_LOG_INFO, summary + ": put-if-absent honoured (" + probe_detail + ")");
  } else {
    Log(BP_LOG_WARN, summary + ": put-if-absent is NOT honoured by this store: " + probe_detail +
                         "; a second writer cannot be fenced, so volumes open for writing only "
                         "with [engine] allow_unfenced = true");
  }
  std::string match_detail;
  if (ProbeIfMatch(client, &match_detail)) {
    backend->capabilities |= BP_BACKEND_CAP_CONDITIONAL_PUT;
    Log(BP_LOG_INFO, summary + ": put-if-match honoured (" + match_detail + ")");
  } else {
    Log(BP_LOG_WARN,
        summary + ": put-if-match (If-Match) is NOT honoured by this store: " + match_detail +
            "; ownership records and metadata could not be replaced "
            "safely, so volumes open for writing only with [engine] allow_unfenced = true");
  }
  *handle = backend.release();
  return BP_OK;
}

int S3Open(const struct bp_config* config, const char* url, void** handle) {
  *handle = nullptr;
  return Guard("open", [&] {
    if (url == nullptr) return Fail(BP_ERR_INVALID, "s3 backend: no url configured");
    return OpenBackend(config, url, handle);
  });
}

void S3Close(void* handle) { delete BackendOf(handle); }

uint64_t S3Capabilities(void* handle) { return BackendOf(handle)->capabilities; }

int S3Get(void* handle, const char* key, struct bp_buf* out) {
  return Request("get", "get_requests", "get_errors", [&](std::string* error) {
    std::string body;
    int rc = BackendOf(handle)->client->Get(key, &body, error);
    if (rc != BP_OK) return rc;
    Count("bytes_read", static_cast<int64_t>(body.size()));
    if (!body.empty() && bp_host->buf_append(out, body.data(), body.size()) != 0) {
      *error = "s3 backend: out of memory appending " + std::to_string(body.size()) + " bytes";
      return BP_ERR_PERMANENT;
    }
    return BP_OK;
  });
}

int S3Read(void* handle, const char* key, uint64_t offset, uint64_t length, void* buf,
           uint64_t* nread) {
  *nread = 0;
  return Request("read", "read_requests", "read_errors", [&](std::string* error) {
    int rc = BackendOf(handle)->client->Read(key, offset, length, buf, nread, error);
    if (rc == BP_OK) Count("bytes_read", static_cast<int64_t>(*nread));
    return rc;
  });
}

int S3Put(void* handle, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Request("put", "put_requests", "put_errors", [&](std::string* error) {
    int rc =
        BackendOf(handle)->client->Put(key, data, length, (flags & BP_PUT_IF_ABSENT) != 0, error);
    if (rc == BP_OK) Count("bytes_written", static_cast<int64_t>(length));
    return rc;
  });
}

int S3GetTagged(void* handle, const char* key, struct bp_buf* out, char* tag) {
  return Request("get", "get_requests", "get_errors", [&](std::string* error) {
    std::string body, etag;
    int rc = BackendOf(handle)->client->Get(key, &body, error, &etag);
    if (rc != BP_OK) return rc;
    if (etag.empty() || etag.size() >= BP_VERSION_TAG_MAX) {
      *error = "s3 backend: get of " + std::string(key) + ": the store returned no usable ETag";
      return BP_ERR_PERMANENT;
    }
    Count("bytes_read", static_cast<int64_t>(body.size()));
    if (!body.empty() && bp_host->buf_append(out, body.data(), body.size()) != 0) {
      *error = "s3 backend: out of memory appending " + std::to_string(body.size()) + " bytes";
      return BP_ERR_PERMANENT;
    }
    std::memcpy(tag, etag.c_str(), etag.size() + 1);
    return BP_OK;
  });
}

int S3PutIfMatch(void* handle, const char* key, const void* data, uint64_t length,
                 const char* expected_tag, char* new_tag) {
  return Request("put", "put_requests", "put_errors", [&](std::string* error) {
    std::string etag;
    int rc = BackendOf(handle)->client->PutIfMatch(key, data, length, expected_tag, &etag, error);
    if (rc != BP_OK) return rc;
    Count("bytes_written", static_cast<int64_t>(length));
    // A tag the host could not hold is simply not reported; it reads the object back instead.
    if (etag.size() >= BP_VERSION_TAG_MAX) etag.clear();
    std::memcpy(new_tag, etag.c_str(), etag.size() + 1);
    return BP_OK;
  });
}

int S3Delete(void* handle, const char* key) {
  return Request("delete", "delete_requests", "delete_errors",
                 [&](std::string* error) { return BackendOf(handle)->client->Delete(key, error); });
}

int S3List(void* handle, const char* prefix, const char* cursor, struct bp_list* out) {
  return Request("list", "list_requests", "list_errors", [&](std::string* error) {
    ListObjectsPage page;
    int rc = BackendOf(handle)->client->List(prefix != nullptr ? prefix : "",
                                             cursor != nullptr ? cursor : "", &page, error);
    if (rc != BP_OK) return rc;
    for (const auto& [key, size] : page.objects) {
      if (bp_host->list_add(out, key.c_str(), size) != 0) {
        *error = "s3 backend: the host refused a listed key";
        return BP_ERR_PERMANENT;
      }
    }
    if (page.truncated) bp_host->list_set_next(out, page.next_continuation_token.c_str());
    return BP_OK;
  });
}

int S3DeleteMany(void* handle, const char* const* keys, size_t count, int* results) {
  return Request("delete_many", "delete_many_requests", "delete_many_errors",
                 [&](std::string* error) {
                   return BackendOf(handle)->client->DeleteMany(keys, count, results, error);
                 });
}

}  // namespace
}  // namespace s3backend

static struct bp_backend_plugin s3_backend_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "s3", "1.0",
                  "objects in an S3 bucket (AWS, Ceph RGW, MinIO, R2 …), SigV4 over libcurl"},
    /* url_schemes */ s3backend::kUrlSchemes,
    /* config_keys */ s3backend::kConfigKeys,
    /* open */ s3backend::S3Open,
    /* close */ s3backend::S3Close,
    /* capabilities */ s3backend::S3Capabilities,
    /* get */ s3backend::S3Get,
    /* read */ s3backend::S3Read,
    /* put */ s3backend::S3Put,
    /* del */ s3backend::S3Delete,
    /* list */ s3backend::S3List,
    /* delete_many */ s3backend::S3DeleteMany,
    /* get_tagged */ s3backend::S3GetTagged,
    /* put_if_match */ s3backend::S3PutIfMatch,
    /* put_parts: the host joins the parts; an HTTP body of parts would gain little */ nullptr,
};

BP_REGISTER_BACKEND(s3_backend_plugin, BP_THREAD_PARALLEL)
