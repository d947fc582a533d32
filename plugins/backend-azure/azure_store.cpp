// AzureStore construction and the startup checks: the container listing that proves endpoint,
// container and credentials before the daemon serves anything, and the put-if-absent and
// put-if-match probes on both upload paths (Put Blob, and Put Block List for large objects),
// since fencing of a second writer depends on the store refusing the losing write on whichever
// path it takes.
// Also the pieces every operation shares: sending with metrics, classifying, failing.
#include "azure_store.h"

#include <functional>

#include "put_if_absent_probe.h"
#include "put_if_match_probe.h"

namespace azurebackend {

namespace {
thread_local std::string last_failure;
}  // namespace

int Fail(int code, const std::string& message) {
  last_failure = message;
  if (bp_host != nullptr) bp_host->set_error(("azure backend: " + message).c_str());
  return code;
}

const std::string& LastFailure() { return last_failure; }

AzureStore::AzureStore(const ResolvedSettings& settings, const TransportOptions& transport,
                       const UploadOptions& upload)
    : client_(settings, transport), upload_(upload) {}

int AzureStore::Open(const ResolvedSettings& settings, const TransportOptions& transport,
                     const UploadOptions& upload, std::unique_ptr<AzureStore>* out) {
  std::unique_ptr<AzureStore> store(new AzureStore(settings, transport, upload));
  int rc = store->CheckContainer();
  if (rc != BP_OK) return rc;

  std::string single_detail, blocks_detail;
  int first_put_rc = BP_OK;
  bool single = store->ProbePath(/*force_blocks=*/false, &single_detail, &first_put_rc);
  if (first_put_rc == BP_ERR_TRANSIENT) {
    // The store is unreachable or overloaded right now; a volume opened without the capability
    // would be served read-only for no lasting reason. Fail, and let the user or the host retry.
    return Fail(BP_ERR_TRANSIENT, store->Describe() + ": put-if-absent probe: " + LastFailure());
  }
  if (first_put_rc != BP_OK && first_put_rc != BP_ERR_PRECONDITION) {
    // Typically a read-only SAS token: reading works, writing never will. The host then serves
    // volumes read-only, which is what such credentials are for; say why.
    std::string message = store->Describe() + ": these credentials cannot create blobs (" +
                          LastFailure() + "); put-if-absent not verified, volumes can only be read";
    if (bp_host != nullptr) bp_host->log(BP_LOG_WARN, "azure", message.c_str());
    *out = std::move(store);
    return BP_OK;
  }
  bool blocks = single && store->ProbePath(/*force_blocks=*/true, &blocks_detail, &first_put_rc);
  store->put_if_absent_ = single && blocks;
  std::string match_single, match_blocks;
  store->put_if_match_ = store->ProbeIfMatch(/*force_blocks=*/false, &match_single) &&
                         store->ProbeIfMatch(/*force_blocks=*/true, &match_blocks);
  std::string message =
      store->Describe() + " (account " + settings.account + ", " +
      (settings.auth == AuthMode::kSharedKey ? "Shared Key" : "SAS token") + " from " +
      settings.credential_source + ", x-ms-version " + kApiVersion + "): put-if-absent " +
      (store->put_if_absent_ ? "honoured" : "NOT honoured") + " — Put Blob: " + single_detail +
      (blocks_detail.empty() ? "" : "; Put Block List: " + blocks_detail) + "; put-if-match " +
      (store->put_if_match_ ? "honoured" : "NOT honoured") + " — Put Blob: " + match_single +
      (match_blocks.empty() ? "" : "; Put Block List: " + match_blocks);
  const bool fenced = store->put_if_absent_ && store->put_if_match_;
  if (bp_host != nullptr) {
    bp_host->log(fenced ? BP_LOG_INFO : BP_LOG_WARN, "azure", message.c_str());
  }
  *out = std::move(store);
  return BP_OK;
}

std::string AzureStore::Describe() const {
  const ContainerLocation& location = settings().location;
  std::string prefix = location.prefix;
  if (!prefix.empty()) prefix.pop_back();
  return "azure://" + location.container + (prefix.empty() ? "" : "/" + prefix) + " at " +
         bphttp::RedactQuery(settings().endpoint_text);
}

int AzureStore::CheckContainer() {
  BlobRequest request;
  request.method = "GET";
  request.query = {{"restype", "container"}, {"comp", "list"}, {"maxresults", "1"}};
  if (!settings().location.prefix.empty())
    request.query.emplace_back("prefix", settings().location.prefix);
  bphttp::HttpResponse response = Send(request);
  AzureFailure failure = Classify(response, "list", "container " + settings().location.container);
  if (failure.code == BP_OK) return BP_OK;
  std::string where = Describe() + ": ";
  if (failure.error_code == "ContainerNotFound" ||
      (response.status == 404 && failure.error_code.empty())) {
    return Fail(BP_ERR_PERMANENT, where + "container `" + settings().location.container +
                                      "` does not exist for account " + settings().account +
                                      " (create it first; blockpipe does not create containers)");
  }
  if (response.status == 401 || response.status == 403) {
    return Fail(BP_ERR_PERMANENT,
                where + "account " + settings().account + " with the " +
                    (settings().auth == AuthMode::kSharedKey ? "account key" : "SAS token") +
                    " from " + settings().credential_source + ": " + failure.message);
  }
  return Fail(failure.code, where + failure.message);
}

bool AzureStore::ProbePath(bool force_blocks, std::string* detail, int* first_put_rc) {
  int calls = 0;
  auto put = [&](const std::string& key, bool if_absent) {
    static const char kProbeData[] = "blockpipe put-if-absent probe";
    const uint64_t length = sizeof(kProbeData) - 1;
    Condition condition;
    if (if_absent) condition = {"If-None-Match", "*"};
    int rc = Upload(key, kProbeData, length, condition, force_blocks, nullptr);
    if (calls++ == 0) *first_put_rc = rc;
    return rc;
  };
  auto del = [&](const std::string& key) { return Delete(key); };
  return bphttp::ProbePutIfAbsent(put, del, detail);
}

bool AzureStore::ProbeIfMatch(bool force_blocks, std::string* detail) {
  bphttp::ConditionalPutOps ops;
  ops.put = [&](const std::string& key, const std::string& body) {
    return Upload(key, body.data(), body.size(), {}, force_blocks, nullptr);
  };
  ops.get_tagged = [&](const std::string& key, std::string* body, std::string* tag) {
    return FetchBlob(key, body, tag);
  };
  ops.put_if_match = [&](const std::string& key, const std::string& body, const std::string& tag,
                         std::string* new_tag) {
    int rc = Upload(key, body.data(), body.size(), {"If-Match", tag}, force_blocks, new_tag);
    return rc == BP_ERR_NOT_FOUND ? BP_ERR_PRECONDITION : rc;
  };
  ops.del = [&](const std::string& key) { return Delete(key); };
  return bphttp::ProbePutIfMatch(ops, detail);
}

uint64_t AzureStore::Capabilities() const {
  uint64_t caps =
      BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_LIST_PAGES | BP_BACKEND_CAP_DURABLE_PUT;
  if (put_if_absent_) caps |= BP_BACKEND_CAP_PUT_IF_ABSENT;
  if (put_if_match_) caps |= BP_BACKEND_CAP_CONDITIONAL_PUT;
  return caps;
}

bphttp::HttpResponse AzureStore::Send(const BlobRequest& request) const {
  bphttp::HttpResponse response = client_.Send(request);
  if (bp_host != nullptr) {
    bp_host->metric_add("azure", "requests", 1);
    if (request.body_length > 0) {
      bp_host->metric_add("azure", "bytes_sent", static_cast<int64_t>(request.body_length));
    }
    uint64_t received = request.sink != nullptr ? response.sink_bytes : response.body.size();
    if (received > 0)
      bp_host->metric_add("azure", "bytes_received", static_cast<int64_t>(received));
    if (response.status < 200 || response.status >= 300) {
      bp_host->metric_add("azure", "request_errors", 1);
    }
  }
  return response;
}

AzureFailure AzureStore::Classify(const bphttp::HttpResponse& response,
                                  const std::string& operation, const std::string& target) const {
  return ClassifyResponse(response, operation, target, settings().auth);
}

int AzureStore::FailWith(const AzureFailure& failure) const {
  return Fail(failure.code, failure.message);
}

}  // namespace azurebackend
