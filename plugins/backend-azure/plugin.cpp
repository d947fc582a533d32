// The Azure Blob backend's ABI surface: its config keys, the bp_backend_plugin table and the
// registration. open() turns the [backend] section and the environment into ResolvedSettings
// and opens an AzureStore (which checks the container and probes put-if-absent); every callback
// runs inside Guard(), which turns an escaping C++ exception into BP_ERR_PERMANENT with a
// message, because no exception may cross into the host.
#include <blockpipe/bp_backend.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "azure_settings.h"
#include "azure_store.h"
#include "plugin_support.h"

namespace azurebackend {
namespace {

using bpplugin::ConfigBool;
using bpplugin::ConfigString;

template <typename Fn>
int Guard(const char* operation, Fn&& fn) noexcept {
  return bpplugin::Guard("", operation, std::forward<Fn>(fn));
}

AzureStore* StoreOf(void* handle) { return static_cast<AzureStore*>(handle); }

const char* const kUrlSchemes[] = {"azure", nullptr};

const struct bp_config_key kConfigKeys[] = {
    {"endpoint", BP_CFG_STRING, nullptr, 0,
     "Blob service endpoint. Default https://ACCOUNT.blob.core.windows.net; for sovereign clouds "
     "their blob host; for emulators the path-style form http://127.0.0.1:10000/ACCOUNT."},
    {"account", BP_CFG_STRING, nullptr, 0,
     "Storage account name. Default: the account in a path-style endpoint, else "
     "$AZURE_STORAGE_ACCOUNT, else the connection string's AccountName."},
    {"account_key", BP_CFG_SECRET, nullptr, 0,
     "Account key (base64) for Shared Key authorization. Default $AZURE_STORAGE_KEY. Write "
     "\"${AZURE_STORAGE_KEY}\" rather than the key itself."},
    {"sas_token", BP_CFG_SECRET, nullptr, 0,
     "Shared access signature (the query string of a SAS URL) used instead of a key. Default "
     "$AZURE_STORAGE_SAS_TOKEN. Needs services b, resource types co, permissions rwdl."},
    {"connection_string", BP_CFG_SECRET, nullptr, 0,
     "An Azure Storage connection string (AccountName, AccountKey or SharedAccessSignature, "
     "BlobEndpoint …). Default $AZURE_STORAGE_CONNECTION_STRING. Explicit keys take precedence."},
    {"allow_http", BP_CFG_BOOL, "false", 0,
     "Allow a plain-http endpoint that is not loopback (data and SAS tokens travel in clear)."},
    {"verify_tls", BP_CFG_BOOL, "true", 0,
     "Verify the service's TLS certificate and host name. Turn off only for a test endpoint."},
    {"ca_file", BP_CFG_PATH, nullptr, 0, "CA bundle for TLS verification (default: the system's)."},
    {"connect_timeout_ms", BP_CFG_INT, "5000", 0, "Timeout of the TCP and TLS handshake, ms."},
    {"request_timeout_ms", BP_CFG_INT, "60000", 0,
     "Timeout of one whole request, ms. Failed requests are retried by the host within "
     "[engine] retry_deadline_ms."},
    {"single_put_limit", BP_CFG_SIZE, "32MiB", 0,
     "Objects up to this size are uploaded with one Put Blob; larger ones as blocks of "
     "block_size committed by Put Block List."},
    {"block_size", BP_CFG_SIZE, "4MiB", 0, "Size of each Put Block of a large object."},
    {nullptr, 0, nullptr, 0, nullptr},
};

// An integer key within [low, high]; false after Fail() otherwise.
bool ConfigRange(const struct bp_config* config, const char* key, int64_t low, int64_t high,
                 int64_t* out, int* rc) {
  std::string error;
  if (bpplugin::ConfigIntInRange(config, key, low, high, out, &error)) return true;
  *rc = Fail(BP_ERR_INVALID, error);
  return false;
}

int AzureOpen(const struct bp_config* config, const char* url, void** handle) {
  *handle = nullptr;
  return Guard("open", [&] {
    if (url == nullptr || *url == '\0') return Fail(BP_ERR_INVALID, "no url configured");
    SettingsInput input;
    input.url = url;
    input.endpoint = ConfigString(config, "endpoint");
    input.account = ConfigString(config, "account");
    input.account_key = ConfigString(config, "account_key");
    input.sas_token = ConfigString(config, "sas_token");
    input.connection_string = ConfigString(config, "connection_string");
    input.allow_http = ConfigBool(config, "allow_http", false);
    input.env = [](const char* name) {
      const char* value = std::getenv(name);
      return value != nullptr ? std::string(value) : std::string();
    };
    ResolvedSettings settings;
    std::string error;
    if (!ResolveSettings(input, &settings, &error)) return Fail(BP_ERR_INVALID, error);

    TransportOptions transport;
    transport.verify_tls = ConfigBool(config, "verify_tls", transport.verify_tls);
    transport.ca_file = ConfigString(config, "ca_file");
    int rc = BP_OK;
    int64_t connect_ms = transport.connect_timeout_ms, request_ms = transport.request_timeout_ms;
    if (!ConfigRange(config, "connect_timeout_ms", 100, 600000, &connect_ms, &rc)) return rc;
    if (!ConfigRange(config, "request_timeout_ms", 100, 3600000, &request_ms, &rc)) return rc;
    transport.connect_timeout_ms = static_cast<long>(connect_ms);
    transport.request_timeout_ms = static_cast<long>(request_ms);

    UploadOptions upload;
    int64_t single = static_cast<int64_t>(upload.single_put_limit);
    int64_t block = static_cast<int64_t>(upload.block_size);
    // The service's limits for x-ms-version 2019-12-12 and later: Put Blob 5000 MiB, Put Block
    // 4000 MiB.
    if (!ConfigRange(config, "single_put_limit", 0, 5000ll << 20, &single, &rc)) return rc;
    if (!ConfigRange(config, "block_size", 4096, 4000ll << 20, &block, &rc)) return rc;
    upload.single_put_limit = static_cast<uint64_t>(single);
    upload.block_size = static_cast<uint64_t>(block);

    if (!transport.verify_tls && settings.endpoint.scheme == "https") {
      bp_host->log(BP_LOG_WARN, "azure",
                   ("verify_tls = false for " + settings.endpoint_text +
                    ": the service's identity is not checked")
                       .c_str());
    }
    std::unique_ptr<AzureStore> store;
    rc = AzureStore::Open(settings, transport, upload, &store);
    if (rc != BP_OK) return rc;
    *handle = store.release();
    return BP_OK;
  });
}

void AzureClose(void* handle) { delete StoreOf(handle); }

uint64_t AzureCapabilities(void* handle) { return StoreOf(handle)->Capabilities(); }

int AzureGet(void* handle, const char* key, struct bp_buf* out) {
  return Guard("get", [&] { return StoreOf(handle)->Get(key, out); });
}

int AzureRead(void* handle, const char* key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) {
  return Guard("read", [&] { return StoreOf(handle)->Read(key, offset, length, buf, nread); });
}

int AzurePut(void* handle, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Guard("put", [&] { return StoreOf(handle)->Put(key, data, length, flags); });
}

int AzureGetTagged(void* handle, const char* key, struct bp_buf* out, char* tag) {
  return Guard("get", [&] { return StoreOf(handle)->GetTagged(key, out, tag); });
}

int AzurePutIfMatch(void* handle, const char* key, const void* data, uint64_t length,
                    const char* expected_tag, char* new_tag) {
  return Guard("put-if-match", [&] {
    return StoreOf(handle)->PutIfMatch(key, data, length, expected_tag, new_tag);
  });
}

int AzureDelete(void* handle, const char* key) {
  return Guard("delete", [&] { return StoreOf(handle)->Delete(key); });
}

int AzureList(void* handle, const char* prefix, const char* cursor, struct bp_list* out) {
  return Guard("list",
               [&] { return StoreOf(handle)->List(prefix != nullptr ? prefix : "", cursor, out); });
}

}  // namespace
}  // namespace azurebackend

static struct bp_backend_plugin azure_backend_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "azure", "1.0",
                  "objects as block blobs in an Azure Blob container"},
    /* url_schemes */ azurebackend::kUrlSchemes,
    /* config_keys */ azurebackend::kConfigKeys,
    /* open */ azurebackend::AzureOpen,
    /* close */ azurebackend::AzureClose,
    /* capabilities */ azurebackend::AzureCapabilities,
    /* get */ azurebackend::AzureGet,
    /* read */ azurebackend::AzureRead,
    /* put */ azurebackend::AzurePut,
    /* del */ azurebackend::AzureDelete,
    /* list */ azurebackend::AzureList,
    /* delete_many: not implemented (no Blob Batch); the capability is not declared */ nullptr,
    /* get_tagged */ azurebackend::AzureGetTagged,
    /* put_if_match */ azurebackend::AzurePutIfMatch,
    /* put_parts: the host joins the parts; an HTTP body of parts would gain little */ nullptr,
};

BP_REGISTER_BACKEND(azure_backend_plugin, BP_THREAD_PARALLEL)
