// Resolution of location, endpoint, account and credentials from the [backend] keys, the
// environment and connection strings: the precedence rules, the path-style account of emulator
// endpoints, the refusal of plain http off loopback, and messages that name the source of a bad
// secret without printing it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "azure_location.h"
#include "azure_settings.h"

namespace azurebackend {
namespace {

const char kKeyA[] = "a2V5LWE=";  // base64("key-a")
const char kKeyB[] = "a2V5LWI=";  // base64("key-b")

class SettingsTest : public ::testing::Test {
 protected:
  SettingsInput Input(const std::string& url = "azure://blockpipe/vol1") {
    SettingsInput input;
    input.url = url;
    input.env = [this](const char* name) {
      auto it = env_.find(name);
      return it != env_.end() ? it->second : std::string();
    };
    return input;
  }
  bool Resolve(const SettingsInput& input) {
    error_.clear();
    return ResolveSettings(input, &out_, &error_);
  }
  std::map<std::string, std::string> env_;
  ResolvedSettings out_;
  std::string error_;
};

TEST(AzureUrl, ContainerAndPrefix) {
  ContainerLocation loc;
  std::string error;
  ASSERT_TRUE(ParseAzureUrl("azure://blockpipe", &loc, &error)) << error;
  EXPECT_EQ(loc.container, "blockpipe");
  EXPECT_EQ(loc.prefix, "");
  ASSERT_TRUE(ParseAzureUrl("azure://my-disks/a/b/", &loc, &error)) << error;
  EXPECT_EQ(loc.container, "my-disks");
  EXPECT_EQ(loc.prefix, "a/b/");
  ASSERT_TRUE(ParseAzureUrl("azure://c01//x", &loc, &error)) << error;
  EXPECT_EQ(loc.prefix, "x/");
}

TEST(AzureUrl, RejectsWhatAzureWouldRejectOrRemap) {
  ContainerLocation loc;
  std::string error;
  for (const char* url :
       {"s3://bucket", "azure://", "azure:///prefix", "azure://ab", "azure://Upper",
        "azure://-lead", "azure://trail-", "azure://two--dash", "azure://under_score",
        "azure://c01/a//b", "azure://c01/a/../b", "azure://c01/sp ace", "azure://c01/q?x"}) {
    EXPECT_FALSE(ParseAzureUrl(url, &loc, &error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
  ParseAzureUrl("azure://Upper", &loc, &error);
  EXPECT_NE(error.find("lower-case"), std::string::npos) << error;
}

TEST(AzureUrl, KeysAndAccounts) {
  EXPECT_TRUE(ValidKey("volumes/default/seg/0000000000000001"));
  EXPECT_TRUE(ValidKey(".blockpipe-probe/0a1b"));
  EXPECT_FALSE(ValidKey(""));
  EXPECT_FALSE(ValidKey("a//b"));
  EXPECT_FALSE(ValidKey("a/../b"));
  EXPECT_FALSE(ValidKey("with space"));
  EXPECT_FALSE(ValidKey(std::string(513, 'a')));
  EXPECT_TRUE(ValidAccountName("devstoreaccount1"));
  EXPECT_FALSE(ValidAccountName("Dev"));
  EXPECT_FALSE(ValidAccountName("ab"));
  EXPECT_FALSE(ValidAccountName("a-b-c"));
}

TEST(BlobAddressing, PathsAndUrls) {
  bphttp::Endpoint ep;
  std::string error;
  ASSERT_TRUE(bphttp::ParseEndpoint("http://127.0.0.1:10000/devstoreaccount1", &ep, &error));
  BlobAddressing path_style(ep, "blockpipe");
  EXPECT_EQ(path_style.ContainerPath(), "/devstoreaccount1/blockpipe");
  EXPECT_EQ(path_style.BlobPath("vol1/seg/0001"), "/devstoreaccount1/blockpipe/vol1/seg/0001");
  EXPECT_EQ(path_style.Url(path_style.ContainerPath(),
                           {{"restype", "container"}, {"comp", "list"}, {"marker", "2!a b/"}}, ""),
            "http://127.0.0.1:10000/devstoreaccount1/blockpipe?restype=container&comp=list&"
            "marker=2%21a%20b%2F");
  ASSERT_TRUE(bphttp::ParseEndpoint("https://acct.blob.core.windows.net", &ep, &error));
  BlobAddressing host_style(ep, "c01");
  EXPECT_EQ(host_style.BlobPath("k"), "/c01/k");
  EXPECT_EQ(host_style.Url(host_style.BlobPath("k"), {}, "sv=1&sig=abc"),
            "https://acct.blob.core.windows.net/c01/k?sv=1&sig=abc");
  EXPECT_EQ(host_style.Url(host_style.BlobPath("k"), {{"comp", "block"}}, "sv=1&sig=abc"),
            "https://acct.blob.core.windows.net/c01/k?comp=block&sv=1&sig=abc");
}

TEST_F(SettingsTest, EmulatorEndpointFixesTheAccountAndEnvGivesTheKey) {
  env_["AZURE_STORAGE_ACCOUNT"] = "otheraccount";
  env_["AZURE_STORAGE_KEY"] = kKeyA;
  SettingsInput in = Input();
  in.endpoint = "http://127.0.0.1:10000/devstoreaccount1";
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.account, "devstoreaccount1");
  EXPECT_EQ(out_.auth, AuthMode::kSharedKey);
  EXPECT_EQ(out_.decoded_key, "key-a");
  EXPECT_EQ(out_.credential_source, "$AZURE_STORAGE_KEY");
  EXPECT_EQ(out_.location.prefix, "vol1/");
}

TEST_F(SettingsTest, DefaultEndpointIsTheAccountsPublicHost) {
  env_["AZURE_STORAGE_ACCOUNT"] = "myacct";
  env_["AZURE_STORAGE_KEY"] = kKeyA;
  ASSERT_TRUE(Resolve(Input())) << error_;
  EXPECT_EQ(out_.endpoint_text, "https://myacct.blob.core.windows.net");
  EXPECT_EQ(out_.endpoint.host, "myacct.blob.core.windows.net");
  EXPECT_EQ(out_.endpoint.path, "");
}

TEST_F(SettingsTest, ExplicitAccountContradictingEndpointPathIsAnError) {
  SettingsInput in = Input();
  in.endpoint = "http://127.0.0.1:10000/devstoreaccount1";
  in.account = "someoneelse";
  in.account_key = kKeyA;
  EXPECT_FALSE(Resolve(in));
  EXPECT_NE(error_.find("contradicts"), std::string::npos) << error_;
}

TEST_F(SettingsTest, CredentialPrecedence) {
  env_["AZURE_STORAGE_ACCOUNT"] = "myacct";
  env_["AZURE_STORAGE_KEY"] = kKeyB;
  env_["AZURE_STORAGE_SAS_TOKEN"] = "sv=2021-08-06&sig=ENV";
  SettingsInput in = Input();
  in.account_key = kKeyA;  // explicit key beats everything
  in.sas_token = "sv=x&sig=CFG";
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.decoded_key, "key-a");
  EXPECT_EQ(out_.credential_source, "account_key");

  in.account_key.clear();  // then an explicit SAS token, over the environment's key
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.auth, AuthMode::kSas);
  EXPECT_EQ(out_.sas_token, "sv=x&sig=CFG");

  in.sas_token.clear();  // then the environment's key, over its SAS token
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.auth, AuthMode::kSharedKey);
  EXPECT_EQ(out_.decoded_key, "key-b");

