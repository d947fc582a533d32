// pugixml readers and the writer for the Blob service's XML. The List Blobs reader accepts both
// the flat listing blockpipe requests and documents with extra elements newer service versions
// add (unknown elements are ignored), but insists on what it needs: a Name and a numeric
// Content-Length per blob.
#include "blob_xml.h"

#include <pugixml.hpp>

#include <cerrno>
#include <cstdlib>

namespace azurebackend {
namespace {

bool ParseUint64(const char* text, uint64_t* out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(text, &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = n;
  return true;
}

bool Load(pugi::xml_document* doc, std::string_view xml) {
  // parse_default keeps entity decoding (names with '&' arrive as &amp;); parse_ws_pcdata_single
  // keeps a name made only of spaces, which pugixml would otherwise drop and turn into an empty
  // name. The buffer is copied, so the caller's view may go away.
  return static_cast<bool>(doc->load_buffer(xml.data(), xml.size(),
                                            pugi::parse_default | pugi::parse_ws_pcdata_single,
                                            pugi::encoding_utf8));
}

}  // namespace

bool ParseListBlobs(std::string_view xml, BlobListPage* out, std::string* error) {
  pugi::xml_document doc;
  if (!Load(&doc, xml)) {
    *error = "the List Blobs response is not well-formed XML";
    return false;
  }
  pugi::xml_node root = doc.child("EnumerationResults");
  if (!root) {
    *error = "the List Blobs response has no EnumerationResults element";
    return false;
  }
  BlobListPage page;
  for (pugi::xml_node blob : root.child("Blobs").children("Blob")) {
    BlobEntry entry;
    pugi::xml_node name = blob.child("Name");
    entry.name = name.text().get();
    if (entry.name.empty()) {
      *error = "a blob in the List Blobs response has no Name";
      return false;
    }
    pugi::xml_node props = blob.child("Properties");
    if (!ParseUint64(props.child("Content-Length").text().get(), &entry.size)) {
      *error = "blob `" + entry.name + "` in the List Blobs response has no valid Content-Length";
      return false;
    }
    entry.etag = props.child("Etag").text().get();
    page.blobs.push_back(std::move(entry));
  }
  page.next_marker = root.child("NextMarker").text().get();
  *out = std::move(page);
  return true;
}

bool ParseErrorBody(std::string_view xml, std::string* code, std::string* message) {
  if (xml.empty()) return false;
  pugi::xml_document doc;
  if (!Load(&doc, xml)) return false;
  pugi::xml_node error = doc.child("Error");
  if (!error) return false;
  *code = error.child("Code").text().get();
  std::string text = error.child("Message").text().get();
  size_t newline = text.find_first_of("\r\n");
  if (newline != std::string::npos) text.resize(newline);
  *message = std::move(text);
  return !code->empty();
}

std::string BlockListXml(const std::vector<std::string>& block_ids) {
  // Block ids are base64 ([A-Za-z0-9+/=]), so they need no escaping.
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  out.reserve(out.size() + block_ids.size() * 64 + 16);
  for (const std::string& id : block_ids) {
    out += "<Latest>";
    out += id;
    out += "</Latest>";
  }
  out += "</BlockList>";
  return out;
}

}  // namespace azurebackend
