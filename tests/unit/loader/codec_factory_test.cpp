// PluginRegistry::OpenCodecs and the codec factory, with the real testpack (compresses) and
// testseal (encrypts, authenticates, keeps a header) plugins: chain order enforcement, chains
// for new volumes, reopening recorded chains, missing and misconfigured codecs, fail-closed
// decoding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader/plugin_registry.h"
#include "support/status_assert.h"
#include "test_plugins.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;

const std::string kBase =
    "[backend]\nurl = \"testmem://b\"\n"                         // 3-4
    "[[frontend]]\nplugin = \"testfront\"\nlisten = [\"x\"]\n";  // 5-7
const uint8_t kUuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::unique_ptr<CodecFactory> Factory(PluginRegistry* registry, const std::string& codecs) {
  Config c = MakeConfig(kBase + codecs);
  std::unique_ptr<CodecFactory> f;
  Status st = registry->OpenCodecs(c, &f);
  EXPECT_OK(st);
  return f;
}

TEST(CodecOrder, CompressionAfterEncryptionIsRefused) {
  PluginRegistry registry({PluginDir()});
  Config c = MakeConfig(kBase +
                        "[[codec]]\nplugin = \"testseal\"\nkey = \"k\"\n"  // 8-10
                        "[[codec]]\nplugin = \"testpack\"\n");             // 11-12
  std::unique_ptr<CodecFactory> f;
  Status st = registry.OpenCodecs(c, &f);
  EXPECT_EQ(st.code(), Status::Code::kInvalid);
  EXPECT_EQ(
      st.message(),
      "/etc/bp/test.toml:11: [codec[1]] codec testpack compresses, but it comes after testseal, "
      "which "
      "encrypts: encrypted bytes look random and do not compress. Put the [[codec]] sections that "
      "compress before the ones that encrypt.");
  EXPECT_EQ(f, nullptr);
}

TEST(CodecOrder, CompressionBeforeEncryptionIsFine) {
  PluginRegistry registry({PluginDir()});
  EXPECT_NE(
      Factory(&registry,
              "[[codec]]\nplugin = \"testpack\"\n[[codec]]\nplugin = \"testseal\"\nkey = \"k\"\n"),
      nullptr);
}

TEST(CodecConfig, SectionErrorsNameFileAndLine) {
  PluginRegistry registry({PluginDir()});
  std::unique_ptr<CodecFactory> f;
  Status st = registry.OpenCodecs(MakeConfig(kBase + "[[codec]]\nplugin = \"testseal\"\n"), &f);
  EXPECT_EQ(st.message(),
            "/etc/bp/test.toml:8: [codec[0]] plugin testseal requires key `key` (a string): Secret "
            "the units "
            "are sealed with.");
  st = registry.OpenCodecs(MakeConfig(kBase + "[[codec]]\nplugin = \"badabi\"\n"), &f);
  EXPECT_EQ(st.message(), "/etc/bp/test.toml:8: [codec[0]] plugin \"badabi\": " +
                              (PluginDir() / "blockpipe-codec-badabi.so").string() +
                              ": plugin ABI 2.3, this host supports 1.x");
  st = registry.OpenCodecs(MakeConfig(kBase + "[[codec]]\nplugin = \"zzz\"\n"), &f);
  EXPECT_THAT(st.message(), HasSubstr("/etc/bp/test.toml:8: [codec[0]] plugin \"zzz\": no plugin "
                                      "blockpipe-codec-zzz.so was found in " +
                                      PluginDir().string()));
}

