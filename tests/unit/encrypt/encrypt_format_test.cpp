// Known-answer tests of the encrypt codec's format layer (plugins/codec/encrypt/encrypt_format):
// a fixed key, nonce and unit identity must give exactly the frame libsodium's primitives gave
// when the vector was made, and a fixed password, salt and costs must give exactly the recorded
// key header. These pin the on-store format: a change that still round-trips but writes other
// bytes fails here.
#include <gtest/gtest.h>
#include <sodium.h>

#include "encrypt_format.h"
#include "encrypt_vectors.h"

namespace encrypttest {
namespace {

encryptfmt::UnitIdentity VectorIdentity() {
  encryptfmt::UnitIdentity id;
  id.volume_uuid = kVolumeUuid.data();
  id.kind = kUnitKind;
  id.object_seq = kUnitSeq;
  id.unit_index = kUnitIndex;
  id.logical_length = kUnitLogicalLength;
  return id;
}

encryptfmt::KeyHeader VectorHeader() {
  encryptfmt::KeyHeader h;
  h.kdf.opslimit = kOps;
  h.kdf.memlimit = kMem;
  std::copy(kSalt.begin(), kSalt.end(), h.salt);
  std::copy(kWrapNonce.begin(), kWrapNonce.end(), h.wrap_nonce);
  return h;
}

class EncryptFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(EncryptFormatTest, SealWithFixedNonceGivesTheKnownFrame) {
  Bytes frame(kUnitPlaintext.size() + encryptfmt::kFrameOverhead);
  encryptfmt::SealUnit(kDataKey.data(), kUnitNonce.data(), VectorIdentity(),
                       reinterpret_cast<const uint8_t*>(kUnitPlaintext.data()),
                       kUnitPlaintext.size(), frame.data());
  EXPECT_EQ(frame, kUnitFrame);
}

TEST_F(EncryptFormatTest, KnownFrameOpensToTheKnownPlaintext) {
  Bytes plain(kUnitFrame.size() - encryptfmt::kFrameOverhead);
  ASSERT_TRUE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), kUnitFrame.data(),
                                   kUnitFrame.size(), plain.data()));
  EXPECT_EQ(std::string(plain.begin(), plain.end()), kUnitPlaintext);
}

TEST_F(EncryptFormatTest, UnitAssociatedDataLayout) {
  uint8_t ad[encryptfmt::kUnitAdBytes];
  encryptfmt::BuildUnitAd(VectorIdentity(), ad);
  const Bytes expected = FromHex(
      "e1a0a1a2a3a4a5a6a7a8a9aaabacadaeaf01000000"
      "2a00000000000000030000000000000000100000"
      "00000000");
  EXPECT_EQ(Bytes(ad, ad + sizeof ad), expected);
}

TEST_F(EncryptFormatTest, Argon2idGivesTheKnownPasswordKey) {
  uint8_t key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::DerivePasswordKey(kPassword, kSalt.data(), VectorHeader().kdf, key));
  EXPECT_EQ(Bytes(key, key + sizeof key), kPasswordKey);
}

TEST_F(EncryptFormatTest, WrapWithFixedInputsGivesTheKnownHeader) {
  encryptfmt::KeyHeader h = VectorHeader();
  encryptfmt::WrapDataKey(kPasswordKey.data(), kVolumeUuid.data(), kDataKey.data(), &h);
  EXPECT_EQ(encryptfmt::SerializeHeader(h), kKeyHeader);
}

TEST_F(EncryptFormatTest, KnownHeaderParsesAndUnwrapsToTheKnownDataKey) {
  encryptfmt::KeyHeader h;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(kKeyHeader.data(), kKeyHeader.size(), &h, &error)) << error;
  EXPECT_EQ(h.kdf.opslimit, kOps);
  EXPECT_EQ(h.kdf.memlimit, kMem);
  uint8_t key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::DerivePasswordKey(kPassword, h.salt, h.kdf, key));
  uint8_t data_key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::UnwrapDataKey(key, kVolumeUuid.data(), h, data_key));
  EXPECT_EQ(Bytes(data_key, data_key + sizeof data_key), kDataKey);
}

TEST_F(EncryptFormatTest, HeaderUnwrapFailsForAnotherVolume) {
  encryptfmt::KeyHeader h;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(kKeyHeader.data(), kKeyHeader.size(), &h, &error));
  Bytes other_uuid = kVolumeUuid;
  other_uuid[15] ^= 1;
  uint8_t data_key[encryptfmt::kKeyBytes];
  EXPECT_FALSE(encryptfmt::UnwrapDataKey(kPasswordKey.data(), other_uuid.data(), h, data_key));
}

