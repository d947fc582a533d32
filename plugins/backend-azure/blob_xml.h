// The XML documents of the Blob service that the backend reads and writes: the List Blobs
// result (EnumerationResults), the error document every failed request carries, and the
// BlockList body of Put Block List. Parsed with pugixml; anything unexpected is a parse error
// with a short reason, never a crash or a silently empty listing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace azurebackend {

struct BlobEntry {
  std::string name;   // full blob name (with the configured prefix)
  uint64_t size = 0;  // Content-Length property
  std::string etag;   // Etag property, as sent (quoted or not)
};

struct BlobListPage {
  std::vector<BlobEntry> blobs;
  std::string next_marker;  // empty: the listing is complete
};

// Parse a List Blobs response body. False with *error when the document is not an
// EnumerationResults or a blob lacks its Name or a numeric Content-Length.
bool ParseListBlobs(std::string_view xml, BlobListPage* out, std::string* error);

// The Code and Message of an error body (<Error><Code>…</Code><Message>…</Message></Error>).
// False when the body is not such a document (empty body of a HEAD, a proxy's HTML page). The
// message keeps only its first line: Azure appends RequestId and Time lines.
bool ParseErrorBody(std::string_view xml, std::string* code, std::string* message);

// The Put Block List body committing `block_ids` (base64, as sent to Put Block) in order, each
// as <Latest>: the most recently uploaded block of that id.
std::string BlockListXml(const std::vector<std::string>& block_ids);

}  // namespace azurebackend
