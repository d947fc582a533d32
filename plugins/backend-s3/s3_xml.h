// The S3 XML documents the backend reads and writes, parsed and built with pugixml: error
// responses, ListObjectsV2 pages, DeleteObjects requests and results. Parsers never trust the
// document's shape: a missing or malformed element is an error, not a default.
#ifndef BLOCKPIPE_BACKEND_S3_S3_XML_H
#define BLOCKPIPE_BACKEND_S3_S3_XML_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s3backend {

// <Error><Code>…</Code><Message>…</Message><Region>…</Region></Error>
struct S3ErrorDocument {
  std::string code;
  std::string message;
  std::string region;  // set by AWS on AuthorizationHeaderMalformed / PermanentRedirect
};
// False when the body is not an S3 error document (empty, HTML from a proxy …).
bool ParseErrorDocument(std::string_view body, S3ErrorDocument* out);

struct ListObjectsPage {
  std::vector<std::pair<std::string, uint64_t>> objects;  // full keys and sizes, in order
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};
// A page is refused whole when a Key is not what S3 can hold (1 to 1024 bytes of UTF-8) or a
// Size is not plain decimal digits.
bool ParseListObjectsV2(std::string_view body, ListObjectsPage* out, std::string* error);

// <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>; every key reads back
// exactly (a carriage return is written as &#13;, not as a byte XML turns into a line feed).
std::string BuildDeleteRequest(const std::vector<std::string>& keys);

struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};
// <DeleteResult> with <Deleted> and <Error> entries; quiet mode lists only the errors.
bool ParseDeleteResult(std::string_view body, std::vector<DeleteFailure>* failures,
                       std::string* error);

}  // namespace s3backend

#endif  // BLOCKPIPE_BACKEND_S3_S3_XML_H