TEST_F(EncryptFormatTest, ParseRefusesMalformedHeaders) {
  encryptfmt::KeyHeader h;
  std::string error;
  EXPECT_FALSE(encryptfmt::ParseHeader(kKeyHeader.data(), kKeyHeader.size() - 1, &h, &error));
  EXPECT_NE(error.find("bytes"), std::string::npos);

  auto refused_with = [&](size_t offset, uint8_t value, const std::string& why) {
    Bytes bad = kKeyHeader;
    bad[offset] = value;
    std::string message;
    EXPECT_FALSE(encryptfmt::ParseHeader(bad.data(), bad.size(), &h, &message)) << offset;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  };
  refused_with(0, 'X', "magic");
  refused_with(4, 3, "version 3");
  refused_with(4, 2, "unknown cipher 0");  // version 2 must name its cipher
  refused_with(5, 9, "algorithm 9");
  refused_with(6, 1, "reserved");
  refused_with(7, 1, "reserved");
  refused_with(8, 0, "out of bounds");   // zero passes
  refused_with(15, 1, "out of bounds");  // 2^56 passes
  refused_with(17, 0, "out of bounds");  // 0 bytes of memory
  refused_with(23, 1, "out of bounds");  // 2^56 bytes of memory
}

TEST_F(EncryptFormatTest, OpenRefusesShortAndForeignFrames) {
  Bytes plain(kUnitFrame.size());
  for (size_t n = 0; n < encryptfmt::kFrameOverhead; ++n) {
    EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), kUnitFrame.data(), n,
                                      plain.data()));
  }
  Bytes foreign = kUnitFrame;
  foreign[0] = 0xE2;
  EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), foreign.data(),
                                    foreign.size(), plain.data()));
}

TEST_F(EncryptFormatTest, RewrapWithFixedInputsGivesTheKnownHeader) {
  encryptfmt::KeyHeader old;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(kKeyHeader.data(), kKeyHeader.size(), &old, &error)) << error;
  encryptfmt::KeyHeader fresh;
  fresh.kdf.opslimit = kOps;
  fresh.kdf.memlimit = kMem;
  std::copy(kNewSalt.begin(), kNewSalt.end(), fresh.salt);
  std::copy(kNewWrapNonce.begin(), kNewWrapNonce.end(), fresh.wrap_nonce);
  uint8_t new_key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::DerivePasswordKey(kNewPassword, fresh.salt, fresh.kdf, new_key));
  EXPECT_EQ(Bytes(new_key, new_key + sizeof new_key), kNewPasswordKey);
  ASSERT_TRUE(
      encryptfmt::RewrapDataKey(kPasswordKey.data(), new_key, kVolumeUuid.data(), old, &fresh));
  EXPECT_EQ(encryptfmt::SerializeHeader(fresh), kRekeyedHeader);
}

TEST_F(EncryptFormatTest, RewrappedHeaderHoldsTheSameDataKeyForTheNewPasswordOnly) {
  encryptfmt::KeyHeader h;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(kRekeyedHeader.data(), kRekeyedHeader.size(), &h, &error))
      << error;
  uint8_t data_key[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::UnwrapDataKey(kNewPasswordKey.data(), kVolumeUuid.data(), h, data_key));
  EXPECT_EQ(Bytes(data_key, data_key + sizeof data_key), kDataKey)
      << "a rekey never changes the data key";
  // The old password's key, even derived with the new salt, opens nothing.
  uint8_t old_with_new_salt[encryptfmt::kKeyBytes];
  ASSERT_TRUE(encryptfmt::DerivePasswordKey(kPassword, h.salt, h.kdf, old_with_new_salt));
  EXPECT_FALSE(encryptfmt::UnwrapDataKey(old_with_new_salt, kVolumeUuid.data(), h, data_key));
  EXPECT_FALSE(encryptfmt::UnwrapDataKey(kPasswordKey.data(), kVolumeUuid.data(), h, data_key));
}

TEST_F(EncryptFormatTest, RewrapRefusesAWrongOldPasswordKeyAndLeavesTheOutputAlone) {
  encryptfmt::KeyHeader old;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(kKeyHeader.data(), kKeyHeader.size(), &old, &error)) << error;
  encryptfmt::KeyHeader fresh;
  fresh.kdf.opslimit = kOps;
  fresh.kdf.memlimit = kMem;
  const std::vector<uint8_t> before = encryptfmt::SerializeHeader(fresh);
  Bytes wrong = kPasswordKey;
  wrong[0] ^= 1;
  EXPECT_FALSE(encryptfmt::RewrapDataKey(wrong.data(), kNewPasswordKey.data(), kVolumeUuid.data(),
                                         old, &fresh));
  EXPECT_EQ(encryptfmt::SerializeHeader(fresh), before);
}

