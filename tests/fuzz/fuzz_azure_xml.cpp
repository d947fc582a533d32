// Fuzz target: a response body from the Azure Blob service (or from anything that answers in its
// place), given to both of the Azure backend's XML readers (plugins/backend-azure/blob_xml.h) so
// the seeds can be plain response bodies. Properties, besides no crash:
//   List Blobs: one entry per <Blob>, each with a non-empty name and exactly the decimal number
//     its <Content-Length> states (digits only; a sign, space or overflow is refused), and a
//     refusal says why.
//   Error body: a success has a Code and a one-line Message (Azure appends RequestId and Time
//     lines, which must not reach the log line the message ends up in).
#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob_xml.h"
#include "support/fuzz_check.h"

namespace {

// The value a <Content-Length> text must have: digits only and within 64 bits, else refused.
bool ExpectedLength(const std::string& text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

void CheckList(std::string_view body) {
  azurebackend::BlobListPage page;
  std::string error;
  const bool ok = azurebackend::ParseListBlobs(body, &page, &error);
  if (!ok) {
    FUZZ_CHECK(!error.empty(), "listing refused without a reason");
    return;
  }
  // The lengths as the document states them, read independently of the parser.
  pugi::xml_document doc;
  FUZZ_CHECK(doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8),
             "a listing was accepted from malformed XML");
  std::vector<std::string> lengths;
  for (pugi::xml_node blob : doc.child("EnumerationResults").child("Blobs").children("Blob")) {
    lengths.emplace_back(blob.child("Properties").child_value("Content-Length"));
  }
  FUZZ_CHECK(page.blobs.size() == lengths.size(), "listed entries do not match <Blob>");
  for (size_t i = 0; i < page.blobs.size(); ++i) {
    FUZZ_CHECK(!page.blobs[i].name.empty(), "blob listed without a name");
    uint64_t expected = 0;
    FUZZ_CHECK(ExpectedLength(lengths[i], &expected) && page.blobs[i].size == expected,
               "<Content-Length>" + lengths[i] + "</Content-Length> accepted as " +
                   std::to_string(page.blobs[i].size));
  }
}

void CheckError(std::string_view body) {
  std::string code;
  std::string message;
  if (!azurebackend::ParseErrorBody(body, &code, &message)) return;
  FUZZ_CHECK(!code.empty(), "error body accepted without a Code");
  FUZZ_CHECK(message.find_first_of("\r\n") == std::string::npos, "error message of several lines");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckList(body);
  CheckError(body);
  return 0;
}
