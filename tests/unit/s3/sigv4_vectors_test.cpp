// The SigV4 signer against published vectors: cases of AWS's generic signature test suite
// (service "service", us-east-1, AKIDEXAMPLE, 20150830T123600Z) and the worked examples of the S3
// API reference (examplebucket, 20130524T000000Z). Each case checks the canonical request, the
// string to sign and the signature, so a failure points at the step that went wrong.
#include <gtest/gtest.h>

#include <string>

#include "crypto.h"
#include "sigv4_signer.h"

namespace {

using s3backend::SignV4;
using s3backend::SigV4PathRule;
using s3backend::SigV4Request;
using s3backend::SigV4Scope;

const char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char kSuiteDate[] = "20150830T123600Z";
const char kSuiteScopeLine[] =
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n";
const char kSessionToken[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT"
    "7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKml"
    "zm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

SigV4Scope SuiteScope() {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
}

SigV4Request SuiteRequest(const std::string& method, const std::string& path) {
  SigV4Request r;
  r.method = method;
  r.path = path;
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  r.payload_hash = kEmptyHash;
  return r;
}

struct Expected {
  std::string canonical_request;
  std::string request_hash;  // last line of the string to sign
  std::string signature;
};

void ExpectSuiteCase(const SigV4Request& request, const Expected& expected,
                     SigV4PathRule rule = SigV4PathRule::kNormalized) {
  auto s = SignV4(request, SuiteScope(), kSuiteDate, rule);
  EXPECT_EQ(s.canonical_request, expected.canonical_request);
  EXPECT_EQ(s.string_to_sign, kSuiteScopeLine + expected.request_hash);
  EXPECT_EQ(s.signature, expected.signature);
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=" +
                s.signed_headers + ", Signature=" + expected.signature);
}

const char kVanillaCreqTail[] =
    "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(SigV4Suite, GetVanilla) {
  ExpectSuiteCase(SuiteRequest("GET", "/"),
                  {std::string("GET\n/\n\n") + kVanillaCreqTail,
                   "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
                   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"});
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  auto r = SuiteRequest("GET", "/");
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  ExpectSuiteCase(r, {std::string("GET\n/\nParam1=value1&Param2=value2\n") + kVanillaCreqTail,
                      "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
                      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"});
}

TEST(SigV4Suite, GetVanillaQueryOrderValue) {
  auto r = SuiteRequest("GET", "/");
  r.query = {{"Param1", "value2"}, {"Param1", "value1"}};
  ExpectSuiteCase(r, {std::string("GET\n/\nParam1=value1&Param1=value2\n") + kVanillaCreqTail,
                      "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
                      "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"});
}

TEST(SigV4Suite, GetVanillaEmptyQueryKey) {
  auto r = SuiteRequest("GET", "/");
  r.query = {{"Param1", "value1"}};
  ExpectSuiteCase(r, {std::string("GET\n/\nParam1=value1\n") + kVanillaCreqTail,
                      "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
                      "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"});
}

TEST(SigV4Suite, GetVanillaUtf8Query) {
  auto r = SuiteRequest("GET", "/");
  r.query = {{"\xe1\x88\xb4", "bar"}};
  ExpectSuiteCase(r, {std::string("GET\n/\n%E1%88%B4=bar\n") + kVanillaCreqTail,
                      "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
                      "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"});
}

TEST(SigV4Suite, GetUtf8Path) {
  ExpectSuiteCase(SuiteRequest("GET", "/\xe1\x88\xb4"),
                  {std::string("GET\n/%E1%88%B4\n\n") + kVanillaCreqTail,
                   "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
                   "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"});
}

TEST(SigV4Suite, GetUnreservedPath) {
  const std::string path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ExpectSuiteCase(SuiteRequest("GET", path),
                  {"GET\n" + path + "\n\n" + kVanillaCreqTail,
                   "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
                   "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"});
}

TEST(SigV4Suite, GetSpace) {
  ExpectSuiteCase(SuiteRequest("GET", "/example space/"),
                  {std::string("GET\n/example%20space/\n\n") + kVanillaCreqTail,
                   "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
                   "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"});
}

TEST(SigV4Suite, NormalizedPaths) {
  const Expected root = {std::string("GET\n/\n\n") + kVanillaCreqTail,
                         "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
                         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"};
  for (const char* path : {"//", "/./", "/example/..", "/example1/example2/../.."}) {
    SCOPED_TRACE(path);
    ExpectSuiteCase(SuiteRequest("GET", path), root);
  }
  ExpectSuiteCase(SuiteRequest("GET", "/./example"),
                  {std::string("GET\n/example\n\n") + kVanillaCreqTail,
                   "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
                   "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"});
  ExpectSuiteCase(SuiteRequest("GET", "//example//"),
                  {std::string("GET\n/example/\n\n") + kVanillaCreqTail,
                   "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
                   "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"});
}

TEST(SigV4Suite, S3RuleKeepsPathAsSent) {
  // In S3 "//a/./b/../" is a legal object key; it must be signed byte for byte.
  EXPECT_EQ(s3backend::CanonicalUri("//a/./b/../", SigV4PathRule::kS3AsIs), "//a/./b/../");
  EXPECT_EQ(s3backend::CanonicalUri("//a/./b/../", SigV4PathRule::kNormalized), "/a/");
  EXPECT_EQ(s3backend::CanonicalUri("/test$file.text", SigV4PathRule::kS3AsIs),
            "/test%24file.text");
}

TEST(SigV4Suite, GetHeaderValueTrim) {
  auto r = SuiteRequest("GET", "/");
  r.headers = {{"Host", "example.amazonaws.com"},
               {"My-Header1", " value1"},
               {"My-Header2", " \"a   b   c\""},
               {"X-Amz-Date", kSuiteDate}};
  ExpectSuiteCase(r, {"GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
                      "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
                      "host;my-header1;my-header2;x-amz-date\n" +
                          std::string(kEmptyHash),
                      "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
                      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"});
}

TEST(SigV4Suite, GetHeaderKeyDuplicate) {
  auto r = SuiteRequest("GET", "/");
  r.headers = {{"Host", "example.amazonaws.com"},
               {"My-Header1", "value2"},
               {"My-Header1", "value2"},
               {"My-Header1", "value1"},
               {"X-Amz-Date", kSuiteDate}};
  ExpectSuiteCase(r, {"GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
                      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
                          std::string(kEmptyHash),
                      "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
                      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"});
}

TEST(SigV4Suite, PostVanilla) {
  ExpectSuiteCase(SuiteRequest("POST", "/"),
                  {std::string("POST\n/\n\n") + kVanillaCreqTail,
                   "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
                   "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"});
}

TEST(SigV4Suite, PostHeaderKeySort) {
  auto r = SuiteRequest("POST", "/");
  r.headers = {
      {"Host", "example.amazonaws.com"}, {"My-Header1", "value1"}, {"X-Amz-Date", kSuiteDate}};
  ExpectSuiteCase(r, {"POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
                      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
                          std::string(kEmptyHash),
                      "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
                      "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"});
}

TEST(SigV4Suite, PostHeaderValueCaseIsKept) {
  auto r = SuiteRequest("POST", "/");
  r.headers = {
      {"Host", "example.amazonaws.com"}, {"My-Header1", "VALUE1"}, {"X-Amz-Date", kSuiteDate}};
  ExpectSuiteCase(r, {"POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\n"
                      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
                          std::string(kEmptyHash),
                      "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
                      "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"});
}

TEST(SigV4Suite, PostXWwwFormUrlencoded) {
  auto r = SuiteRequest("POST", "/");
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"Host", "example.amazonaws.com"},
               {"X-Amz-Date", kSuiteDate}};
  const std::string body = "Param1=value1";
  r.payload_hash = bphttp::Sha256Hex(body.data(), body.size());
  ASSERT_EQ(r.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  ExpectSuiteCase(r, {"POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
                      "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                      "content-type;host;x-amz-date\n" +
                          r.payload_hash,
                      "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
                      "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"});
}

TEST(SigV4Suite, PostStsTokenHeaderBefore) {
  // The session token is part of the signed headers.
  auto r = SuiteRequest("POST", "/");
  r.headers.emplace_back("X-Amz-Security-Token", kSessionToken);
  ExpectSuiteCase(r, {"POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
                      "x-amz-security-token:" +
                          std::string(kSessionToken) +
                          "\n\nhost;x-amz-date;x-amz-security-token\n" + kEmptyHash,
                      "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
                      "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"});
}

TEST(SigV4Suite, PostStsTokenHeaderAfter) {
  // The token is added after signing: the signature is the vanilla one.
  ExpectSuiteCase(SuiteRequest("POST", "/"),
                  {std::string("POST\n/\n\n") + kVanillaCreqTail,
                   "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
                   "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"});
}

// ---- S3 API reference examples (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, us-east-1) ----

SigV4Scope S3DocScope() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
}

const char kS3DocDate[] = "20130524T000000Z";
const char kS3DocScopeLine[] =
    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n";

void ExpectS3DocCase(const SigV4Request& request, const std::string& creq,
                     const std::string& request_hash, const std::string& signature) {
  auto s = SignV4(request, S3DocScope(), kS3DocDate, SigV4PathRule::kS3AsIs);
  EXPECT_EQ(s.canonical_request, creq);
  EXPECT_EQ(s.string_to_sign, kS3DocScopeLine + request_hash);
  EXPECT_EQ(s.signature, signature);
}

TEST(SigV4S3Examples, GetObjectWithRange) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptyHash},
               {"x-amz-date", kS3DocDate}};
  r.payload_hash = kEmptyHash;
  ExpectS3DocCase(r,
                  "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                  "x-amz-content-sha256:" +
                      std::string(kEmptyHash) +
                      "\nx-amz-date:20130524T000000Z\n\n"
                      "host;range;x-amz-content-sha256;x-amz-date\n" +
                      kEmptyHash,
                  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
                  "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3Examples, PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = bphttp::Sha256Hex(body.data(), body.size());
  ASSERT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r;
  r.method = "PUT";
  r.path = "/test$file.text";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", kS3DocDate},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  r.payload_hash = hash;
  ExpectS3DocCase(r,
                  "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
                  "host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" +
                      hash +
                      "\nx-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" +
                      hash,
                  "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
                  "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

SigV4Request S3DocBucketGet() {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", kS3DocDate},
               {"x-amz-content-sha256", kEmptyHash}};
  r.payload_hash = kEmptyHash;
  return r;
}

const std::string kS3DocBucketCreqTail =
    std::string("host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:") + kEmptyHash +
    "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" + kEmptyHash;

TEST(SigV4S3Examples, GetBucketLifecycle) {
  auto r = S3DocBucketGet();
  r.query = {{"lifecycle", ""}};
  ExpectS3DocCase(r, "GET\n/\nlifecycle=\n" + kS3DocBucketCreqTail,
                  "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
                  "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3Examples, ListObjects) {
  auto r = S3DocBucketGet();
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  ExpectS3DocCase(r, "GET\n/\nmax-keys=2&prefix=J\n" + kS3DocBucketCreqTail,
                  "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
                  "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Signer, RejectsMalformedDate) {
  EXPECT_THROW(SignV4(SuiteRequest("GET", "/"), SuiteScope(), "2015-08-30", SigV4PathRule::kS3AsIs),
               std::invalid_argument);
}

TEST(SigV4Signer, AmzDateNowHasTheSigningFormat) {
  std::string now = s3backend::AmzDateNow();
  ASSERT_EQ(now.size(), 16u);
  EXPECT_EQ(now[8], 'T');
  EXPECT_EQ(now[15], 'Z');
}

}  // namespace
