// Known-answer tests of the shared HTTP layer's pure parts: digests, HMAC (RFC 4231), base64
// (RFC 4648), percent-encoding, endpoint parsing, URL redaction, HTTP status classes and the
// put-if-absent probe's verdicts.
#include <blockpipe/bp_common.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "crypto.h"
#include "put_if_absent_probe.h"
#include "status_class.h"
#include "uri.h"

namespace {

using namespace bphttp;

TEST(HttpCommonCrypto, Sha256OfEmptyInput) {
  EXPECT_EQ(Sha256Hex(nullptr, 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HttpCommonCrypto, Sha256OfAbc) {
  EXPECT_EQ(Sha256Hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HttpCommonCrypto, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HttpCommonCrypto, HmacSha256Rfc4231Case6LongKey) {
  std::string key(131, '\xaa');
  EXPECT_EQ(Hex(HmacSha256(key, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HttpCommonCrypto, Md5OfEmptyInputAsBase64) {
  EXPECT_EQ(Base64Encode(Md5Raw(nullptr, 0)), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(HttpCommonCrypto, Base64Rfc4648Vectors) {
  const std::map<std::string, std::string> vectors = {{"", ""},
                                                      {"f", "Zg=="},
                                                      {"fo", "Zm8="},
                                                      {"foo", "Zm9v"},
                                                      {"foob", "Zm9vYg=="},
                                                      {"fooba", "Zm9vYmE="},
                                                      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    std::string decoded;
    ASSERT_TRUE(Base64Decode(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, plain);
  }
}

TEST(HttpCommonCrypto, Base64RejectsMalformedInput) {
  std::string out;
  EXPECT_FALSE(Base64Decode("Zm9", &out));       // length not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v!A==", &out));  // character outside the alphabet
  EXPECT_FALSE(Base64Decode("Z===", &out));      // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zm9v", &out));  // data after padding
  EXPECT_FALSE(Base64Decode("Zm 9", &out));      // whitespace
}

TEST(HttpCommonCrypto, Base64RoundTripsBinary) {
  std::string raw;
  for (int i = 0; i < 256; ++i) raw.push_back(static_cast<char>(i));
  std::string back;
  ASSERT_TRUE(Base64Decode(Base64Encode(raw), &back));
  EXPECT_EQ(back, raw);
}

TEST(HttpCommonUri, EncodeKeepsUnreservedOnly) {
  EXPECT_EQ(UriEncode("AZaz09-._~", true), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b+c=d&e*", true), "a%20b%2Bc%3Dd%26e%2A");
  EXPECT_EQ(UriEncode("dir/file", false), "dir/file");
  EXPECT_EQ(UriEncode("dir/file", true), "dir%2Ffile");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", true), "%E1%88%B4");
}

TEST(HttpCommonUri, DecodeInvertsEncode) {
  std::string out;
  ASSERT_TRUE(UriDecode("a%20b%2Fc+d", &out));
  EXPECT_EQ(out, "a b/c+d");
  EXPECT_FALSE(UriDecode("bad%2", &out));
  EXPECT_FALSE(UriDecode("bad%zz", &out));
}

TEST(HttpCommonUri, ParsesAwsEndpoint) {
  Endpoint e;
  std::string error;
  ASSERT_TRUE(ParseEndpoint("https://S3.eu-west-1.amazonaws.com/", &e, &error)) << error;
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e.port, 443);
  EXPECT_FALSE(e.explicit_port);
  EXPECT_EQ(e.path, "");
  EXPECT_FALSE(e.loopback);
  EXPECT_FALSE(e.ip_literal);
  EXPECT_EQ(e.Authority(), "s3.eu-west-1.amazonaws.com");
}

TEST(HttpCommonUri, ParsesLoopbackWithPortAndPath) {
  Endpoint e;
  std::string error;
  ASSERT_TRUE(ParseEndpoint("http://127.0.0.1:7480/base/", &e, &error)) << error;
  EXPECT_EQ(e.port, 7480);
  EXPECT_EQ(e.path, "/base");
  EXPECT_TRUE(e.loopback);
  EXPECT_TRUE(e.ip_literal);
  EXPECT_EQ(e.Origin(), "http://127.0.0.1:7480");
  ASSERT_TRUE(ParseEndpoint("http://[::1]:9000", &e, &error)) << error;
  EXPECT_EQ(e.host, "::1");
  EXPECT_TRUE(e.loopback);
  EXPECT_EQ(e.Authority(), "[::1]:9000");
  ASSERT_TRUE(ParseEndpoint("http://localhost", &e, &error)) << error;
  EXPECT_TRUE(e.loopback);
  EXPECT_FALSE(e.ip_literal);
  ASSERT_TRUE(ParseEndpoint("http://10.1.2.3:80", &e, &error)) << error;
  EXPECT_FALSE(e.loopback);
  EXPECT_TRUE(e.ip_literal);
  EXPECT_EQ(e.Authority(), "10.1.2.3");
}

TEST(HttpCommonUri, RejectsBadEndpoints) {
  Endpoint e;
  std::string error;
  for (const char* bad : {"s3.amazonaws.com", "ftp://host", "http://", "http://host:0",
                          "http://host:99999", "http://host:x", "http://user:pw@host",
                          "http://host/?a=b", "http://[::1", "http://ho st"}) {
    EXPECT_FALSE(ParseEndpoint(bad, &e, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(HttpCommonUri, RedactsCredentialsInQueries) {
  EXPECT_EQ(RedactQuery("https://a.blob.core.windows.net/c/b?sv=2021&sig=SECRET%2B&sp=r"),
            "https://a.blob.core.windows.net/c/b?sv=2021&sig=REDACTED&sp=r");
  EXPECT_EQ(RedactQuery("https://h/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc&list-type=2"),
            "https://h/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&list-type=2");
  EXPECT_EQ(RedactQuery("https://h/k"), "https://h/k");
}

HttpResponse WithStatus(long status) {
  HttpResponse r;
  r.status = status;
  return r;
}

TEST(HttpCommonStatus, ClassifiesStatuses) {
  EXPECT_EQ(ClassifyHttp(WithStatus(200)), BP_OK);
  EXPECT_EQ(ClassifyHttp(WithStatus(204)), BP_OK);
  EXPECT_EQ(ClassifyHttp(WithStatus(206)), BP_OK);
  for (long s : {0L, 408L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_EQ(ClassifyHttp(WithStatus(s)), BP_ERR_TRANSIENT) << s;
  }
  EXPECT_EQ(ClassifyHttp(WithStatus(404)), BP_ERR_NOT_FOUND);
  EXPECT_EQ(ClassifyHttp(WithStatus(412)), BP_ERR_PRECONDITION);
  for (long s : {400L, 401L, 403L, 409L, 416L, 501L}) {
    EXPECT_EQ(ClassifyHttp(WithStatus(s)), BP_ERR_PERMANENT) << s;
  }
  HttpResponse overflow = WithStatus(200);
  overflow.sink_overflow = true;
  EXPECT_EQ(ClassifyHttp(overflow), BP_ERR_PERMANENT);
}

TEST(HttpCommonStatus, HeaderLookupIsByLowerCaseName) {
  HttpResponse r;
  r.headers = {{"etag", "\"x\""}, {"content-length", "5"}};
  ASSERT_NE(r.Header("etag"), nullptr);
  EXPECT_EQ(*r.Header("etag"), "\"x\"");
  EXPECT_EQ(r.Header("range"), nullptr);
}

// An in-memory store with switchable put-if-absent semantics drives the probe.
struct ProbeStore {
  bool honour_condition = true;
  int first_put_result = BP_OK;
  std::map<std::string, int> objects;
  int puts = 0;

  int Put(const std::string& key, bool if_absent) {
    ++puts;
    if (puts == 1 && first_put_result != BP_OK) return first_put_result;
    if (if_absent && honour_condition && objects.count(key) != 0) return BP_ERR_PRECONDITION;
    objects[key] = 1;
    return BP_OK;
  }
  int Del(const std::string& key) { return objects.erase(key) != 0 ? BP_OK : BP_ERR_NOT_FOUND; }
};

TEST(HttpCommonProbe, HonouredWhenSecondPutIsRefused) {
  ProbeStore store;
  std::string key_seen;
  std::string detail;
  bool ok = ProbePutIfAbsent(
      [&](const std::string& key, bool if_absent) {
        key_seen = key;
        return store.Put(key, if_absent);
      },
      [&](const std::string& key) { return store.Del(key); }, &detail);
  EXPECT_TRUE(ok) << detail;
  EXPECT_EQ(key_seen.rfind(".blockpipe-probe/", 0), 0u) << key_seen;
  EXPECT_TRUE(store.objects.empty()) << "the probe object must be deleted";
}

TEST(HttpCommonProbe, NotHonouredWhenStoreOverwrites) {
  ProbeStore store;
  store.honour_condition = false;
  std::string detail;
  EXPECT_FALSE(ProbePutIfAbsent([&](const std::string& k, bool a) { return store.Put(k, a); },
                                [&](const std::string& k) { return store.Del(k); }, &detail));
  EXPECT_NE(detail.find("succeeded"), std::string::npos) << detail;
  EXPECT_TRUE(store.objects.empty());
}

TEST(HttpCommonProbe, NotHonouredWhenFirstPutFails) {
  ProbeStore store;
  store.first_put_result = BP_ERR_PERMANENT;
  std::string detail;
  EXPECT_FALSE(ProbePutIfAbsent([&](const std::string& k, bool a) { return store.Put(k, a); },
                                [&](const std::string& k) { return store.Del(k); }, &detail));
  EXPECT_NE(detail.find("first"), std::string::npos) << detail;
}

TEST(HttpCommonProbe, ProbeKeysAreFresh) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

}  // namespace
