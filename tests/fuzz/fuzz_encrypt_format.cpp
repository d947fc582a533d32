// Fuzz target: the bytes the encrypt codec reads back from the store
// (plugins/codec/encrypt/encrypt_format.h). The first byte selects what the rest is:
//   bit 0 clear  a key header, as kept in the volume metadata. ParseHeader either refuses it with
//                a reason or returns a header that re-serializes to exactly the input (the format
//                has one encoding per header), whose version matches its cipher and whose Argon2id
//                costs are in bounds. When the costs are the seeds' (the cheapest), the key is
//                derived from the seeds' password: a header that then unwraps must rewrap under a
//                new key to a header that parses and unwraps to the same data key.
//   bit 0 set    a unit frame under the cipher bit 1 names, opened with the seeds' fixed data key
//                and identity: a frame that opens must seal back to exactly itself; and the rest
//                of the input, sealed as plaintext, must open to itself (and not under another
//                identity).
// Argon2id runs only at the seeds' costs, so one run stays in microseconds.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "encrypt_format.h"
#include "support/encrypt_fixtures.h"
#include "support/fuzz_check.h"

namespace {

namespace fixtures = bptest::encrypt;
using encryptfmt::Cipher;
using encryptfmt::KeyHeader;

void CheckHeader(const uint8_t* data, size_t size) {
  KeyHeader header;
  std::string error;
  if (!encryptfmt::ParseHeader(data, size, &header, &error)) {
    FUZZ_CHECK(!error.empty(), "header refused without a reason");
    return;
  }
  const std::vector<uint8_t> again = encryptfmt::SerializeHeader(header);
  FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, size) == 0,
             "a parsed header does not serialize back to its bytes");
  FUZZ_CHECK(
      header.version == (header.cipher == Cipher::kXChaCha20Poly1305 ? encryptfmt::kHeaderVersion1
                                                                     : encryptfmt::kHeaderVersion2),
      "header version does not match its cipher");
  FUZZ_CHECK(
      header.kdf.opslimit >= encryptfmt::kMinOps && header.kdf.opslimit <= encryptfmt::kMaxOps &&
          header.kdf.memlimit >= encryptfmt::kMinMem && header.kdf.memlimit <= encryptfmt::kMaxMem,
      "Argon2id costs out of bounds accepted");

  if (header.kdf.opslimit != fixtures::kSeedOps || header.kdf.memlimit != fixtures::kSeedMem)
    return;
  uint8_t password_key[encryptfmt::kKeyBytes];
  FUZZ_CHECK(
      encryptfmt::DerivePasswordKey(fixtures::kPassword, header.salt, header.kdf, password_key),
      "Argon2id failed at the cheapest costs");
  uint8_t data_key[encryptfmt::kKeyBytes];
  if (!encryptfmt::UnwrapDataKey(password_key, fixtures::kVolumeUuid, header, data_key)) return;

  // Rewrap under another key, as change-password does, and read the result back.
  uint8_t new_password_key[encryptfmt::kKeyBytes];
  std::memset(new_password_key, 0xa5, sizeof new_password_key);
  KeyHeader fresh;
  fresh.kdf = header.kdf;
  std::memset(fresh.salt, 0x5a, sizeof fresh.salt);
  std::memset(fresh.wrap_nonce, 0x3c, sizeof fresh.wrap_nonce);
  FUZZ_CHECK(encryptfmt::RewrapDataKey(password_key, new_password_key, fixtures::kVolumeUuid,
                                       header, &fresh),
             "a header that unwraps did not rewrap");
  const std::vector<uint8_t> fresh_bytes = encryptfmt::SerializeHeader(fresh);
  KeyHeader reread;
  FUZZ_CHECK(encryptfmt::ParseHeader(fresh_bytes.data(), fresh_bytes.size(), &reread, &error),
             "a rewrapped header does not parse: " + error);
  FUZZ_CHECK(reread.cipher == header.cipher, "rewrapping changed the cipher");
  uint8_t unwrapped[encryptfmt::kKeyBytes];
  FUZZ_CHECK(
      encryptfmt::UnwrapDataKey(new_password_key, fixtures::kVolumeUuid, reread, unwrapped) &&
          std::memcmp(unwrapped, data_key, sizeof data_key) == 0,
      "a rewrapped header does not unwrap to the same data key");
}

encryptfmt::UnitIdentity Identity(uint64_t logical_length) {
  encryptfmt::UnitIdentity unit;
  unit.volume_uuid = fixtures::kVolumeUuid;
  unit.kind = fixtures::kUnitKind;
  unit.object_seq = fixtures::kUnitSeq;
  unit.unit_index = fixtures::kUnitIndex;
  unit.logical_length = logical_length;
  return unit;
}

void CheckFrame(Cipher cipher, const uint8_t* data, size_t size) {
  // A stored frame: the identity's logical length is what the frame would decrypt to.
  if (size >= encryptfmt::kFrameOverhead) {
    const size_t plain_size = size - encryptfmt::kFrameOverhead;
    std::vector<uint8_t> plain(plain_size + 1);
    if (encryptfmt::OpenUnit(fixtures::kDataKey, Identity(plain_size), data, size, plain.data(),
                             cipher)) {
      std::vector<uint8_t> sealed(size);
      FUZZ_CHECK(encryptfmt::SealUnit(fixtures::kDataKey, data + 1, Identity(plain_size),
                                      plain.data(), plain_size, sealed.data(), cipher) &&
                     std::memcmp(sealed.data(), data, size) == 0,
                 "an opened frame does not seal back to itself");
    }
  } else {
    uint8_t plain[1];
    FUZZ_CHECK(!encryptfmt::OpenUnit(fixtures::kDataKey, Identity(0), data, size, plain, cipher),
               "a frame shorter than its overhead opened");
  }

  // The input as plaintext: seal, open, and fail to open under a neighbouring identity.
  uint8_t nonce[encryptfmt::kNonceBytes] = {};
  for (size_t i = 0; i < sizeof nonce && i < size; ++i) nonce[i] = data[i];
  std::vector<uint8_t> frame(size + encryptfmt::kFrameOverhead);
  FUZZ_CHECK(encryptfmt::SealUnit(fixtures::kDataKey, nonce, Identity(size), data, size,
                                  frame.data(), cipher),
             "sealing failed");
  std::vector<uint8_t> opened(size + 1);
  FUZZ_CHECK(encryptfmt::OpenUnit(fixtures::kDataKey, Identity(size), frame.data(), frame.size(),
                                  opened.data(), cipher) &&
                 std::memcmp(opened.data(), data, size) == 0,
             "a sealed unit does not open to its plaintext");
  encryptfmt::UnitIdentity moved = Identity(size);
  moved.unit_index += 1;
  FUZZ_CHECK(!encryptfmt::OpenUnit(fixtures::kDataKey, moved, frame.data(), frame.size(),
                                   opened.data(), cipher),
             "a unit opened under another identity");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool initialized = sodium_init() >= 0;
  FUZZ_CHECK(initialized, "libsodium did not initialize");
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  if ((mode & 1) == 0) {
    CheckHeader(data + 1, size - 1);
  } else {
    CheckFrame((mode & 2) != 0 ? Cipher::kXAes256Gcm : Cipher::kXChaCha20Poly1305, data + 1,
               size - 1);
  }
  return 0;
}
