// Tests of the built blockpipe-codec-encrypt.so through the plugin tests' fake host, so only the
// ABI surface is exercised: the fixed key header and unit frame decode to the known plaintext,
// round trips of every size class, a wrong password refused in open() with the volume named and
// the password never echoed, every swap of unit identity (seq, index, kind, uuid, length) and
// every single-byte flip and truncation refused as corrupt, key-header tampering refused, and
// the password/kdf config rules.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "encrypt_vectors.h"
#include "fake_host.h"

namespace encrypttest {
namespace {

using plugintest::Buffer;
using plugintest::FakeConfig;
using plugintest::LoadedPlugin;
using plugintest::TakeError;

// Fast Argon2id costs for tests that do not care about them.
std::map<std::string, std::string> FastConfig(const std::string& password = kPassword) {
  return {{"password", password}, {"kdf_ops", "1"}, {"kdf_mem", "8192"}};
}

class EncryptCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<LoadedPlugin>("blockpipe-codec-encrypt.so");
    ASSERT_NE(plugin_->header(), nullptr);
    uuid_ = kVolumeUuid;
  }
  void TearDown() override {
    for (void* h : handles_) api()->close(h);
  }

  const bp_codec_plugin* api() const { return plugin_->codec(); }

  // Create (stored == nullptr) or open a volume's codec instance. Returns the handle or nullptr
  // with last_rc_ / last_error_ set; *header receives the header written at creation.
  void* Open(const std::map<std::string, std::string>& values, const Bytes* stored,
             Bytes* header = nullptr, const Bytes* uuid = nullptr) {
    FakeConfig config;
    config.values = values;
    const Bytes& id = uuid != nullptr ? *uuid : uuid_;
    bp_codec_volume volume{sizeof(bp_codec_volume), 0, id.data(), "vol-a"};
    Buffer new_header;
    void* handle = reinterpret_cast<void*>(0x1);
    last_rc_ = api()->open(config.get(), &volume, stored != nullptr ? stored->data() : nullptr,
                           stored != nullptr ? stored->size() : 0,
                           stored == nullptr ? new_header.get() : nullptr, &handle);
    last_error_ = TakeError();
    if (last_rc_ != BP_OK) {
      EXPECT_EQ(handle, nullptr);
      return nullptr;
    }
    if (header != nullptr) *header = new_header.bytes();
    handles_.push_back(handle);
    return handle;
  }

  static bp_unit_ctx Unit(const Bytes& uuid, uint32_t kind, uint64_t seq, uint64_t index,
                          uint64_t logical) {
    bp_unit_ctx unit{};
    unit.struct_size = sizeof unit;
    unit.kind = kind;
    unit.volume_uuid = uuid.data();
    unit.object_seq = seq;
    unit.unit_index = index;
    unit.logical_length = logical;
    return unit;
  }
  bp_unit_ctx DefaultUnit(uint64_t logical) const {
    return Unit(uuid_, BP_UNIT_DATA, 7, 2, logical);
  }

  Bytes Encode(void* handle, const bp_unit_ctx& unit, const Bytes& in) {
    Buffer out;
    EXPECT_EQ(api()->encode(handle, &unit, in.data(), in.size(), out.get()), BP_OK) << TakeError();
    return out.bytes();
  }
  int Decode(void* handle, const bp_unit_ctx& unit, const Bytes& in, Bytes* decoded) {
    Buffer out;
    int rc = api()->decode(handle, &unit, in.data(), in.size(), out.get());
    *decoded = out.bytes();
    return rc;
  }

  std::unique_ptr<LoadedPlugin> plugin_;
  std::vector<void*> handles_;
  Bytes uuid_;
  int last_rc_ = 0;
  std::string last_error_;
};

TEST_F(EncryptCodecTest, DeclaresWhatItDoes) {
  EXPECT_STREQ(plugin_->header()->name, "encrypt");
  EXPECT_EQ(plugin_->header()->thread_model, static_cast<uint32_t>(BP_THREAD_PARALLEL));
  EXPECT_EQ(api()->flags, BP_CODEC_ENCRYPTS | BP_CODEC_AUTHENTICATES);
}

TEST_F(EncryptCodecTest, KnownHeaderAndFrameDecodeToKnownPlaintext) {
  void* h = Open({{"password", kPassword}}, &kKeyHeader);
  ASSERT_NE(h, nullptr) << last_error_;
  Bytes plain;
  bp_unit_ctx unit = Unit(kVolumeUuid, kUnitKind, kUnitSeq, kUnitIndex, kUnitLogicalLength);
  ASSERT_EQ(Decode(h, unit, kUnitFrame, &plain), BP_OK) << TakeError();
  EXPECT_EQ(std::string(plain.begin(), plain.end()), kUnitPlaintext);
}

