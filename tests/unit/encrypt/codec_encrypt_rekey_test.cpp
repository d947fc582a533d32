// change-password at the plugin ABI: the built blockpipe-codec-encrypt.so's rekey slot (ABI 1.1)
// through the plugin tests' fake host. A rekeyed header opens with the new password only and
// decodes units written before the change (the data key is the same); the known header rekeys
// to a header holding the known data key; a wrong current password is refused naming the
// volume and never echoing either password; a header already on the new password is reported
// as such (PRECONDITION) so an interrupted change can be re-run; the new header takes today's
// configured Argon2id costs; malformed input is refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "encrypt_format.h"
#include "encrypt_vectors.h"
#include "fake_host.h"

namespace encrypttest {
namespace {

using plugintest::Buffer;
using plugintest::FakeConfig;
using plugintest::LoadedPlugin;
using plugintest::TakeError;

std::map<std::string, std::string> Fast(const std::string& password) {
  return {{"password", password}, {"kdf_ops", "1"}, {"kdf_mem", "8192"}};
}

uint64_t U64At(const Bytes& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

class EncryptRekeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<LoadedPlugin>("blockpipe-codec-encrypt.so");
    ASSERT_NE(plugin_->header(), nullptr);
  }
  void TearDown() override {
    for (void* h : handles_) api()->close(h);
  }
  const bp_codec_plugin* api() const { return plugin_->codec(); }

  // open(): create when stored is null (header receives the new header).
  void* Open(const std::map<std::string, std::string>& values, const Bytes* stored,
             Bytes* header = nullptr) {
    FakeConfig config;
    config.values = values;
    bp_codec_volume volume{sizeof(bp_codec_volume), 0, kVolumeUuid.data(), "vol-r"};
    Buffer created;
    void* handle = nullptr;
    last_rc_ = api()->open(config.get(), &volume, stored != nullptr ? stored->data() : nullptr,
                           stored != nullptr ? stored->size() : 0,
                           stored == nullptr ? created.get() : nullptr, &handle);
    last_error_ = TakeError();
    if (last_rc_ != BP_OK) return nullptr;
    if (header != nullptr) *header = created.bytes();
    handles_.push_back(handle);
    return handle;
  }

  // rekey(): returns the code; *out receives what the plugin appended.
  int Rekey(const std::map<std::string, std::string>& values, const Bytes& stored,
            const std::string& new_secret, Bytes* out) {
    FakeConfig config;
    config.values = values;
    bp_codec_volume volume{sizeof(bp_codec_volume), 0, kVolumeUuid.data(), "vol-r"};
    Buffer header;
    const int rc = api()->rekey(config.get(), &volume, stored.data(), stored.size(),
                                new_secret.data(), new_secret.size(), header.get());
    last_error_ = TakeError();
    *out = header.bytes();
    return rc;
  }

  static bp_unit_ctx Unit(uint64_t logical) {
    bp_unit_ctx unit{};
    unit.struct_size = sizeof unit;
    unit.kind = BP_UNIT_DATA;
    unit.volume_uuid = kVolumeUuid.data();
    unit.object_seq = 9;
    unit.unit_index = 1;
    unit.logical_length = logical;
    return unit;
  }

