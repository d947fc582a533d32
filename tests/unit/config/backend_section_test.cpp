// RenderDefaultConfig's [backend] section for s3:// and azure:// URLs, and CheckInitOptions: the
// config `blockpipe init --url ... --endpoint ...` writes parses, carries exactly the keys the
// backend plugins declare, explains where the credentials come from without containing any, and
// options that cannot work are refused. (That the plugins accept the written section, and the
// commented credential keys when enabled, is checked against real servers by the s3-init-config
// and azure-init-config integration tests.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "config/config.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Config ParseOk(const std::string& text) {
  Config c;
  Status st = ParseConfig(text, "/data/blockpipe.toml", &c);
  EXPECT_OK(st) << text;
  return c;
}

std::string Render(const std::string& url, const std::string& endpoint,
                   const std::string& region = "") {
  InitOptions init;
  init.data_dir = "/data";
  init.url = url;
  init.endpoint = endpoint;
  init.region = region;
  return RenderDefaultConfig(init);
}

// The text of the [backend] table, up to the next table.
std::string BackendTable(const std::string& text) {
  const size_t start = text.find("\n[backend]\n");
  EXPECT_NE(start, std::string::npos);
  const size_t end = text.find("\n[", start + 2);
  return text.substr(start + 1, end - start);
}

std::vector<std::string> Keys(const Config& c) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : c.backend.values) keys.push_back(key);
  return keys;
}

// Every key line in the table has a comment line right above it (possibly after other keys'
// comments), so a reader learns what each one does.
void ExpectEveryKeyCommented(const std::string& table) {
  std::istringstream lines(table);
  std::string line, previous;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#' && line[0] != '[') {
      EXPECT_EQ(previous.substr(0, 1), "#") << "no comment above: " << line << "\n" << table;
    }
    previous = line;
  }
}

TEST(BackendSection, S3WithEndpoint) {
  const std::string text = Render("s3://my-bucket/vols/a", "http://127.0.0.1:7480");
  const Config c = ParseOk(text);
  EXPECT_EQ(c.backend.plugin, "");  // chosen by the url scheme
  EXPECT_EQ(Keys(c), (std::vector<std::string>{"addressing", "endpoint", "region", "url"}));
  EXPECT_EQ(c.backend.values.at("url").text, "s3://my-bucket/vols/a");
  EXPECT_EQ(c.backend.values.at("endpoint").text, "http://127.0.0.1:7480");
  EXPECT_EQ(c.backend.values.at("region").text, "us-east-1");
  EXPECT_EQ(c.backend.values.at("addressing").text, "path");

  const std::string table = BackendTable(text);
  ExpectEveryKeyCommented(table);
  for (const char* word : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "credentials file", "# access_key_id = \"${AWS_ACCESS_KEY_ID}\"",
                           "# secret_access_key = \"${AWS_SECRET_ACCESS_KEY}\""}) {
    EXPECT_THAT(table, HasSubstr(word));
  }
}

TEST(BackendSection, S3OnAwsLeavesEndpointAndRegionToDefaults) {
  const Config c = ParseOk(Render("s3://b/p", ""));
  EXPECT_EQ(Keys(c), (std::vector<std::string>{"addressing", "url"}));
  EXPECT_EQ(c.backend.values.at("addressing").text, "auto");
  const Config r = ParseOk(Render("s3://b/p", "", "eu-west-1"));
  EXPECT_EQ(r.backend.values.at("region").text, "eu-west-1");
}

TEST(BackendSection, AzureWithEndpoint) {
  const std::string text = Render("azure://disks/prod", "http://127.0.0.1:10000/devstoreaccount1");
  const Config c = ParseOk(text);
  EXPECT_EQ(Keys(c), (std::vector<std::string>{"endpoint", "url"}));
  EXPECT_EQ(c.backend.values.at("url").text, "azure://disks/prod");
  EXPECT_EQ(c.backend.values.at("endpoint").text, "http://127.0.0.1:10000/devstoreaccount1");
  const std::string table = BackendTable(text);
  ExpectEveryKeyCommented(table);
  for (const char* word : {"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
                           "# account_key = \"${AZURE_STORAGE_KEY}\"",
                           "# sas_token = \"${AZURE_STORAGE_SAS_TOKEN}\""}) {
    EXPECT_THAT(table, HasSubstr(word));
  }
  EXPECT_THAT(table, Not(HasSubstr("region")));
}

