// HTTP transport shared by the remote backends (S3, Azure Blob): one request in, one response
// out, over libcurl with a pool of easy handles so TCP and TLS connections are reused across
// calls and threads. The client knows nothing about signing or a store's error format: callers
// build the full URL and headers (including authorization) and interpret the response. It never
// logs, so headers and bodies that carry credentials cannot leak through it.
#ifndef BLOCKPIPE_HTTP_COMMON_HTTP_CLIENT_H
#define BLOCKPIPE_HTTP_COMMON_HTTP_CLIENT_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bphttp {

// One request. Owned by the caller; body and sink must stay valid for the whole Perform() call.
struct HttpRequest {
  std::string method;  // "GET", "PUT", "POST", "DELETE", "HEAD"
  std::string url;     // full URL, already percent-encoded, including the query string
  // Sent as given (name: value). The client adds nothing but what libcurl requires (Host,
  // Content-Length) and removes "Expect:" so a PUT never waits for 100-continue.
  std::vector<std::pair<std::string, std::string>> headers;
  const void* body = nullptr;  // request body (PUT/POST), body_length bytes; may be null
  uint64_t body_length = 0;
  // When sink is set, a 2xx response body is written there instead of into HttpResponse::body
  // (a ranged GET straight into the caller's buffer). A body longer than sink_capacity aborts
  // the transfer and sets sink_overflow. Error responses (non-2xx) always go to body, so the
  // caller can parse the store's error document.
  void* sink = nullptr;
  uint64_t sink_capacity = 0;
};

struct HttpResponse {
  long status = 0;  // HTTP status; 0 when no HTTP response arrived (network error, timeout)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;             // response body, unless it went to the request's sink
  uint64_t sink_bytes = 0;      // bytes written to the request's sink
  bool sink_overflow = false;   // the body did not fit into sink_capacity; transfer aborted
  std::string transport_error;  // curl's description when the transfer failed, else empty

  // The value of the first header named lower_name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  long connect_timeout_ms = 5000;   // TCP + TLS handshake
  long request_timeout_ms = 60000;  // whole request, from start to last byte
  bool verify_tls = true;           // verify the peer certificate and host name
  std::string ca_file;              // CA bundle; empty: the system default
  size_t max_idle_handles = 32;     // easy handles (and their connections) kept for reuse
};

// Thread-safe: Perform() may be called from any number of threads at once; each call borrows an
// idle easy handle from the pool (or makes one) and returns it afterwards.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Carry out one request. Never throws for network or HTTP failures: they are reported in the
  // response (status 0 + transport_error, or the HTTP status and body).
  HttpResponse Perform(const HttpRequest& request) const;

  const HttpClientOptions& options() const { return options_; }

 private:
  class HandlePool;
  HttpClientOptions options_;
  std::unique_ptr<HandlePool> pool_;
};

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_HTTP_CLIENT_H
