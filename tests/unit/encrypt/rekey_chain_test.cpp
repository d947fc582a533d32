// change-password in the host: the real plugin registry's codec factory rekeys a recorded
// zstd → encrypt chain (only encrypt's header changes, and a unit encoded before the change
// decodes through the chain opened with the new password); re-running reports the volume as
// already done; an unencrypted chain has nothing to change; and an encrypting codec built
// against ABI 1.0 still loads, but its missing rekey slot is never called and the change is
// refused naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "fake_host.h"
#include "loader/codec_adapter.h"
#include "loader/plugin_library.h"
#include "loader/plugin_registry.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

const uint8_t kUuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::string ConfigText(const std::string& codecs) {
  return "[backend]\nurl = \"file:///srv/bp/objects\"\n" + codecs +
         "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"unix:/srv/bp/nbd.sock\"]\n";
}

std::string EncryptedChain(const std::string& password) {
  return "[[codec]]\nplugin = \"zstd\"\n[[codec]]\nplugin = \"encrypt\"\npassword = \"" + password +
         "\"\nkdf_ops = 1\nkdf_mem = \"8KiB\"\n";
}

class RekeyChainTest : public ::testing::Test {
 protected:
  // A factory for config text; fails the test if it does not load.
  std::unique_ptr<CodecFactory> Factory(const std::string& codecs) {
    Config config;
    Status parsed = ParseConfig(ConfigText(codecs), "/srv/bp/blockpipe.toml", &config);
    EXPECT_OK(parsed);
    registries_.push_back(std::make_unique<PluginRegistry>(std::vector<std::filesystem::path>{
        plugintest::PluginDir(), BLOCKPIPE_ENCRYPT_TEST_PLUGIN_DIR}));
    std::unique_ptr<CodecFactory> factory;
    Status st = registries_.back()->OpenCodecs(config, &factory);
    EXPECT_OK(st);
    return factory;
  }
  std::vector<std::unique_ptr<PluginRegistry>> registries_;
};

TEST_F(RekeyChainTest, RekeysOnlyTheEncryptHeaderAndKeepsDataReadable) {
  auto old_factory = Factory(EncryptedChain("old secret"));
  ASSERT_NE(old_factory, nullptr);
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(old_factory->CreateChain(kUuid, "vol", &records, &chain));
  ASSERT_EQ(records.size(), 2u);
  const Bytes plain(8192, 0x42);
  const UnitId unit{BP_UNIT_DATA, 3, 0, plain.size()};
  Bytes stored;
  ASSERT_OK(chain->Encode(unit, plain.data(), plain.size(), &stored));

  std::vector<CodecRecord> rekeyed;
  RekeyOutcome outcome = RekeyOutcome::kNoSecret;
  Status st = old_factory->RekeyChain(kUuid, "vol", records, "new secret", &rekeyed, &outcome);
  ASSERT_OK(st);
  EXPECT_EQ(outcome, RekeyOutcome::kRekeyed);
  ASSERT_EQ(rekeyed.size(), 2u);
  EXPECT_EQ(rekeyed[0].name, "zstd");
  EXPECT_EQ(rekeyed[0].header, records[0].header)
      << "zstd keeps no secret; its header is untouched";
  EXPECT_EQ(rekeyed[1].name, "encrypt");
  EXPECT_NE(rekeyed[1].header, records[1].header);

  auto new_factory = Factory(EncryptedChain("new secret"));
  std::unique_ptr<CodecChain> reopened;
  st = new_factory->OpenChain(kUuid, "vol", rekeyed, &reopened);
  ASSERT_OK(st);
  Bytes back;
  ASSERT_OK(reopened->Decode(unit, stored.data(), stored.size(), &back));
  EXPECT_EQ(back, plain);

  std::unique_ptr<CodecChain> refused;
  st = old_factory->OpenChain(kUuid, "vol", rekeyed, &refused);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("wrong password for volume vol"));

  // Running the same change again finds nothing left to do.
  std::vector<CodecRecord> again;
  st = old_factory->RekeyChain(kUuid, "vol", rekeyed, "new secret", &again, &outcome);
  ASSERT_OK(st);
  EXPECT_EQ(outcome, RekeyOutcome::kAlreadyDone);
  EXPECT_EQ(again[1].header, rekeyed[1].header);

  // A wrong current password changes nothing and says so.
  auto wrong = Factory(EncryptedChain("neither"));
  st = wrong->RekeyChain(kUuid, "vol", records, "new secret", &again, &outcome);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("wrong password for volume vol"));
  EXPECT_THAT(st.message(), ::testing::Not(HasSubstr("new secret")));
}

TEST_F(RekeyChainTest, AnUnencryptedChainHasNoSecret) {
  auto factory = Factory("[[codec]]\nplugin = \"lz4\"\n");
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(factory->CreateChain(kUuid, "plain", &records, &chain));
  std::vector<CodecRecord> rekeyed;
  RekeyOutcome outcome = RekeyOutcome::kRekeyed;
  Status st = factory->RekeyChain(kUuid, "plain", records, "new secret", &rekeyed, &outcome);
  ASSERT_OK(st);
  EXPECT_EQ(outcome, RekeyOutcome::kNoSecret);
  EXPECT_EQ(rekeyed[0].header, records[0].header);
}

TEST_F(RekeyChainTest, AnAbi10EncryptingCodecLoadsButIsRefusedByName) {
  std::shared_ptr<LoadedPlugin> plugin;
  const std::string path =
      std::string(BLOCKPIPE_ENCRYPT_TEST_PLUGIN_DIR) + "/blockpipe-codec-oldseal.so";
  Status st = LoadedPlugin::Load(path, &plugin);
  ASSERT_OK(st);
  EXPECT_EQ(plugin->Describe().abi_minor, 0u);
  EXPECT_EQ(plugin->declared_size(), offsetof(bp_codec_plugin, rekey));
  EXPECT_EQ(plugin->codec().rekey, nullptr)
      << "the slot past the declared size must read as absent";
  EXPECT_FALSE(PluginCanRekey(*plugin));

  auto factory = Factory("[[codec]]\nplugin = \"zstd\"\n[[codec]]\nplugin = \"oldseal\"\n");
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(factory->CreateChain(kUuid, "legacy", &records, &chain));
  std::vector<CodecRecord> rekeyed;
  RekeyOutcome outcome = RekeyOutcome::kRekeyed;
  st = factory->RekeyChain(kUuid, "legacy", records, "new secret", &rekeyed, &outcome);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.code() == Status::Code::kUnsupported) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("codec oldseal does not support changing the password"));
  EXPECT_THAT(st.message(), HasSubstr("ABI 1.0"));
  EXPECT_THAT(st.message(), ::testing::Not(HasSubstr("called anyway")));
}

}  // namespace
}  // namespace bp
