// The S3 backend's pure parts: the credential chain (config, explicit profile, environment,
// shared file; half pairs refused), url/endpoint/addressing validation, the XML documents, and
// the S3 error-code classes.
#include <blockpipe/bp_common.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "s3_credentials.h"
#include "s3_errors.h"
#include "s3_location.h"
#include "s3_xml.h"

namespace {

using namespace s3backend;

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/blockpipe-s3-test-XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> Lookup() {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

const char kCredentialsFile[] =
    "# comment\n[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n\n"
    "[profile other]\n; another "
    "comment\nAWS_ACCESS_KEY_ID=OTHERKEY\naws_secret_access_key=OTHERSECRET\n"
    "aws_session_token = OTHERTOKEN\n[broken]\naws_access_key_id = ONLYKEY\n";

TEST(S3Credentials, ConfigKeysComeFirst) {
  FakeEnv env;
  env.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"}};
  CredentialInputs in;
  in.access_key_id = "CFGKEY";
  in.secret_access_key = "CFGSECRET";
  in.session_token = "CFGTOKEN";
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  ASSERT_EQ(ResolveCredentials(in, &c, &error), BP_OK) << error;
  EXPECT_EQ(c.access_key_id, "CFGKEY");
  EXPECT_EQ(c.secret_access_key, "CFGSECRET");
  EXPECT_EQ(c.session_token, "CFGTOKEN");
  EXPECT_EQ(c.source, "config");
}

TEST(S3Credentials, HalfAConfigPairIsAnError) {
  CredentialInputs in;
  in.access_key_id = "CFGKEY";
  S3Credentials c;
  std::string error;
  EXPECT_EQ(ResolveCredentials(in, &c, &error), BP_ERR_INVALID);
  EXPECT_NE(error.find("secret_access_key"), std::string::npos) << error;
}

TEST(S3Credentials, EnvironmentBeforeDefaultFile) {
  TempFile file(kCredentialsFile);
  FakeEnv env;
  env.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"},
              {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
              {"AWS_SESSION_TOKEN", "ENVTOKEN"},
              {"AWS_SHARED_CREDENTIALS_FILE", file.path()}};
  CredentialInputs in;
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  ASSERT_EQ(ResolveCredentials(in, &c, &error), BP_OK) << error;
  EXPECT_EQ(c.access_key_id, "ENVKEY");
  EXPECT_EQ(c.session_token, "ENVTOKEN");
  EXPECT_EQ(c.source, "environment");
}

TEST(S3Credentials, HalfAnEnvironmentPairIsAnError) {
  FakeEnv env;
  env.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}};
  CredentialInputs in;
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  EXPECT_EQ(ResolveCredentials(in, &c, &error), BP_ERR_INVALID);
  EXPECT_NE(error.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << error;
}

TEST(S3Credentials, DefaultProfileOfTheSharedFile) {
  TempFile file(kCredentialsFile);
  FakeEnv env;
  env.vars = {{"AWS_SHARED_CREDENTIALS_FILE", file.path()}};
  CredentialInputs in;
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  ASSERT_EQ(ResolveCredentials(in, &c, &error), BP_OK) << error;
  EXPECT_EQ(c.access_key_id, "FILEKEY");
  EXPECT_EQ(c.secret_access_key, "FILESECRET");
  EXPECT_TRUE(c.session_token.empty());
}

TEST(S3Credentials, ExplicitProfileWinsOverEnvironment) {
  TempFile file(kCredentialsFile);
  FakeEnv env;
  env.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"}};
  CredentialInputs in;
  in.profile = "other";
  in.credentials_file = file.path();
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  ASSERT_EQ(ResolveCredentials(in, &c, &error), BP_OK) << error;
  EXPECT_EQ(c.access_key_id, "OTHERKEY");
  EXPECT_EQ(c.session_token, "OTHERTOKEN");
}

TEST(S3Credentials, MissingOrIncompleteProfileIsAnError) {
  TempFile file(kCredentialsFile);
  CredentialInputs in;
  in.credentials_file = file.path();
  in.profile = "nosuch";
  S3Credentials c;
  std::string error;
  EXPECT_EQ(ResolveCredentials(in, &c, &error), BP_ERR_INVALID);
  EXPECT_NE(error.find("nosuch"), std::string::npos) << error;
  in.profile = "broken";
  EXPECT_EQ(ResolveCredentials(in, &c, &error), BP_ERR_INVALID);
  EXPECT_NE(error.find("aws_secret_access_key"), std::string::npos) << error;
  EXPECT_EQ(error.find("ONLYKEY"), std::string::npos) << "no key material in messages";
}

TEST(S3Credentials, NothingAnywhereNamesEverySource) {
  FakeEnv env;
  env.vars = {{"HOME", "/nonexistent-home-for-test"}};
  CredentialInputs in;
  in.getenv = env.Lookup();
  S3Credentials c;
  std::string error;
  EXPECT_EQ(ResolveCredentials(in, &c, &error), BP_ERR_INVALID);
  EXPECT_NE(error.find("access_key_id"), std::string::npos) << error;
  EXPECT_NE(error.find("AWS_ACCESS_KEY_ID"), std::string::npos) << error;
  EXPECT_NE(error.find("/nonexistent-home-for-test/.aws/credentials"), std::string::npos) << error;
}

S3Location Locate(const std::string& url, const std::string& endpoint,
                  const std::string& addressing = "auto", bool allow_http = false,
                  int expect = BP_OK) {
  S3LocationInputs in{url, endpoint, "eu-west-1", addressing, allow_http};
  S3Location loc;
  std::string error;
  EXPECT_EQ(BuildS3Location(in, &loc, &error), expect) << url << " " << endpoint << ": " << error;
  return loc;
}

TEST(S3Location, AwsDefaultsToVirtualHosts) {
  S3Location loc = Locate("s3://my-bucket/vols/a/", "");
  EXPECT_EQ(loc.endpoint.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_TRUE(loc.virtual_hosted);
  EXPECT_EQ(loc.prefix, "vols/a/");
  EXPECT_EQ(loc.Host(), "my-bucket.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(loc.BucketPath(), "/");
  EXPECT_EQ(loc.ObjectPath("vols/a/k"), "/vols/a/k");
  EXPECT_EQ(loc.Url(), "s3://my-bucket/vols/a");
}

TEST(S3Location, DottedBucketsOnAwsUsePaths) {
  S3Location loc = Locate("s3://my.bucket", "");
  EXPECT_FALSE(loc.virtual_hosted);
  EXPECT_EQ(loc.prefix, "");
  EXPECT_EQ(loc.ObjectPath("k"), "/my.bucket/k");
}

TEST(S3Location, CustomEndpointsUsePaths) {
  S3Location loc = Locate("s3://bucket/p", "http://127.0.0.1:7480");
  EXPECT_FALSE(loc.virtual_hosted);
  EXPECT_EQ(loc.Host(), "127.0.0.1:7480");
  EXPECT_EQ(loc.Origin(), "http://127.0.0.1:7480");
  EXPECT_EQ(loc.BucketPath(), "/bucket");
  EXPECT_EQ(loc.ObjectPath("p/k"), "/bucket/p/k");
  S3Location with_base = Locate("s3://bucket", "https://gw.example.com/s3/");
  EXPECT_EQ(with_base.ObjectPath("k"), "/s3/bucket/k");
  S3Location forced = Locate("s3://bucket", "https://minio.example.com", "virtual");
  EXPECT_TRUE(forced.virtual_hosted);
  EXPECT_EQ(forced.Host(), "bucket.minio.example.com");
}

TEST(S3Location, PlainHttpNeedsLoopbackOrOptIn) {
  Locate("s3://bucket", "http://10.0.0.5:9000", "auto", false, BP_ERR_INVALID);
  Locate("s3://bucket", "http://10.0.0.5:9000", "auto", true, BP_OK);
  Locate("s3://bucket", "http://localhost:9000", "auto", false, BP_OK);
}

TEST(S3Location, RejectsBadInput) {
  Locate("file:///x", "", "auto", false, BP_ERR_INVALID);
  Locate("s3://", "", "auto", false, BP_ERR_INVALID);
  Locate("s3://ab", "", "auto", false, BP_ERR_INVALID);
  Locate("s3://bad bucket", "", "auto", false, BP_ERR_INVALID);
  Locate("s3://bucket//p", "", "auto", false, BP_ERR_INVALID);
  Locate("s3://bucket", "", "sideways", false, BP_ERR_INVALID);
  Locate("s3://bucket", "http://127.0.0.1:7480", "virtual", false, BP_ERR_INVALID);
  Locate("s3://my.bucket", "https://s3.amazonaws.com", "virtual", false, BP_ERR_INVALID);
  Locate("s3://bucket", "ftp://x", "auto", false, BP_ERR_INVALID);
}

TEST(S3Xml, ParsesErrorDocuments) {
  S3ErrorDocument doc;
  ASSERT_TRUE(
      ParseErrorDocument("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
                         "<Message>The specified key does not exist.</Message><Key>k</Key></Error>",
                         &doc));
  EXPECT_EQ(doc.code, "NoSuchKey");
  EXPECT_EQ(doc.message, "The specified key does not exist.");
  EXPECT_FALSE(ParseErrorDocument("", &doc));
  EXPECT_FALSE(ParseErrorDocument("<html><body>Bad Gateway</body></html>", &doc));
  EXPECT_FALSE(ParseErrorDocument("<Error><Code>", &doc));
}

TEST(S3Xml, ParsesListPages) {
  ListObjectsPage page;
  std::string error;
  ASSERT_TRUE(ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>"
      "<Contents><Key>p/a&amp;b</Key><Size>10</Size></Contents>"
      "<Contents><Key>p/c</Key><Size>18446744073709551615</Size></Contents></ListBucketResult>",
      &page, &error))
      << error;
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].first, "p/a&b");
  EXPECT_EQ(page.objects[0].second, 10u);
  EXPECT_EQ(page.objects[1].second, UINT64_MAX);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "tok+/=");

  ASSERT_TRUE(ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", &page, &error))
      << error;
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
}

