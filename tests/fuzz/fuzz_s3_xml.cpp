// Fuzz target: a response body from an S3 endpoint (or from anything that answers in its place),
// given to each of the S3 backend's XML readers (plugins/backend-s3/s3_xml.h) — a body is only
// ever one document, but trying all three on every input lets the seeds be plain response
// bodies. Properties, besides no crash:
//   ListObjectsV2: every listed key is what S3 can hold (1 to 1024 bytes of UTF-8); every size
//     is exactly the decimal number in its <Size> (digits only; a sign, space or overflow is
//     refused); a truncated page has a continuation token; and every listed key survives the
//     multi-delete request built from it (BuildDeleteRequest, read back as S3 reads XML), so
//     deleting what was listed deletes exactly that.
//   Error documents and DeleteResult: a success has a Code, each failure a Key.
#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "s3_xml.h"
#include "support/fuzz_check.h"

namespace {

// UTF-8 as S3 requires of keys (the table of Unicode's 3-7: no overlongs, surrogates or code
// points above U+10FFFF).
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80                 ? 1
               : b >= 0xC2 && b <= 0xDF ? 2
               : b >= 0xE0 && b <= 0xEF ? 3
               : b >= 0xF0 && b <= 0xF4 ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return false;
    const auto b1 = static_cast<uint8_t>(n > 1 ? s[i + 1] : 0x80);
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) ||
        (b == 0xF4 && b1 > 0x8F)) {
      return false;
    }
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// The value a <Size> text must have: digits only and within 64 bits, else refused.
bool ExpectedSize(const std::string& text, uint64_t* out) {
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
  s3backend::ListObjectsPage page;
  std::string error;
  const bool ok = s3backend::ParseListObjectsV2(body, &page, &error);

  // The sizes as the document states them, read independently of the parser.
  pugi::xml_document doc;
  std::vector<std::string> size_texts;
  if (doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8)) {
    for (pugi::xml_node item : doc.child("ListBucketResult").children("Contents")) {
      size_texts.emplace_back(item.child_value("Size"));
    }
  }
  if (!ok) {
    FUZZ_CHECK(!error.empty(), "list refused without a reason");
    return;
  }
  FUZZ_CHECK(page.objects.size() == size_texts.size(), "listed entries do not match <Contents>");
  std::vector<std::string> keys;
  for (size_t i = 0; i < page.objects.size(); ++i) {
    const auto& [key, size] = page.objects[i];
    FUZZ_CHECK(!key.empty() && key.size() <= 1024,
               "listed key of " + std::to_string(key.size()) + " bytes");
    FUZZ_CHECK(IsUtf8(key), "listed key is not UTF-8");
    uint64_t expected = 0;
    FUZZ_CHECK(ExpectedSize(size_texts[i], &expected) && size == expected,
               "<Size>" + size_texts[i] + "</Size> accepted as " + std::to_string(size));
    keys.push_back(key);
  }
  FUZZ_CHECK(!page.truncated || !page.next_continuation_token.empty(),
             "truncated page without a continuation token");

  // The delete request, read back as S3 reads it: whitespace kept, line ends normalized.
  const std::string request = s3backend::BuildDeleteRequest(keys);
  pugi::xml_document sent;
  FUZZ_CHECK(
      sent.load_buffer(request.data(), request.size(),
                       pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8),
      "delete request is not well-formed XML");
  size_t index = 0;
  for (pugi::xml_node object : sent.child("Delete").children("Object")) {
    FUZZ_CHECK(index < keys.size(), "delete request names more objects than listed");
    FUZZ_CHECK(object.child_value("Key") == keys[index],
               "key changed in the delete request: " + keys[index]);
    ++index;
  }
  FUZZ_CHECK(index == keys.size(), "delete request lost objects");
}

void CheckError(std::string_view body) {
  s3backend::S3ErrorDocument document;
  if (s3backend::ParseErrorDocument(body, &document)) {
    FUZZ_CHECK(!document.code.empty(), "error document accepted without a Code");
  }
}

void CheckDeleteResult(std::string_view body) {
  std::vector<s3backend::DeleteFailure> failures;
  std::string error;
  if (!s3backend::ParseDeleteResult(body, &failures, &error)) {
    FUZZ_CHECK(!error.empty(), "delete result refused without a reason");
    return;
  }
  for (const auto& failure : failures) {
    FUZZ_CHECK(!failure.key.empty(), "delete failure without a key");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckList(body);
  CheckError(body);
  CheckDeleteResult(body);
  return 0;
}
