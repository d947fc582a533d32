// XAES-256-GCM (plugins/codec/encrypt/xaes_gcm.cpp) against the known answers of its
// specification (c2sp.org/XAES-256-GCM), and round trips of every length class. The codec's
// frame and key header under this cipher are checked in encrypt_format_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "encrypt_vectors.h"
#include "xaes_gcm.h"

namespace encrypttest {
namespace {

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct SpecVector {
  uint8_t key_byte;
  std::string ad;
  std::string ciphertext_hex;
  std::string tag_hex;
};

// The specification's two vectors: key of one repeated byte, nonce "ABCDEFGHIJKLMNOPQRSTUVWX",
// plaintext "XAES-256-GCM".
const SpecVector kSpecVectors[] = {
    {0x01, "", "ce546ef63c9cc60765923609", "b33a9a1974e96e52daf2fcf7075e2271"},
    {0x03, "c2sp.org/XAES-256-GCM", "986ec1832593df5443a17943", "7fd083bf3fdb41abd740a21f71eb769d"},
};

TEST(XaesGcmTest, SpecificationVectorsSealAndOpen) {
  const Bytes nonce = Text("ABCDEFGHIJKLMNOPQRSTUVWX");
  const Bytes plain = Text("XAES-256-GCM");
  for (const SpecVector& v : kSpecVectors) {
    const Bytes key(32, v.key_byte);
    const Bytes ad = Text(v.ad);
    Bytes sealed(plain.size());
    uint8_t tag[xaes::kTagBytes];
    ASSERT_TRUE(xaes::Seal(key.data(), nonce.data(), ad.data(), ad.size(), plain.data(),
                           plain.size(), sealed.data(), tag));
    EXPECT_EQ(sealed, FromHex(v.ciphertext_hex));
    EXPECT_EQ(Bytes(tag, tag + sizeof tag), FromHex(v.tag_hex));
    Bytes opened(plain.size());
    ASSERT_TRUE(xaes::Open(key.data(), nonce.data(), ad.data(), ad.size(), sealed.data(),
                           sealed.size(), tag, opened.data()));
    EXPECT_EQ(opened, plain);
    // Another byte anywhere — tag, ciphertext, associated data, nonce — fails.
    tag[0] ^= 1;
    EXPECT_FALSE(xaes::Open(key.data(), nonce.data(), ad.data(), ad.size(), sealed.data(),
                            sealed.size(), tag, opened.data()));
    tag[0] ^= 1;
    sealed[3] ^= 0x80;
    EXPECT_FALSE(xaes::Open(key.data(), nonce.data(), ad.data(), ad.size(), sealed.data(),
                            sealed.size(), tag, opened.data()));
    sealed[3] ^= 0x80;
    Bytes other_nonce = nonce;
    other_nonce[2] ^= 1;  // the part that only enters the derived key
    EXPECT_FALSE(xaes::Open(key.data(), other_nonce.data(), ad.data(), ad.size(), sealed.data(),
                            sealed.size(), tag, opened.data()));
    other_nonce = nonce;
    other_nonce[20] ^= 1;  // the part GCM uses as its IV
    EXPECT_FALSE(xaes::Open(key.data(), other_nonce.data(), ad.data(), ad.size(), sealed.data(),
                            sealed.size(), tag, opened.data()));
    const Bytes other_ad = Text(v.ad + "!");
    EXPECT_FALSE(xaes::Open(key.data(), nonce.data(), other_ad.data(), other_ad.size(),
                            sealed.data(), sealed.size(), tag, opened.data()));
  }
}

TEST(XaesGcmTest, EmptyAndLargeMessagesRoundTrip) {
  const Bytes key = Sequence(0x10, 32);
  const Bytes nonce = Sequence(0x60, 24);
  for (size_t n : {0, 1, 15, 16, 17, 4096, 65536 + 3}) {
    Bytes plain = Sequence(static_cast<uint8_t>(n), n);
    Bytes sealed(n), opened(n);
    uint8_t tag[xaes::kTagBytes];
    ASSERT_TRUE(
        xaes::Seal(key.data(), nonce.data(), nullptr, 0, plain.data(), n, sealed.data(), tag))
        << n;
    ASSERT_TRUE(
        xaes::Open(key.data(), nonce.data(), nullptr, 0, sealed.data(), n, tag, opened.data()))
        << n;
    EXPECT_EQ(opened, plain) << n;
  }
}

}  // namespace
}  // namespace encrypttest