  env_.erase("AZURE_STORAGE_KEY");
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.auth, AuthMode::kSas);
  EXPECT_EQ(out_.sas_token, "sv=2021-08-06&sig=ENV");
  EXPECT_EQ(out_.credential_source, "$AZURE_STORAGE_SAS_TOKEN");
}

TEST_F(SettingsTest, SasTokenLeadingQuestionMarkDroppedAndShapeChecked) {
  env_["AZURE_STORAGE_ACCOUNT"] = "myacct";
  SettingsInput in = Input();
  in.sas_token = "?sv=2021-08-06&ss=b&sig=abc%3D";
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.sas_token, "sv=2021-08-06&ss=b&sig=abc%3D");
  in.sas_token = "sv=2021-08-06&ss=b";
  EXPECT_FALSE(Resolve(in));
  EXPECT_NE(error_.find("no sig="), std::string::npos) << error_;
  in.sas_token = "sv=1&sig=SECRETVALUE with space";
  EXPECT_FALSE(Resolve(in));
  EXPECT_EQ(error_.find("SECRETVALUE"), std::string::npos) << "the token leaked: " << error_;
}

TEST_F(SettingsTest, BadKeyNamesItsSourceNotItsValue) {
  env_["AZURE_STORAGE_ACCOUNT"] = "myacct";
  env_["AZURE_STORAGE_KEY"] = "SECRET-NOT-BASE64!";
  EXPECT_FALSE(Resolve(Input()));
  EXPECT_NE(error_.find("$AZURE_STORAGE_KEY"), std::string::npos) << error_;
  EXPECT_NE(error_.find("base64"), std::string::npos) << error_;
  EXPECT_EQ(error_.find("SECRET"), std::string::npos) << "the key leaked: " << error_;
}