TEST_F(EncryptCodecTest, WrongPasswordIsRefusedInOpenNamingTheVolume) {
  const std::string wrong = "correct horse battery stapler";
  EXPECT_EQ(Open({{"password", wrong}}, &kKeyHeader), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
  EXPECT_NE(last_error_.find("wrong password for volume vol-a"), std::string::npos) << last_error_;
  EXPECT_EQ(last_error_.find(wrong), std::string::npos) << "the password must never be echoed";
  EXPECT_EQ(last_error_.find(kPassword), std::string::npos);
}

TEST_F(EncryptCodecTest, KeyHeaderOfAnotherVolumeDoesNotUnwrap) {
  Bytes other = kVolumeUuid;
  other[0] ^= 0x80;
  EXPECT_EQ(Open({{"password", kPassword}}, &kKeyHeader, nullptr, &other), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
}

TEST_F(EncryptCodecTest, EveryKeyHeaderByteFlipIsRefused) {
  for (size_t i = 0; i < kKeyHeader.size(); ++i) {
    Bytes bad = kKeyHeader;
    bad[i] ^= 0x01;
    EXPECT_EQ(Open({{"password", kPassword}}, &bad), nullptr) << "flip at byte " << i;
    EXPECT_TRUE(last_rc_ == BP_ERR_PERMANENT || last_rc_ == BP_ERR_INVALID)
        << i << ": " << last_rc_;
  }
  Bytes empty;
  EXPECT_EQ(Open({{"password", kPassword}}, &empty), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
}

TEST_F(EncryptCodecTest, CreateWritesAHeaderThatReopensWithThePasswordOnly) {
  Bytes header;
  void* writer = Open(FastConfig(), nullptr, &header);
  ASSERT_NE(writer, nullptr) << last_error_;
  ASSERT_EQ(header.size(), 112u);
  EXPECT_EQ(std::string(header.begin(), header.begin() + 4), "BPEK");
  const Bytes plain(4096, 0x5c);
  const Bytes sealed = Encode(writer, DefaultUnit(plain.size()), plain);

  void* reader = Open({{"password", kPassword}}, &header);
  ASSERT_NE(reader, nullptr) << last_error_;
  Bytes back;
  ASSERT_EQ(Decode(reader, DefaultUnit(plain.size()), sealed, &back), BP_OK) << TakeError();
  EXPECT_EQ(back, plain);

  EXPECT_EQ(Open({{"password", "not it"}}, &header), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
}

// New volumes get XAES-256-GCM unless the config asks for XChaCha20-Poly1305; either way the
// cipher is recorded in the key header (XChaCha20-Poly1305 volumes keep the version 1 header
// older builds read) and the recorded one is used on reopening, whatever the config says now.
TEST_F(EncryptCodecTest, CipherIsChosenAtCreationAndRecorded) {
  struct Case {
    const char* configured;  // nullptr: the default
    uint8_t header_version, header_cipher, frame_byte;
  };
  const Case cases[] = {
      {nullptr, 2, 2, 0xE2}, {"xaes-256-gcm", 2, 2, 0xE2}, {"xchacha20-poly1305", 1, 0, 0xE1}};
  for (const Case& c : cases) {
    auto config = FastConfig();
    if (c.configured != nullptr) config["cipher"] = c.configured;
    Bytes header;
    void* writer = Open(config, nullptr, &header);
    ASSERT_NE(writer, nullptr) << last_error_;
    EXPECT_EQ(header[4], c.header_version);
    EXPECT_EQ(header[6], c.header_cipher);
    const Bytes plain(65536, 0x3c);
    const Bytes sealed = Encode(writer, DefaultUnit(plain.size()), plain);
    EXPECT_EQ(sealed[0], c.frame_byte);
    for (const char* now : {"xaes-256-gcm", "xchacha20-poly1305"}) {
      void* reader = Open({{"password", kPassword}, {"cipher", now}}, &header);
      ASSERT_NE(reader, nullptr) << last_error_;
      Bytes back;
      ASSERT_EQ(Decode(reader, DefaultUnit(plain.size()), sealed, &back), BP_OK) << TakeError();
      EXPECT_EQ(back, plain);
      // A frame of the other cipher is refused before any decryption is tried.
      Bytes relabelled = sealed;
      relabelled[0] = c.frame_byte == 0xE1 ? 0xE2 : 0xE1;
      EXPECT_EQ(Decode(reader, DefaultUnit(plain.size()), relabelled, &back), BP_ERR_CORRUPT);
      EXPECT_NE(TakeError().find("cipher"), std::string::npos);
    }
  }
  EXPECT_EQ(Open({{"password", "a"}, {"cipher", "aes-128-cbc"}}, nullptr), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(last_error_.find("cipher must be"), std::string::npos) << last_error_;
}

TEST_F(EncryptCodecTest, TwoVolumesGetDifferentKeysAndSalts) {
  Bytes a, b;
  ASSERT_NE(Open(FastConfig(), nullptr, &a), nullptr);
  ASSERT_NE(Open(FastConfig(), nullptr, &b), nullptr);
  EXPECT_NE(a, b);
  EXPECT_NE(Bytes(a.begin() + 24, a.begin() + 40), Bytes(b.begin() + 24, b.begin() + 40)) << "salt";
}

TEST_F(EncryptCodecTest, PresetCostsAreRecorded) {
  Bytes header;
  ASSERT_NE(Open({{"password", "x"}, {"kdf", "interactive"}}, nullptr, &header), nullptr)
      << last_error_;
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(header[at + i]) << (8 * i);
    return v;
  };
  EXPECT_EQ(u64(8), 2u);
  EXPECT_EQ(u64(16), 64ull << 20);
}

TEST_F(EncryptCodecTest, RoundTripsEverySize) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr) << last_error_;
  std::mt19937 rng(11);
  for (size_t n : {0, 1, 15, 16, 17, 4095, 4096, 65536, 1 << 20}) {
    Bytes plain(n);
    for (auto& b : plain) b = static_cast<uint8_t>(rng());
    const Bytes sealed = Encode(h, DefaultUnit(n), plain);
    ASSERT_EQ(sealed.size(), n + 41) << n;
    Bytes back;
    ASSERT_EQ(Decode(h, DefaultUnit(n), sealed, &back), BP_OK) << n << ": " << TakeError();
    EXPECT_EQ(back, plain) << n;
  }
}

TEST_F(EncryptCodecTest, SamePlaintextNeverGivesTheSameCiphertext) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  const Bytes plain(4096, 0);
  EXPECT_NE(Encode(h, DefaultUnit(4096), plain), Encode(h, DefaultUnit(4096), plain));
}

TEST_F(EncryptCodecTest, EverySwapOfUnitIdentityFails) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  const Bytes plain(8192, 0x33);
  const bp_unit_ctx home = DefaultUnit(plain.size());
  const Bytes sealed = Encode(h, home, plain);
  Bytes other_uuid = uuid_;
  other_uuid[7] ^= 0x10;
  const std::vector<std::pair<const char*, bp_unit_ctx>> elsewhere = {
      {"other object seq",
       Unit(uuid_, BP_UNIT_DATA, home.object_seq + 1, home.unit_index, plain.size())},
      {"other unit index",
       Unit(uuid_, BP_UNIT_DATA, home.object_seq, home.unit_index + 1, plain.size())},
      {"other kind",
       Unit(uuid_, BP_UNIT_CHECKPOINT, home.object_seq, home.unit_index, plain.size())},
      {"segment meta kind",
       Unit(uuid_, BP_UNIT_SEGMENT_META, home.object_seq, home.unit_index, plain.size())},
      {"other volume",
       Unit(other_uuid, BP_UNIT_DATA, home.object_seq, home.unit_index, plain.size())},
      {"other logical length",
       Unit(uuid_, BP_UNIT_DATA, home.object_seq, home.unit_index, plain.size() - 4096)},
  };
  for (const auto& [what, unit] : elsewhere) {
    Bytes out;
    EXPECT_EQ(Decode(h, unit, sealed, &out), BP_ERR_CORRUPT) << what;
    EXPECT_TRUE(out.empty()) << what << ": nothing may be committed on failure";
    EXPECT_NE(TakeError().find("authentication failed"), std::string::npos) << what;
  }
  Bytes back;
  EXPECT_EQ(Decode(h, home, sealed, &back), BP_OK);
  EXPECT_EQ(back, plain);
}

