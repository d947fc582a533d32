// BlobClient: one authorized request to the Blob service. It adds x-ms-date and x-ms-version,
// then either signs with Shared Key or appends the SAS token, builds the URL from the same
// encoded path it signed, and hands the request to the shared libcurl transport. It knows no
// operation semantics; AzureStore builds the operations on it. Thread-safe (the transport pools
// connections across threads; the rest is immutable after construction).
#pragma once

#include <memory>
#include <string>

#include "azure_location.h"
#include "azure_settings.h"
#include "http_client.h"
#include "shared_key.h"

namespace azurebackend {

struct TransportOptions {
  long connect_timeout_ms = 5000;
  long request_timeout_ms = 60000;
  bool verify_tls = true;
  std::string ca_file;
};

// One request as the store describes it.
struct BlobRequest {
  std::string method;
  const std::string* blob = nullptr;  // blob name (with prefix); null: a container request
  QueryList query;                    // decoded; encoded by the client
  HeaderList headers;                 // besides x-ms-date, x-ms-version, Authorization
  const void* body = nullptr;
  uint64_t body_length = 0;
  void* sink = nullptr;  // see bphttp::HttpRequest
  uint64_t sink_capacity = 0;
};

class BlobClient {
 public:
  BlobClient(const ResolvedSettings& settings, const TransportOptions& transport);

  bphttp::HttpResponse Send(const BlobRequest& request) const;

  const ResolvedSettings& settings() const { return settings_; }
  const BlobAddressing& addressing() const { return addressing_; }

 private:
  const ResolvedSettings settings_;
  const BlobAddressing addressing_;
  std::unique_ptr<bphttp::HttpClient> http_;
};

}  // namespace azurebackend
