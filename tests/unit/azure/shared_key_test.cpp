// Shared Key string-to-sign and signature, checked byte for byte against cases worked out from
// Microsoft's "Authorize with Shared Key" (its container-metadata example and its
// canonicalized-resource examples) and against requests the backend really sends (Put Blob with
// If-None-Match, ranged Get Blob, List Blobs with several parameters, an empty body). The
// expected signatures were computed independently (Python's hmac over the expected strings),
// with the emulator's published development key.
#include <gtest/gtest.h>

#include <string>

#include "crypto.h"
#include "shared_key.h"

namespace azurebackend {
namespace {

const char kDate[] = "Sun, 11 Oct 2009 21:49:13 GMT";

std::string DevKey() {
  std::string key;
  EXPECT_TRUE(bphttp::Base64Decode(
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
      &key));
  return key;
}

TEST(SharedKey, DocumentationContainerMetadataExample) {
  // GET http://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata&timeout=20
  // as Microsoft's page spells it out, path-style (account twice in the resource).
  SignedRequest r;
  r.method = "GET";
  r.account = "myaccount";
  r.encoded_path = "/myaccount/mycontainer";
  r.query = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
  r.headers = {{"x-ms-date", kDate}, {"x-ms-version", "2009-09-19"}};
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
      "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20";
  EXPECT_EQ(StringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(DevKey(), expected), "Su5rvibNeMxB7A4I87rOtEgCDtdICsL8v5H+yJs0W+M=");
}

TEST(SharedKey, DocumentationCanonicalizedResourceExamples) {
  EXPECT_EQ(CanonicalizedResource("myaccount", "/mycontainer",
                                  {{"restype", "container"}, {"comp", "metadata"}}),
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container");
  // Repeated parameter: values sorted and comma-joined under one name.
  EXPECT_EQ(CanonicalizedResource("myaccount", "/mycontainer",
                                  {{"restype", "container"},
                                   {"comp", "list"},
                                   {"include", "snapshots"},
                                   {"include", "metadata"},
                                   {"include", "uncommittedblobs"}}),
            "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
            "restype:container");
  EXPECT_EQ(CanonicalizedResource("myaccount", "/mycontainer/myblob", {}),
            "/myaccount/mycontainer/myblob");
  // Parameter names are lower-cased; values keep their case.
  EXPECT_EQ(CanonicalizedResource("acct", "/c", {{"COMP", "List"}}), "/acct/c\ncomp:List");
}

TEST(SharedKey, PutBlobIfNoneMatch) {
  SignedRequest r;
  r.method = "PUT";
  r.account = "myaccount";
  r.encoded_path = "/mycontainer/vol1/seg/0001";
  r.headers = {{"Content-Type", "application/octet-stream"},
               {"x-ms-blob-type", "BlockBlob"},
               {"If-None-Match", "*"},
               {"x-ms-date", kDate},
               {"x-ms-version", "2021-08-06"}};
  r.content_length = 11;
  const std::string expected =
      "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n*\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2021-08-06\n"
      "/myaccount/mycontainer/vol1/seg/0001";
  EXPECT_EQ(StringToSign(r), expected);
  EXPECT_EQ(SharedKeyAuthorization(r, DevKey()),
            "SharedKey myaccount:oR93qYOml56FWhbKh1viHYEqKpECw1ZcmwALTJz5sAs=");
}

TEST(SharedKey, RangedGetSignsXMsRangeAsCanonicalHeader) {
  // x-ms-range is an x-ms- header: it is signed in the canonicalized headers, and the standard
  // Range line stays empty. Path-style endpoint, as with azurite.
  SignedRequest r;
  r.method = "GET";
  r.account = "devstoreaccount1";
  r.encoded_path = "/devstoreaccount1/blockpipe/vol1/volumes/default/seg/0000000000000001";
  r.headers = {
      {"x-ms-range", "bytes=65536-131071"}, {"x-ms-date", kDate}, {"x-ms-version", "2021-08-06"}};
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-range:bytes=65536-131071\n"
      "x-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/blockpipe/vol1/volumes/default/seg/0000000000000001";
  EXPECT_EQ(StringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(DevKey(), expected), "2PKjE075f7VKTmPFe/ysEAx2/IpZgAtRPVA+jIt7y8A=");
}

TEST(SharedKey, ListBlobsWithSeveralQueryParameters) {
  // Values are signed decoded (the marker's '!' is %21 on the wire) and names sorted.
  SignedRequest r;
  r.method = "GET";
  r.account = "myaccount";
  r.encoded_path = "/mycontainer";
  r.query = {{"restype", "container"},
             {"comp", "list"},
             {"maxresults", "1000"},
             {"prefix", "vol1/volumes/"},
             {"marker",
              "2!96!MDAwMDE2IXZvbDEvc2VnLzAwMDIhMDAwMDI4ITk5OTktMTItMzFUMjM6NTk6NTkuOTk5OTk5OVoh"}};
  r.headers = {{"x-ms-version", "2021-08-06"}, {"x-ms-date", kDate}};
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2021-08-06\n"
      "/myaccount/mycontainer\ncomp:list\n"
      "marker:2!96!MDAwMDE2IXZvbDEvc2VnLzAwMDIhMDAwMDI4ITk5OTktMTItMzFUMjM6NTk6NTkuOTk5OTk5OVoh\n"
      "maxresults:1000\nprefix:vol1/volumes/\nrestype:container";
  EXPECT_EQ(StringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(DevKey(), expected), "LqQyY0g2ducQNRBcBgk835GdfgLbdLMhG1sRvk3xPSM=");
}

TEST(SharedKey, ZeroContentLengthIsAnEmptyLine) {
  SignedRequest r;
  r.method = "PUT";
  r.account = "myaccount";
  r.encoded_path = "/mycontainer/empty";
  r.headers = {{"Content-Type", "application/octet-stream"},
               {"x-ms-blob-type", "BlockBlob"},
               {"x-ms-date", kDate},
               {"x-ms-version", "2021-08-06"}};
  r.content_length = 0;
  const std::string expected =
      "PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2021-08-06\n"
      "/myaccount/mycontainer/empty";
  EXPECT_EQ(StringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(DevKey(), expected), "GJcpiVA6wEf6aHVUbBu1II68N/0ynjqiGzSNtKy7zEo=");
}

TEST(SharedKey, CanonicalizedHeadersLowerCaseSortFoldAndSkipOthers) {
  HeaderList headers = {{"X-MS-Version", "2021-08-06"},
                        {"Content-Type", "text/plain"},
                        {"x-ms-meta-Note", "  two   words\there "},
                        {"x-ms-blob-type", "BlockBlob"},
                        {"Host", "example"}};
  EXPECT_EQ(CanonicalizedHeaders(headers),
            "x-ms-blob-type:BlockBlob\nx-ms-meta-note:two words here\nx-ms-version:2021-08-06\n");
}

TEST(SharedKey, StandardHeadersAreMatchedCaseInsensitively) {
  SignedRequest r;
  r.method = "GET";
  r.account = "a";
  r.encoded_path = "/c/b";
  r.headers = {{"IF-MATCH", "\"0x8D\""}, {"content-md5", "abc=="}, {"Range", "bytes=0-1"}};
  EXPECT_EQ(StringToSign(r), "GET\n\n\n\nabc==\n\n\n\n\"0x8D\"\n\n\nbytes=0-1\n/a/c/b");
}

TEST(SharedKey, SignatureDependsOnEveryByte) {
  std::string key = DevKey();
  std::string base = "GET\n\n\n\n\n\n\n\n\n\n\n\n/a/c/b";
  std::string other = base;
  other.back() = 'c';
  EXPECT_NE(SharedKeySignature(key, base), SharedKeySignature(key, other));
  std::string other_key = key;
  other_key[0] ^= 1;
  EXPECT_NE(SharedKeySignature(key, base), SharedKeySignature(other_key, base));
}

TEST(SharedKey, HttpDateIsRfc1123InGmt) {
  EXPECT_EQ(HttpDate(1255297753), kDate);
  EXPECT_EQ(HttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(HttpDate(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
}

}  // namespace
}  // namespace azurebackend