TEST_F(EncryptCodecTest, AnotherVolumesKeyFails) {
  void* a = Open(FastConfig(), nullptr);
  void* b = Open(FastConfig(), nullptr);  // same password and uuid, but its own data key
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const Bytes sealed = Encode(a, DefaultUnit(4096), Bytes(4096, 1));
  Bytes out;
  EXPECT_EQ(Decode(b, DefaultUnit(4096), sealed, &out), BP_ERR_CORRUPT);
}

TEST_F(EncryptCodecTest, EverySingleByteFlipFails) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  Bytes plain(300);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  const Bytes sealed = Encode(h, DefaultUnit(plain.size()), plain);
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = sealed;
      bad[i] ^= mask;
      Bytes out;
      ASSERT_EQ(Decode(h, DefaultUnit(plain.size()), bad, &out), BP_ERR_CORRUPT)
          << "byte " << i << " mask " << int(mask);
      ASSERT_TRUE(out.empty());
    }
  }
}

TEST_F(EncryptCodecTest, TruncatedAndExtendedInputsFail) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  const Bytes sealed = Encode(h, DefaultUnit(1000), Bytes(1000, 0x42));
  for (size_t n = 0; n < sealed.size(); ++n) {
    Bytes out;
    ASSERT_EQ(Decode(h, DefaultUnit(1000), Bytes(sealed.begin(), sealed.begin() + n), &out),
              BP_ERR_CORRUPT)
        << n;
  }
  Bytes longer = sealed;
  longer.push_back(0);
  Bytes out;
  EXPECT_EQ(Decode(h, DefaultUnit(1000), longer, &out), BP_ERR_CORRUPT);
}