TEST(BackendSection, AzureWithoutEndpoint) {
  const Config c = ParseOk(Render("azure://disks", ""));
  EXPECT_EQ(Keys(c), (std::vector<std::string>{"url"}));
}

// The commented credential lines are valid TOML once uncommented, and reference variables only.
TEST(BackendSection, CommentedCredentialsParseWhenEnabled) {
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  setenv("AWS_SESSION_TOKEN", "token", 1);
  setenv("AZURE_STORAGE_ACCOUNT", "acct", 1);
  setenv("AZURE_STORAGE_KEY", "a2V5", 1);
  setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1", 1);
  const std::regex credential_line(
      "\n# ((access_key_id|secret_access_key|session_token|account|account_key|sas_token) = )");
  for (const auto& [url, endpoint, expected] :
       {std::tuple<std::string, std::string, size_t>{"s3://b/p", "http://127.0.0.1:1", 3},
        {"azure://c/p", "http://127.0.0.1:2/acct", 3}}) {
    const std::string text = Render(url, endpoint);
    const std::string enabled = std::regex_replace(text, credential_line, "\n$1");
    const Config c = ParseOk(enabled);
    EXPECT_EQ(c.backend.values.size(), ParseOk(text).backend.values.size() + expected) << enabled;
    const std::map<std::string, std::string> expected_values = {
        {"access_key_id", "AKIDEXAMPLE"}, {"secret_access_key", "secret"},
        {"session_token", "token"},       {"account", "acct"},
        {"account_key", "a2V5"},          {"sas_token", "sv=1"}};
    for (const auto& [key, value] : c.backend.values) {
      const auto it = expected_values.find(key);
      if (it != expected_values.end()) {
        EXPECT_EQ(value.text, it->second) << key;
      }
    }
  }
}

TEST(BackendSection, FileUrlKeepsTheDirectoryLayout) {
  const Config c = ParseOk(Render("", ""));
  EXPECT_EQ(Keys(c), (std::vector<std::string>{"url"}));
  EXPECT_EQ(c.backend.values.at("url").text, "file:///data/objects");
}

TEST(CheckInitOptions, RefusesWhatCannotWork) {
  auto check = [](const std::string& url, const std::string& endpoint,
                  const std::string& region = "") {
    InitOptions init;
    init.data_dir = "/data";
    init.url = url;
    init.endpoint = endpoint;
    init.region = region;
    return CheckInitOptions(init);
  };
  EXPECT_OK(check("file:///x", ""));
  EXPECT_OK(check("s3://b/p", "http://127.0.0.1:7480"));
  EXPECT_OK(check("s3://b", "", "eu-west-1"));
  EXPECT_OK(check("azure://c/p", "https://acct.blob.core.windows.net"));
  EXPECT_OK(check("example://third-party", "")) << "third-party schemes pass through";

  Status st = check("file:///x", "http://127.0.0.1:7480");
  EXPECT_EQ(st.code(), Status::Code::kInvalid);
  EXPECT_THAT(st.message(), HasSubstr("--endpoint"));
  EXPECT_THAT(check("s3://", "").message(), HasSubstr("no bucket"));
  EXPECT_THAT(check("s3:///prefix", "").message(), HasSubstr("no bucket"));
  EXPECT_THAT(check("azure://", "").message(), HasSubstr("no container"));
  EXPECT_THAT(check("bucket/prefix", "").message(), HasSubstr("expected file:///DIR"));
  EXPECT_THAT(check("s3://b/p", "127.0.0.1:7480").message(), HasSubstr("expected http://"));
  EXPECT_THAT(check("azure://c/p", "", "us-east-1").message(), HasSubstr("--region is for s3://"));
}

}  // namespace
}  // namespace bp
