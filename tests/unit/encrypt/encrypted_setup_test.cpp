// The encrypted setup a newcomer gets from `blockpipe init --encrypt`: the rendered config
// parses into the chain zstd → encrypt reading ${BLOCKPIPE_PASSWORD} (and says what losing it
// means), an unset variable is an error naming it, and the real plugin registry refuses a chain
// that compresses after encrypting, explaining why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.h"
#include "fake_host.h"
#include "loader/plugin_registry.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

class EncryptedSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("BLOCKPIPE_PASSWORD");
    if (old != nullptr) saved_ = old;
    had_ = old != nullptr;
  }
  void TearDown() override {
    if (had_) {
      ::setenv("BLOCKPIPE_PASSWORD", saved_.c_str(), 1);
    } else {
      ::unsetenv("BLOCKPIPE_PASSWORD");
    }
  }
  static std::string Rendered() {
    InitOptions init;
    init.data_dir = "/srv/bp";
    init.encrypt = true;
    return RenderDefaultConfig(init);
  }
  bool had_ = false;
  std::string saved_;
};

TEST_F(EncryptedSetupTest, InitEncryptRendersZstdThenEncryptWithThePasswordVariable) {
  ::setenv("BLOCKPIPE_PASSWORD", "s3cret words", 1);
  const std::string text = Rendered();
  Config c;
  Status st = ParseConfig(text, "/srv/bp/blockpipe.toml", &c);
  ASSERT_OK(st) << text;
  ASSERT_EQ(c.codecs.size(), 2u);
  EXPECT_EQ(c.codecs[0].plugin, "zstd");
  EXPECT_EQ(c.codecs[1].plugin, "encrypt");
  EXPECT_EQ(c.codecs[1].values.at("password").text, "s3cret words");
  EXPECT_THAT(text, HasSubstr("password = \"${BLOCKPIPE_PASSWORD}\""));
  EXPECT_THAT(text, HasSubstr("PASSWORD IS LOST, THE DATA IS LOST"));
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << "the password never goes into the file";
}

TEST_F(EncryptedSetupTest, UnsetPasswordVariableIsAnErrorNamingIt) {
  ::unsetenv("BLOCKPIPE_PASSWORD");
  Config c;
  Status st = ParseConfig(Rendered(), "/srv/bp/blockpipe.toml", &c);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("BLOCKPIPE_PASSWORD"));
}

TEST_F(EncryptedSetupTest, PlainInitKeepsLz4) {
  InitOptions init;
  init.data_dir = "/srv/bp";
  const std::string text = RenderDefaultConfig(init);
  EXPECT_EQ(text.find("encrypt\""), std::string::npos);
  EXPECT_THAT(text, HasSubstr("plugin = \"lz4\""));
}

TEST_F(EncryptedSetupTest, CompressingAfterEncryptingIsRefusedWithAReason) {
  const std::string text =
      "[backend]\nurl = \"file:///srv/bp/objects\"\n"
      "[[codec]]\nplugin = \"encrypt\"\npassword = \"x\"\n"
      "[[codec]]\nplugin = \"zstd\"\n"
      "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"unix:/srv/bp/nbd.sock\"]\n";
  Config c;
  Status parsed = ParseConfig(text, "/srv/bp/blockpipe.toml", &c);
  ASSERT_OK(parsed);
  PluginRegistry registry({plugintest::PluginDir()});
  std::unique_ptr<CodecFactory> factory;
  Status st = registry.OpenCodecs(c, &factory);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("zstd compresses, but it comes after encrypt"));
  EXPECT_THAT(st.message(), HasSubstr("do not compress"));
  EXPECT_THAT(st.message(), HasSubstr("blockpipe.toml"));
}

}  // namespace
}  // namespace bp
