// pugixml-based reading and writing of S3's XML. Documents are parsed from the response buffer
// in place (parse_default without entity expansion beyond XML's own five), so a hostile body
// cannot expand into unbounded memory.
#include "s3_xml.h"

#include <pugixml.hpp>

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace s3backend {
namespace {

bool Load(pugi::xml_document* doc, std::string_view body, std::string* error) {
  // parse_ws_pcdata_single keeps a key made only of spaces (S3 allows one), which pugixml
  // would otherwise drop and turn into an empty key.
  pugi::xml_parse_result result =
      doc->load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                       pugi::encoding_utf8);
  if (!result) {
    if (error != nullptr) {
      *error = std::string("malformed XML from the store: ") + result.description() + " at byte " +
               std::to_string(result.offset);
    }
    return false;
  }
  return true;
}

// Digits only: strtoull alone would also take leading space, a sign, and " -5" as 2^64 - 5.
bool ParseSize(const char* text, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = value;
  return true;
}

// What S3 can hold as a key: 1 to 1024 bytes of well-formed UTF-8 (no overlong forms,
// surrogates or code points above U+10FFFF). Anything else did not come from S3's own listing.
bool IsS3Key(std::string_view key) {
  if (key.empty() || key.size() > 1024) return false;
  for (size_t i = 0; i < key.size();) {
    const auto lead = static_cast<unsigned char>(key[i]);
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the second byte's range (Unicode table 3-7)
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (i + length > key.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(key[i + k]);
      if (byte < (k == 1 ? low : 0x80) || byte > (k == 1 ? high : 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

bool ParseErrorDocument(std::string_view body, S3ErrorDocument* out) {
  *out = S3ErrorDocument();
  if (body.empty()) return false;
  pugi::xml_document doc;
  if (!Load(&doc, body, nullptr)) return false;
  pugi::xml_node root = doc.child("Error");
  if (!root) return false;
  out->code = root.child_value("Code");
  out->message = root.child_value("Message");
  out->region = root.child_value("Region");
  return !out->code.empty();
}

bool ParseListObjectsV2(std::string_view body, ListObjectsPage* out, std::string* error) {
  *out = ListObjectsPage();
  pugi::xml_document doc;
  if (!Load(&doc, body, error)) return false;
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) {
    *error = "the store's list response has no ListBucketResult element";
    return false;
  }
  for (pugi::xml_node item : root.children("Contents")) {
    pugi::xml_node key = item.child("Key");
    uint64_t size = 0;
    if (!key || !ParseSize(item.child_value("Size"), &size)) {
      *error = "the store's list response has an entry without a valid Key and Size";
      return false;
    }
    std::string name = key.text().get();
    if (!IsS3Key(name)) {
      *error = "the store's list response has a Key that is not 1 to 1024 bytes of UTF-8";
      return false;
    }
    out->objects.emplace_back(std::move(name), size);
  }
  std::string truncated = root.child_value("IsTruncated");
  out->truncated = truncated == "true";
  if (out->truncated) {
    out->next_continuation_token = root.child_value("NextContinuationToken");
    if (out->next_continuation_token.empty()) {
      *error = "the store's list response is truncated but carries no NextContinuationToken";
      return false;
    }
  }
  return true;
}

std::string BuildDeleteRequest(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node root = doc.append_child("Delete");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  root.append_child("Quiet").text() = "true";
  for (const std::string& key : keys) {
    root.append_child("Object").append_child("Key").text() = key.c_str();
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  // pugixml writes a carriage return in text as is, and every XML reader (S3's too) reads it
  // back as a line feed: a key holding one would name another object. The markup around the
  // keys has none, so each one here is a key's.
  std::string xml = out.str();
  for (size_t pos = xml.find('\r'); pos != std::string::npos; pos = xml.find('\r', pos)) {
    xml.replace(pos, 1, "&#13;");
  }
  return xml;
}

bool ParseDeleteResult(std::string_view body, std::vector<DeleteFailure>* failures,
                       std::string* error) {
  failures->clear();
  pugi::xml_document doc;
  if (!Load(&doc, body, error)) return false;
  pugi::xml_node root = doc.child("DeleteResult");
  if (!root) {
    *error = "the store's multi-delete response has no DeleteResult element";
    return false;
  }
  for (pugi::xml_node item : root.children("Error")) {
    DeleteFailure failure{item.child_value("Key"), item.child_value("Code"),
                          item.child_value("Message")};
    if (failure.key.empty()) {
      *error = "the store's multi-delete response has an Error entry without a Key";
      return false;
    }
    failures->push_back(std::move(failure));
  }
  return true;
}

}  // namespace s3backend
