// Request authorization and dispatch. A request must carry a Content-Type whenever it has a
// body (or is a PUT): libcurl would otherwise be free to add its own, which the signature would
// not cover. Date is never sent, x-ms-date is, so the Date line of the string-to-sign is empty.
#include "blob_client.h"

#include <ctime>

namespace azurebackend {

BlobClient::BlobClient(const ResolvedSettings& settings, const TransportOptions& transport)
    : settings_(settings), addressing_(settings.endpoint, settings.location.container) {
  bphttp::HttpClientOptions options;
  options.connect_timeout_ms = transport.connect_timeout_ms;
  options.request_timeout_ms = transport.request_timeout_ms;
  options.verify_tls = transport.verify_tls;
  options.ca_file = transport.ca_file;
  http_ = std::make_unique<bphttp::HttpClient>(options);
}

bphttp::HttpResponse BlobClient::Send(const BlobRequest& request) const {
  SignedRequest signed_request;
  signed_request.method = request.method;
  signed_request.account = settings_.account;
  signed_request.encoded_path =
      request.blob != nullptr ? addressing_.BlobPath(*request.blob) : addressing_.ContainerPath();
  signed_request.query = request.query;
  signed_request.headers = request.headers;
  signed_request.headers.emplace_back("x-ms-date",
                                      HttpDate(static_cast<int64_t>(std::time(nullptr))));
  signed_request.headers.emplace_back("x-ms-version", kApiVersion);
  signed_request.content_length = request.body_length;

  bphttp::HttpRequest http;
  http.method = request.method;
  http.body = request.body;
  http.body_length = request.body_length;
  http.sink = request.sink;
  http.sink_capacity = request.sink_capacity;
  http.headers = signed_request.headers;
  if (settings_.auth == AuthMode::kSharedKey) {
    http.headers.emplace_back("Authorization",
                              SharedKeyAuthorization(signed_request, settings_.decoded_key));
    http.url = addressing_.Url(signed_request.encoded_path, request.query, "");
  } else {
    http.url = addressing_.Url(signed_request.encoded_path, request.query, settings_.sas_token);
  }
  return http_->Perform(http);
}

}  // namespace azurebackend