TEST(S3Xml, RejectsMalformedListPages) {
  ListObjectsPage page;
  std::string error;
  EXPECT_FALSE(ParseListObjectsV2("not xml <", &page, &error));
  EXPECT_FALSE(ParseListObjectsV2("<Other/>", &page, &error));
  EXPECT_FALSE(ParseListObjectsV2(
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      &page, &error));
  EXPECT_FALSE(ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", &page, &error));
  EXPECT_NE(error.find("NextContinuationToken"), std::string::npos) << error;
}

TEST(S3Xml, BuildsDeleteRequestsWithEscapedKeys) {
  std::string xml = BuildDeleteRequest({"a/1", "b<&>\"2"});
  EXPECT_NE(xml.find("<Quiet>true</Quiet>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Object><Key>a/1</Key></Object>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("b&lt;&amp;&gt;"), std::string::npos) << xml;
}

TEST(S3Xml, ParsesDeleteResults) {
  std::vector<DeleteFailure> failures;
  std::string error;
  ASSERT_TRUE(ParseDeleteResult(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message></Error></DeleteResult>",
      &failures, &error))
      << error;
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].key, "b");
  EXPECT_EQ(failures[0].code, "AccessDenied");
  EXPECT_FALSE(ParseDeleteResult("<Error><Code>x</Code></Error>", &failures, &error));
}

bphttp::HttpResponse Response(long status, const std::string& code) {
  bphttp::HttpResponse r;
  r.status = status;
  if (!code.empty()) r.body = "<Error><Code>" + code + "</Code><Message>m</Message></Error>";
  return r;
}

TEST(S3Errors, StoreCodesOverrideStatuses) {
  EXPECT_EQ(ClassifyS3Response(Response(503, "SlowDown")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(503, "ServiceUnavailable")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(500, "InternalError")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(400, "RequestTimeout")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(409, "ConditionalRequestConflict")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(404, "NoSuchKey")).code, BP_ERR_NOT_FOUND);
  EXPECT_EQ(ClassifyS3Response(Response(404, "NoSuchBucket")).code, BP_ERR_PERMANENT);
  EXPECT_EQ(ClassifyS3Response(Response(403, "AccessDenied")).code, BP_ERR_PERMANENT);
  EXPECT_EQ(ClassifyS3Response(Response(403, "SignatureDoesNotMatch")).code, BP_ERR_PERMANENT);
  EXPECT_EQ(ClassifyS3Response(Response(403, "InvalidAccessKeyId")).code, BP_ERR_PERMANENT);
  EXPECT_EQ(ClassifyS3Response(Response(412, "PreconditionFailed")).code, BP_ERR_PRECONDITION);
  EXPECT_EQ(ClassifyS3Response(Response(412, "")).code, BP_ERR_PRECONDITION);
  EXPECT_EQ(ClassifyS3Response(Response(404, "")).code, BP_ERR_NOT_FOUND);
  EXPECT_EQ(ClassifyS3Response(Response(502, "")).code, BP_ERR_TRANSIENT);
  EXPECT_EQ(ClassifyS3Response(Response(200, "")).code, BP_OK);
  bphttp::HttpResponse none;
  none.transport_error = "Connection refused";
  S3Failure f = ClassifyS3Response(none);
  EXPECT_EQ(f.code, BP_ERR_TRANSIENT);
  EXPECT_NE(f.summary.find("Connection refused"), std::string::npos);
  S3Failure denied = ClassifyS3Response(Response(403, "AccessDenied"));
  EXPECT_EQ(denied.summary, "HTTP 403 AccessDenied: m");
}

}  // namespace