  std::unique_ptr<LoadedPlugin> plugin_;
  std::vector<void*> handles_;
  int last_rc_ = 0;
  std::string last_error_;
};

TEST_F(EncryptRekeyTest, DeclaresRekeyAsAnAbi11Slot) {
  EXPECT_GE(plugin_->header()->abi_minor, 1u);  // the slot exists since 1.1
  EXPECT_GE(plugin_->header()->struct_size, offsetof(bp_codec_plugin, rekey) + sizeof(void*));
  EXPECT_TRUE(BP_CODEC_HAS(api(), rekey));
}

TEST_F(EncryptRekeyTest, RekeyedHeaderOpensWithTheNewPasswordOnlyAndReadsOldUnits) {
  Bytes header;
  void* writer = Open(Fast(kPassword), nullptr, &header);
  ASSERT_NE(writer, nullptr) << last_error_;
  const Bytes plain(4096, 0x6b);
  Buffer sealed;
  bp_unit_ctx unit = Unit(plain.size());
  ASSERT_EQ(api()->encode(writer, &unit, plain.data(), plain.size(), sealed.get()), BP_OK);

  Bytes rekeyed;
  ASSERT_EQ(Rekey(Fast(kPassword), header, kNewPassword, &rekeyed), BP_OK) << last_error_;
  ASSERT_EQ(rekeyed.size(), encryptfmt::kHeaderBytes);
  EXPECT_NE(rekeyed, header);
  EXPECT_NE(Bytes(rekeyed.begin() + 24, rekeyed.begin() + 40),
            Bytes(header.begin() + 24, header.begin() + 40))
      << "a fresh salt";

  void* reader = Open(Fast(kNewPassword), &rekeyed);
  ASSERT_NE(reader, nullptr) << last_error_;
  Buffer back;
  const Bytes stored = sealed.bytes();
  ASSERT_EQ(api()->decode(reader, &unit, stored.data(), stored.size(), back.get()), BP_OK)
      << TakeError();
  EXPECT_EQ(back.bytes(), plain) << "units written before the change still decode: same data key";

  EXPECT_EQ(Open(Fast(kPassword), &rekeyed), nullptr) << "the old password must stop working";
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
  EXPECT_NE(last_error_.find("wrong password for volume vol-r"), std::string::npos) << last_error_;
}

TEST_F(EncryptRekeyTest, KnownHeaderRekeysToTheKnownDataKey) {
  Bytes rekeyed;
  ASSERT_EQ(Rekey(Fast(kPassword), kKeyHeader, kNewPassword, &rekeyed), BP_OK) << last_error_;
  encryptfmt::KeyHeader h;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(rekeyed.data(), rekeyed.size(), &h, &error)) << error;
  uint8_t key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::DerivePasswordKey(kNewPassword, h.salt, h.kdf, key));
  uint8_t data_key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::UnwrapDataKey(key, kVolumeUuid.data(), h, data_key));
  EXPECT_EQ(Bytes(data_key, data_key + sizeof data_key), kDataKey);
  // And the known unit frame, written under the original header, decodes after the change.
  void* h2 = Open(Fast(kNewPassword), &rekeyed);
  ASSERT_NE(h2, nullptr) << last_error_;
  bp_unit_ctx unit{};
  unit.struct_size = sizeof unit;
  unit.kind = kUnitKind;
  unit.volume_uuid = kVolumeUuid.data();
  unit.object_seq = kUnitSeq;
  unit.unit_index = kUnitIndex;
  unit.logical_length = kUnitLogicalLength;
  Buffer plain;
  ASSERT_EQ(api()->decode(h2, &unit, kUnitFrame.data(), kUnitFrame.size(), plain.get()), BP_OK)
      << TakeError();
  EXPECT_EQ(plain.text(), kUnitPlaintext);
}

TEST_F(EncryptRekeyTest, WrongCurrentPasswordIsRefusedWithoutEchoingEither) {
  const std::string wrong = "correct horse battery stapler";
  Bytes out;
  EXPECT_EQ(Rekey(Fast(wrong), kKeyHeader, kNewPassword, &out), BP_ERR_PERMANENT);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(last_error_.find("wrong password for volume vol-r"), std::string::npos) << last_error_;
  for (const std::string& secret : {wrong, kNewPassword, kPassword}) {
    EXPECT_EQ(last_error_.find(secret), std::string::npos)
        << "a password was echoed: " << last_error_;
  }
}

TEST_F(EncryptRekeyTest, AHeaderAlreadyOnTheNewPasswordIsReportedNotRewrapped) {
  Bytes out;
  EXPECT_EQ(Rekey(Fast(kPassword), kRekeyedHeader, kNewPassword, &out), BP_ERR_PRECONDITION);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(last_error_.find("already uses the new password"), std::string::npos) << last_error_;
  // Same password old and new: nothing is "already done", the header is simply rewrapped.
  EXPECT_EQ(Rekey(Fast(kPassword), kKeyHeader, kPassword, &out), BP_OK) << last_error_;
  EXPECT_EQ(out.size(), encryptfmt::kHeaderBytes);
}

TEST_F(EncryptRekeyTest, NewHeaderTakesTheConfiguredCosts) {
  Bytes out;
  std::map<std::string, std::string> config = {
      {"password", kPassword}, {"kdf_ops", "3"}, {"kdf_mem", "65536"}};
  ASSERT_EQ(Rekey(config, kKeyHeader, kNewPassword, &out), BP_OK) << last_error_;
  EXPECT_EQ(U64At(kKeyHeader, 8), 1u);
  EXPECT_EQ(U64At(out, 8), 3u);
  EXPECT_EQ(U64At(out, 16), 65536u);
}

TEST_F(EncryptRekeyTest, RefusesMalformedInput) {
  Bytes out;
  EXPECT_EQ(Rekey(Fast(kPassword), kKeyHeader, "", &out), BP_ERR_INVALID);
  EXPECT_NE(last_error_.find("empty"), std::string::npos) << last_error_;
  Bytes short_header(kKeyHeader.begin(), kKeyHeader.end() - 1);
  EXPECT_EQ(Rekey(Fast(kPassword), short_header, kNewPassword, &out), BP_ERR_INVALID);
  Bytes flipped = kKeyHeader;
  flipped[70] ^= 1;  // inside the wrapped key: neither password unwraps it
  EXPECT_EQ(Rekey(Fast(kPassword), flipped, kNewPassword, &out), BP_ERR_PERMANENT);
  EXPECT_EQ(Rekey({}, kKeyHeader, kNewPassword, &out), BP_ERR_INVALID)
      << "no current password configured";
}

}  // namespace
}  // namespace encrypttest