TEST_F(SettingsTest, MissingAccountOrCredentials) {
  EXPECT_FALSE(Resolve(Input()));
  EXPECT_NE(error_.find("no storage account"), std::string::npos) << error_;
  env_["AZURE_STORAGE_ACCOUNT"] = "myacct";
  EXPECT_FALSE(Resolve(Input()));
  EXPECT_NE(error_.find("no credentials"), std::string::npos) << error_;
  env_["AZURE_STORAGE_ACCOUNT"] = "Bad_Name";
  env_["AZURE_STORAGE_KEY"] = kKeyA;
  EXPECT_FALSE(Resolve(Input()));
  EXPECT_NE(error_.find("not a storage account name"), std::string::npos) << error_;
}

TEST_F(SettingsTest, PlainHttpOnlyToLoopbackUnlessAllowed) {
  SettingsInput in = Input();
  in.account_key = kKeyA;
  in.endpoint = "http://storage.example.net/acct01";
  EXPECT_FALSE(Resolve(in));
  EXPECT_NE(error_.find("allow_http"), std::string::npos) << error_;
  in.allow_http = true;
  EXPECT_TRUE(Resolve(in)) << error_;
  in.endpoint = "http://127.0.0.1:10000/devstoreaccount1/extra";
  EXPECT_FALSE(Resolve(in));
  EXPECT_NE(error_.find("more than one segment"), std::string::npos) << error_;
  in.endpoint = "ftp://x";
  EXPECT_FALSE(Resolve(in));
}

TEST_F(SettingsTest, ConnectionStringFromEnvironment) {
  env_["AZURE_STORAGE_CONNECTION_STRING"] =
      std::string("DefaultEndpointsProtocol=https;AccountName=csacct;AccountKey=") + kKeyB +
      ";EndpointSuffix=core.chinacloudapi.cn";
  ASSERT_TRUE(Resolve(Input())) << error_;
  EXPECT_EQ(out_.account, "csacct");
  EXPECT_EQ(out_.endpoint_text, "https://csacct.blob.core.chinacloudapi.cn");
  EXPECT_EQ(out_.decoded_key, "key-b");
  EXPECT_NE(out_.credential_source.find("AZURE_STORAGE_CONNECTION_STRING"), std::string::npos);

  // Explicit keys take precedence over the connection string's parts.
  SettingsInput in = Input();
  in.account_key = kKeyA;
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.decoded_key, "key-a");
}

TEST_F(SettingsTest, ConnectionStringWithBlobEndpointAndSas) {
  SettingsInput in = Input();
  in.connection_string =
      "BlobEndpoint=http://127.0.0.1:10000/"
      "devstoreaccount1;SharedAccessSignature=sv=2021-08-06&sig=x%3D";
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.account, "devstoreaccount1");
  EXPECT_EQ(out_.auth, AuthMode::kSas);
  EXPECT_EQ(out_.sas_token, "sv=2021-08-06&sig=x%3D");
}

TEST_F(SettingsTest, DevelopmentStorageShortcut) {
  SettingsInput in = Input();
  in.connection_string = "UseDevelopmentStorage=true";
  ASSERT_TRUE(Resolve(in)) << error_;
  EXPECT_EQ(out_.account, "devstoreaccount1");
  EXPECT_EQ(out_.endpoint_text, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(out_.auth, AuthMode::kSharedKey);
  EXPECT_EQ(out_.decoded_key.size(), 64u);
}

TEST(ConnectionString, ParsesPartsAndRejectsGarbageWithoutEchoingIt) {
  std::map<std::string, std::string> parts;
  std::string error;
  ASSERT_TRUE(ParseConnectionString(" AccountName=a ; AccountKey=x== ;;", &parts, &error));
  EXPECT_EQ(parts["AccountName"], "a");
  EXPECT_EQ(parts["AccountKey"], "x==");
  parts.clear();
  EXPECT_FALSE(ParseConnectionString("AccountName=a;SECRETPIECE", &parts, &error));
  EXPECT_EQ(error.find("SECRETPIECE"), std::string::npos) << error;
}

}  // namespace
}  // namespace azurebackend