TEST_F(EncryptFormatTest, XaesFramesCarryTheirCipherAndBindTheUnit) {
  using encryptfmt::Cipher;
  encryptfmt::UnitIdentity moved = VectorIdentity();
  moved.unit_index += 1;
  const Bytes plain(kUnitPlaintext.begin(), kUnitPlaintext.end());
  Bytes frame(plain.size() + encryptfmt::kFrameOverhead);
  ASSERT_TRUE(encryptfmt::SealUnit(kDataKey.data(), kUnitNonce.data(), VectorIdentity(),
                                   plain.data(), plain.size(), frame.data(), Cipher::kXAes256Gcm));
  EXPECT_EQ(frame[0], encryptfmt::kFrameXAes256Gcm);
  EXPECT_EQ(Bytes(frame.begin() + 1, frame.begin() + 25), kUnitNonce);
  Bytes out(plain.size());
  ASSERT_TRUE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), frame.data(), frame.size(),
                                   out.data(), Cipher::kXAes256Gcm));
  EXPECT_EQ(out, plain);
  // Moved to another index, or read as the other cipher, it does not open.
  EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), moved, frame.data(), frame.size(), out.data(),
                                    Cipher::kXAes256Gcm));
  EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), frame.data(), frame.size(),
                                    out.data(), Cipher::kXChaCha20Poly1305));
  Bytes relabelled = frame;
  relabelled[0] = encryptfmt::kFrameVersion1;
  EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), relabelled.data(),
                                    relabelled.size(), out.data(), Cipher::kXChaCha20Poly1305));
  EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), kUnitFrame.data(),
                                    kUnitFrame.size(), out.data(), Cipher::kXAes256Gcm));
  for (size_t i = 0; i < frame.size(); ++i) {
    Bytes flipped = frame;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(encryptfmt::OpenUnit(kDataKey.data(), VectorIdentity(), flipped.data(),
                                      flipped.size(), out.data(), Cipher::kXAes256Gcm))
        << i;
  }
}

TEST_F(EncryptFormatTest, XaesHeaderRecordsTheCipherUnderTheWrap) {
  encryptfmt::KeyHeader header = VectorHeader();
  header.cipher = encryptfmt::Cipher::kXAes256Gcm;
  encryptfmt::WrapDataKey(kPasswordKey.data(), kVolumeUuid.data(), kDataKey.data(), &header);
  const Bytes bytes = encryptfmt::SerializeHeader(header);
  ASSERT_EQ(bytes.size(), encryptfmt::kHeaderBytes);
  EXPECT_EQ(bytes[4], encryptfmt::kHeaderVersion2);
  EXPECT_EQ(bytes[6], 2);
  encryptfmt::KeyHeader parsed;
  std::string error;
  ASSERT_TRUE(encryptfmt::ParseHeader(bytes.data(), bytes.size(), &parsed, &error)) << error;
  EXPECT_EQ(parsed.cipher, encryptfmt::Cipher::kXAes256Gcm);
  uint8_t key[32];
  ASSERT_TRUE(encryptfmt::UnwrapDataKey(kPasswordKey.data(), kVolumeUuid.data(), parsed, key));
  EXPECT_EQ(Bytes(key, key + 32), kDataKey);
  // Relabelled as an XChaCha20-Poly1305 volume (version 1, cipher byte zero) it no longer
  // unwraps: the cipher cannot be switched without the password.
  Bytes relabelled = bytes;
  relabelled[4] = encryptfmt::kHeaderVersion1;
  relabelled[6] = 0;
  ASSERT_TRUE(encryptfmt::ParseHeader(relabelled.data(), relabelled.size(), &parsed, &error))
      << error;
  EXPECT_EQ(parsed.cipher, encryptfmt::Cipher::kXChaCha20Poly1305);
  EXPECT_FALSE(encryptfmt::UnwrapDataKey(kPasswordKey.data(), kVolumeUuid.data(), parsed, key));
  // Unknown ciphers are refused by name.
  Bytes unknown = bytes;
  unknown[6] = 7;
  EXPECT_FALSE(encryptfmt::ParseHeader(unknown.data(), unknown.size(), &parsed, &error));
  EXPECT_NE(error.find("unknown cipher 7"), std::string::npos) << error;
  // A rewrap for a new password keeps the cipher.
  encryptfmt::KeyHeader fresh = VectorHeader();  // cipher left at its default: the rewrap sets it
  Bytes other_password_key(32, 0x77);
  ASSERT_TRUE(encryptfmt::RewrapDataKey(kPasswordKey.data(), other_password_key.data(),
                                        kVolumeUuid.data(), header, &fresh));
  EXPECT_EQ(encryptfmt::SerializeHeader(fresh)[6], 2);
  ASSERT_TRUE(encryptfmt::UnwrapDataKey(other_password_key.data(), kVolumeUuid.data(), fresh, key));
  EXPECT_EQ(Bytes(key, key + 32), kDataKey);
}

}  // namespace
}  // namespace encrypttest
