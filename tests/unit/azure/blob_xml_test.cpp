// The Blob service's XML: a List Blobs page as azurite 3.35.0 sends it, Azure's error
// documents, malformed input (never a crash or a silently empty page), and the Put Block List
// body.
#include <gtest/gtest.h>

#include <string>

#include "blob_xml.h"

namespace azurebackend {
namespace {

const char kListPage[] =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:54827/devstoreaccount1" ContainerName="blockpipe"><Prefix>vol1/volumes/default/seg/</Prefix><Marker/><MaxResults>2</MaxResults><Blobs><Blob><Name>vol1/volumes/default/seg/0000000000000001</Name><Properties><Creation-Time>Sun, 22 Nov 2026 03:51:01 GMT</Creation-Time><Last-Modified>Sun, 22 Nov 2026 03:51:01 GMT</Last-Modified><Etag>0x2001F78711FBE20</Etag><Content-Length>16781191</Content-Length><Content-Type>application/octet-stream</Content-Type><Content-MD5>WSEPiL7YnbcGuqBjrgMlCA==</Content-MD5><BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred></Properties></Blob><Blob><Name>vol1/volumes/default/seg/0000000000000002</Name><Properties><Etag>0x2089B239DFA64C0</Etag><Content-Length>16781196</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob></Blobs><NextMarker>vol1/volumes/default/seg/0000000000000002</NextMarker></EnumerationResults>)";

TEST(ListBlobsXml, ParsesNamesSizesEtagsAndNextMarker) {
  BlobListPage page;
  std::string error;
  ASSERT_TRUE(ParseListBlobs(kListPage, &page, &error)) << error;
  ASSERT_EQ(page.blobs.size(), 2u);
  EXPECT_EQ(page.blobs[0].name, "vol1/volumes/default/seg/0000000000000001");
  EXPECT_EQ(page.blobs[0].size, 16781191u);
  EXPECT_EQ(page.blobs[0].etag, "0x2001F78711FBE20");
  EXPECT_EQ(page.blobs[1].size, 16781196u);
  EXPECT_EQ(page.next_marker, "vol1/volumes/default/seg/0000000000000002");
}

TEST(ListBlobsXml, LastPageHasEmptyNextMarker) {
  const char xml[] =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"c\">"
      "<Blobs><Blob><Name>a&amp;b</Name><Properties><Content-Length>0</Content-Length>"
      "</Properties></Blob></Blobs><NextMarker /></EnumerationResults>";
  BlobListPage page;
  std::string error;
  ASSERT_TRUE(ParseListBlobs(xml, &page, &error)) << error;
  ASSERT_EQ(page.blobs.size(), 1u);
  EXPECT_EQ(page.blobs[0].name, "a&b");  // entities decoded
  EXPECT_EQ(page.blobs[0].size, 0u);
  EXPECT_TRUE(page.next_marker.empty());
}

TEST(ListBlobsXml, EmptyContainer) {
  BlobListPage page;
  std::string error;
  ASSERT_TRUE(ParseListBlobs("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>",
                             &page, &error));
  EXPECT_TRUE(page.blobs.empty());
  EXPECT_TRUE(page.next_marker.empty());
}

TEST(ListBlobsXml, RejectsWhatItCannotTrust) {
  BlobListPage page;
  std::string error;
  EXPECT_FALSE(ParseListBlobs("", &page, &error));
  EXPECT_FALSE(ParseListBlobs("<EnumerationResults><Blobs><Blob>", &page, &error));
  EXPECT_NE(error.find("not well-formed"), std::string::npos) << error;
  EXPECT_FALSE(ParseListBlobs("<html><body>proxy error</body></html>", &page, &error));
  EXPECT_NE(error.find("EnumerationResults"), std::string::npos) << error;
  EXPECT_FALSE(ParseListBlobs(
      "<EnumerationResults><Blobs><Blob><Properties><Content-Length>1</Content-Length>"
      "</Properties></Blob></Blobs></EnumerationResults>",
      &page, &error));
  EXPECT_NE(error.find("no Name"), std::string::npos) << error;
  for (const char* length : {"", "-1", "12x", "99999999999999999999999"}) {
    std::string xml = std::string(
                          "<EnumerationResults><Blobs><Blob><Name>k</Name><Properties>"
                          "<Content-Length>") +
                      length + "</Content-Length></Properties></Blob></Blobs></EnumerationResults>";
    EXPECT_FALSE(ParseListBlobs(xml, &page, &error)) << length;
    EXPECT_NE(error.find("Content-Length"), std::string::npos) << error;
  }
}

TEST(ErrorXml, CodeAndFirstLineOfMessage) {
  const char body[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Error>\n"
      "  <Code>BlobAlreadyExists</Code>\n  <Message>The specified blob already exists.\n"
      "RequestId:d3c3d2bf-fe84-4904-af52-8dfde905d4ad\nTime:2026-11-22T03:54:59.605Z</Message>\n"
      "</Error>";
  std::string code, message;
  ASSERT_TRUE(ParseErrorBody(body, &code, &message));
  EXPECT_EQ(code, "BlobAlreadyExists");
  EXPECT_EQ(message, "The specified blob already exists.");
}

TEST(ErrorXml, AuthenticationFailedWithDetail) {
  // Azure adds an AuthenticationErrorDetail element; it is ignored (it can quote the
  // string-to-sign, which must not reach the logs either way).
  const char body[] =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
      "<Message>Server failed to authenticate the request.\nRequestId:x\nTime:y</Message>"
      "<AuthenticationErrorDetail>The MAC signature found in the HTTP request '...' is not the "
      "same as any computed signature.</AuthenticationErrorDetail></Error>";
  std::string code, message;
  ASSERT_TRUE(ParseErrorBody(body, &code, &message));
  EXPECT_EQ(code, "AuthenticationFailed");
  EXPECT_EQ(message, "Server failed to authenticate the request.");
}

TEST(ErrorXml, NotAnErrorDocument) {
  std::string code, message;
  EXPECT_FALSE(ParseErrorBody("", &code, &message));
  EXPECT_FALSE(ParseErrorBody("<html>Bad gateway</html>", &code, &message));
  EXPECT_FALSE(ParseErrorBody("<Error><Message>no code</Message></Error>", &code, &message));
  EXPECT_FALSE(ParseErrorBody("<Error><Code>X", &code, &message));
}

TEST(BlockListXml, LatestIdsInOrder) {
  EXPECT_EQ(BlockListXml({"QUFB", "QkJC"}),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>QUFB</Latest>"
            "<Latest>QkJC</Latest></BlockList>");
  EXPECT_EQ(BlockListXml({}), "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList></BlockList>");
}

}  // namespace
}  // namespace azurebackend