TEST_F(EncryptCodecTest, ParallelEncodeDecodeOnOneHandle) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Bytes plain(4096, static_cast<uint8_t>(t * 31 + i));
        bp_unit_ctx unit =
            Unit(uuid_, BP_UNIT_DATA, static_cast<uint64_t>(t), static_cast<uint64_t>(i), 4096);
        Buffer sealed;
        if (api()->encode(h, &unit, plain.data(), plain.size(), sealed.get()) != BP_OK) failures++;
        Buffer back;
        if (api()->decode(h, &unit, sealed.storage.data(), sealed.size, back.get()) != BP_OK ||
            back.bytes() != plain) {
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(EncryptCodecTest, PasswordFileStripsOneTrailingNewline) {
  char path[] = "/tmp/bp-encrypt-pw-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << kPassword << "\n";
  }
  void* h = Open({{"password_file", path}}, &kKeyHeader);
  EXPECT_NE(h, nullptr) << last_error_;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << kPassword << "\n\n";  // two newlines: the second is part of the password
  }
  EXPECT_EQ(Open({{"password_file", path}}, &kKeyHeader), nullptr);
  EXPECT_NE(last_error_.find("wrong password"), std::string::npos) << last_error_;
  ::unlink(path);
  EXPECT_EQ(Open({{"password_file", path}}, &kKeyHeader), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(last_error_.find(path), std::string::npos) << last_error_;
}

TEST_F(EncryptCodecTest, ConfigRulesAreEnforced) {
  struct Case {
    std::map<std::string, std::string> values;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {{}, "needs a password"},
      {{{"password", "a"}, {"password_file", "/etc/hostname"}}, "not both"},
      {{{"password", ""}}, "empty"},
      {{{"password", "a"}, {"kdf", "quick"}}, "kdf must be"},
      {{{"password", "a"}, {"kdf_ops", "0"}}, "kdf_ops"},
      {{{"password", "a"}, {"kdf_ops", "65"}}, "kdf_ops"},
      {{{"password", "a"}, {"kdf_mem", "4096"}}, "kdf_mem"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Open(c.values, nullptr), nullptr) << c.expect;
    EXPECT_EQ(last_rc_, BP_ERR_INVALID) << c.expect;
    EXPECT_NE(last_error_.find(c.expect), std::string::npos) << last_error_;
  }
  // An existing volume needs the password too, whatever its header says.
  EXPECT_EQ(Open({}, &kKeyHeader), nullptr);
  EXPECT_NE(last_error_.find("vol-a"), std::string::npos) << last_error_;
}

TEST_F(EncryptCodecTest, RefusesAnIncompleteUnitIdentity) {
  void* h = Open(FastConfig(), nullptr);
  ASSERT_NE(h, nullptr);
  bp_unit_ctx unit = DefaultUnit(16);
  unit.struct_size = offsetof(bp_unit_ctx, logical_length);  // a host that lacks the length
  Buffer out;
  Bytes in(16, 1);
  EXPECT_NE(api()->encode(h, &unit, in.data(), in.size(), out.get()), BP_OK);
  unit = DefaultUnit(16);
  unit.volume_uuid = nullptr;
  EXPECT_NE(api()->encode(h, &unit, in.data(), in.size(), out.get()), BP_OK);
}

}  // namespace
}  // namespace encrypttest
