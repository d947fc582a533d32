// libcurl transport for the remote backends. Each Perform() borrows an easy handle from a pool;
// curl_easy_reset() between requests clears the options but keeps the handle's live connections,
// so a busy backend reuses its keep-alive TCP/TLS sessions instead of handshaking per request.
// Request bodies go through a read callback (never POSTFIELDS), so libcurl adds no Content-Type
// of its own that a signer did not see; the response body goes to the caller's sink or a string.
#include "http_client.h"
#include "text.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace bphttp {
namespace {

std::once_flag g_curl_init_once;

void InitCurlOnce() {
  std::call_once(g_curl_init_once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl global initialisation failed");
    }
  });
}

// Error bodies are only parsed for a code and a message; a misbehaving server must not be able
// to make us buffer an unbounded amount of them.
constexpr size_t kMaxErrorBody = 1 << 20;

struct Transfer {
  curl_socket_t socket = CURL_SOCKET_BAD;  // the connection's socket, for AckNow
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  uint64_t upload_offset = 0;
  long status_seen = 0;  // status of the latest status line, parsed by the header callback
};

// Servers that write the response head and a small body separately with Nagle's algorithm on
// (Ceph RGW does) hold the body back until the head is acknowledged, and Linux delays that ACK
// by up to 40 ms: a 4 KiB ranged GET then takes 40 ms instead of 1. Asking for a quick ACK as
// soon as the head arrives sends the pending ACK at once.
void AckNow(curl_socket_t socket) {
  if (socket == CURL_SOCKET_BAD) return;
  int one = 1;
  setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

// libcurl calls this for every socket it opens: a new connection replaces the remembered one.
int OnNewSocket(void* user, curl_socket_t socket, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN) static_cast<Transfer*>(user)->socket = socket;
  return CURL_SOCKOPT_OK;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    AckNow(t->socket);
    // A new response starts (after a 100 Continue, say): forget the previous one's headers.
    t->response->headers.clear();
    size_t sp = line.find(' ');
    t->status_seen =
        sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();  // the blank line ending the headers
  t->response->headers.emplace_back(AsciiLower(TrimSpace(line.substr(0, colon))),
                                    TrimSpace(line.substr(colon + 1)));
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  const HttpRequest& req = *t->request;
  HttpResponse& resp = *t->response;
  bool success = t->status_seen >= 200 && t->status_seen < 300;
  if (req.sink != nullptr && success) {
    if (resp.sink_bytes + n > req.sink_capacity) {
      resp.sink_overflow = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    std::memcpy(static_cast<char*>(req.sink) + resp.sink_bytes, data, n);
    resp.sink_bytes += n;
    return n;
  }
  if (!success && resp.body.size() + n > kMaxErrorBody) {
    n = kMaxErrorBody > resp.body.size() ? kMaxErrorBody - resp.body.size() : 0;
    resp.body.append(data, n);
    return size * count;  // drop the rest quietly; the head of an error document is enough
  }
  resp.body.append(data, n);
  return n;
}

size_t OnUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& req = *t->request;
  uint64_t left = req.body_length - t->upload_offset;
  size_t n = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (n > 0) {
    std::memcpy(buffer, static_cast<const char*>(req.body) + t->upload_offset, n);
    t->upload_offset += n;
  }
  return n;
}

// libcurl rewinds the body when it must resend it (a reused connection that turned out closed).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->request->body_length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->upload_offset = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

const std::string* HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

// An easy handle and the socket of the connection it keeps alive (CURLINFO_ACTIVESOCKET is not
// available while a transfer runs, so it is remembered between transfers).
struct PooledHandle {
  CURL* curl = nullptr;
  curl_socket_t socket = CURL_SOCKET_BAD;
};

class HttpClient::HandlePool {
 public:
  explicit HandlePool(size_t max_idle) : max_idle_(max_idle) {}
  ~HandlePool() {
    for (PooledHandle& handle : idle_) curl_easy_cleanup(handle.curl);
  }

  PooledHandle Acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        PooledHandle handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    PooledHandle handle;
    handle.curl = curl_easy_init();
    if (handle.curl == nullptr) throw std::runtime_error("libcurl could not create a handle");
    return handle;
  }

  // A handle whose transfer failed at the transport level keeps no useful connection; it is
  // still reusable, curl drops dead connections itself.
  void Release(PooledHandle handle) {
    if (curl_easy_getinfo(handle.curl, CURLINFO_ACTIVESOCKET, &handle.socket) != CURLE_OK) {
      handle.socket = CURL_SOCKET_BAD;
    }
    curl_easy_reset(handle.curl);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_.size() < max_idle_) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle.curl);
  }

 private:
  size_t max_idle_;
  std::mutex mutex_;
  std::vector<PooledHandle> idle_;
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<HandlePool>(options_.max_idle_handles)) {
  InitCurlOnce();
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Perform(const HttpRequest& request) const {
  HttpResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;

  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    headers.release();
    headers.reset(next);
  };
  for (const auto& [name, value] : request.headers) {
    // "Name;" is libcurl's way to send a header with an empty value ("Name:" would remove it).
    add_header(value.empty() ? name + ";" : name + ": " + value);
  }
  add_header("Expect:");

  PooledHandle pooled = pool_->Acquire();
  CURL* handle = pooled.curl;
  struct Returner {
    HandlePool* pool;
    PooledHandle* pooled;
    ~Returner() { pool->Release(*pooled); }
  } returner{pool_.get(), &pooled};

  transfer.socket = pooled.socket;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, OnNewSocket);
  curl_easy_setopt(handle, CURLOPT_SOCKOPTDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);

  const std::string& method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && request.body_length == 0) {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else if (request.body_length > 0 || method == "PUT" || method == "POST") {
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, OnUpload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(handle, CURLOPT_SEEKDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body_length));
    if (method != "PUT") curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  CURLcode rc = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  if (rc != CURLE_OK) {
    if (response.sink_overflow) {
      response.transport_error = "response body larger than the " +
                                 std::to_string(request.sink_capacity) + " bytes expected";
    } else {
      // A transfer cut off mid-way is a network failure whatever status line came first: the
      // caller must not take a partial body for a complete one.
      response.status = 0;
      response.transport_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    }
  }
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  return response;
}

}  // namespace bphttp