TEST(CodecChains, CreateRecordsHeadersAndReopenDecodes) {
  PluginRegistry registry({PluginDir()});
  auto f =
      Factory(&registry,
              "[[codec]]\nplugin = \"testpack\"\n[[codec]]\nplugin = \"testseal\"\nkey = \"k1\"\n");
  ASSERT_NE(f, nullptr);
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  Status st = f->CreateChain(kUuid, "vol1", &records, &chain);
  ASSERT_OK(st);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "testpack");
  EXPECT_TRUE(records[0].header.empty());
  EXPECT_EQ(records[1].name, "testseal");
  EXPECT_EQ(records[1].header.size(), 20u);
  EXPECT_EQ(chain->Describe(), "testpack > testseal");

  Bytes data(65536, 0);
  for (size_t i = 0; i < 100; ++i) data[i * 300] = static_cast<uint8_t>(i + 1);
  UnitId unit;
  unit.object_seq = 7;
  unit.unit_index = 3;
  unit.logical_length = data.size();
  Bytes encoded;
  ASSERT_OK(chain->Encode(unit, data.data(), data.size(), &encoded));
  EXPECT_LT(encoded.size(), data.size() / 10) << "compressed before sealing";

  // A later process: the recorded chain, the same config.
  std::unique_ptr<CodecChain> reopened;
  st = f->OpenChain(kUuid, "vol1", records, &reopened);
  ASSERT_OK(st);
  Bytes decoded;
  ASSERT_OK(reopened->Decode(unit, encoded.data(), encoded.size(), &decoded));
  EXPECT_EQ(decoded, data);

  // Fail closed: a flipped bit, or the unit presented as another one.
  Bytes tampered = encoded;
  tampered[tampered.size() / 2] ^= 1;
  st = reopened->Decode(unit, tampered.data(), tampered.size(), &decoded);
  EXPECT_TRUE(st.IsCorrupt()) << st.ToString();
  UnitId moved = unit;
  moved.unit_index = 4;
  EXPECT_TRUE(reopened->Decode(moved, encoded.data(), encoded.size(), &decoded).IsCorrupt());
}

TEST(CodecChains, WrongKeyIsRefusedWhenReopening) {
  PluginRegistry registry({PluginDir()});
  auto creator = Factory(&registry, "[[codec]]\nplugin = \"testseal\"\nkey = \"right\"\n");
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(creator->CreateChain(kUuid, "vol1", &records, &chain));

  auto other = Factory(&registry, "[[codec]]\nplugin = \"testseal\"\nkey = \"wrong\"\n");
  std::unique_ptr<CodecChain> reopened;
  Status st = other->OpenChain(kUuid, "vol1", records, &reopened);
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(),
            "opening volume vol1: /etc/bp/test.toml:8: [codec[0]]: testseal: open: testseal: wrong "
            "key for this volume");
  EXPECT_EQ(reopened, nullptr);
}

TEST(CodecChains, RecordedCodecsLoadByNameEvenIfNotConfigured) {
  PluginRegistry registry({PluginDir()});
  auto f = Factory(&registry, "");  // no [[codec]] at all
  std::vector<CodecRecord> records = {{"testpack", {}}};
  std::unique_ptr<CodecChain> chain;
  Status st = f->OpenChain(kUuid, "old", records, &chain);
  ASSERT_OK(st);
  EXPECT_EQ(chain->Describe(), "testpack");

  records = {{"testpack", {}}, {"foo", {}}};
  st = f->OpenChain(kUuid, "old", records, &chain);
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_THAT(
      st.message(),
      HasSubstr("volume old uses codec `foo`, but no plugin blockpipe-codec-foo.so was found in " +
                PluginDir().string() + ", "));

  records = {{"testseal", Bytes(20, 0)}};
  st = f->OpenChain(kUuid, "old", records, &chain);
  EXPECT_THAT(
      st.message(),
      HasSubstr("volume old uses codec `testseal`, which is not configured and needs settings: "
                "add a [[codec]] section with plugin = \"testseal\""));
}

TEST(CodecChains, EmptyChain) {
  PluginRegistry registry({PluginDir()});
  auto f = Factory(&registry, "");
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(f->CreateChain(kUuid, "plain", &records, &chain));
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(chain->size(), 0u);
}

}  // namespace
}  // namespace bp
