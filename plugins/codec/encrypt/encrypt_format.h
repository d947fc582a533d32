// The bytes the encrypt codec stores, and the libsodium calls that make and check them. Two
// formats live here:
//
//   the key header   kept in the volume metadata: how the password key is derived (Argon2id
//                    parameters and salt) and the volume's random 256-bit data key, wrapped
//                    under it with XChaCha20-Poly1305. Its associated data covers the header's
//                    own fields and the volume uuid, so no field can be swapped or edited.
//   the unit frame   one encrypted unit: a format byte naming the cipher, a random 192-bit
//                    nonce, then the ciphertext and its 16-byte tag, under the volume's cipher:
//                    XChaCha20-Poly1305-IETF (libsodium) or XAES-256-GCM (xaes_gcm.h, OpenSSL).
//                    Its associated data is the format byte and the unit's identity (volume
//                    uuid, kind, object seq, unit index, logical length), so a unit that moves
//                    anywhere else fails to authenticate.
//
// A volume uses one cipher for all its units, chosen when it is created and recorded in the key
// header: version 1 headers (every volume written before XAES-256-GCM existed, and XChaCha20-
// Poly1305 volumes since) mean XChaCha20-Poly1305; version 2 names the cipher in byte 6.
//
// Nothing here touches the host or the plugin ABI: it is plain functions over byte spans, so
// the unit tests link it directly and check it against fixed vectors. docs/plugins/
// codec-encrypt.md is the reference for every byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace encryptfmt {

inline constexpr size_t kKeyBytes = 32;    // data key and password key: 256 bits
inline constexpr size_t kNonceBytes = 24;  // XChaCha20 nonce: 192 bits, random per use
inline constexpr size_t kTagBytes = 16;    // Poly1305 tag
inline constexpr size_t kSaltBytes = 16;   // Argon2id salt
inline constexpr size_t kUuidBytes = 16;

// ---- ciphers ---------------------------------------------------------------------------------

// The unit cipher, as recorded in a version 2 key header. Both take a 256-bit key and a random
// 192-bit nonce and produce a 16-byte tag, so the frame has the same shape under either.
enum class Cipher : uint8_t {
  kXChaCha20Poly1305 = 1,
  kXAes256Gcm = 2,
};
const char* CipherName(Cipher cipher);
// "xchacha20-poly1305" or "xaes-256-gcm" → true and *out.
bool CipherFromName(const std::string& name, Cipher* out);

// ---- unit frame ------------------------------------------------------------------------------

// First byte of every frame: identifies this codec, the frame version and the cipher.
inline constexpr uint8_t kFrameVersion1 = 0xE1;    // XChaCha20-Poly1305
inline constexpr uint8_t kFrameXAes256Gcm = 0xE2;  // XAES-256-GCM
uint8_t FrameByte(Cipher cipher);
inline constexpr size_t kFrameOverhead = 1 + kNonceBytes + kTagBytes;

// Where a unit lives; what the frame's associated data binds.
struct UnitIdentity {
  const uint8_t* volume_uuid = nullptr;  // 16 bytes
  uint32_t kind = 0;
  uint64_t object_seq = 0;
  uint64_t unit_index = 0;
  uint64_t logical_length = 0;
};

// The associated data of a frame: frame byte, uuid, then kind (u32) and seq, index and
// logical length (u64), all little-endian. 45 bytes.
inline constexpr size_t kUnitAdBytes = 1 + kUuidBytes + 4 + 8 + 8 + 8;
void BuildUnitAd(const UnitIdentity& unit, uint8_t ad[kUnitAdBytes],
                 Cipher cipher = Cipher::kXChaCha20Poly1305);

// Encrypt in[0..n) into out (n + kFrameOverhead bytes) with the given nonce. Callers pass a
// fresh random nonce; tests pass a fixed one. False only when the cipher's library fails (never
// for XChaCha20-Poly1305).
bool SealUnit(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
              const UnitIdentity& unit, const uint8_t* in, size_t n, uint8_t* out,
              Cipher cipher = Cipher::kXChaCha20Poly1305);

// Check and decrypt a frame of n bytes into out (n - kFrameOverhead bytes). False on any
// failure: too short, a frame byte other than the cipher's, or an authentication failure. out
// may then hold garbage and must be discarded.
bool OpenUnit(const uint8_t key[kKeyBytes], const UnitIdentity& unit, const uint8_t* in, size_t n,
              uint8_t* out, Cipher cipher = Cipher::kXChaCha20Poly1305);

// ---- key header ------------------------------------------------------------------------------

inline constexpr uint8_t kHeaderMagic[4] = {'B', 'P', 'E', 'K'};
inline constexpr uint8_t kHeaderVersion1 = 1;  // XChaCha20-Poly1305 units, bytes 6-7 zero
inline constexpr uint8_t kHeaderVersion2 = 2;  // byte 6 names the unit cipher, byte 7 zero
inline constexpr uint8_t kKdfArgon2id13 = 1;   // libsodium crypto_pwhash_ALG_ARGON2ID13

// Bounds on recorded Argon2id costs. The lower ones are libsodium's minimums (useful for fast
// tests); the upper ones stop a damaged or hostile header from making open() run for hours or
// allocate more memory than any sane volume asked for.
inline constexpr uint64_t kMinOps = 1;
inline constexpr uint64_t kMaxOps = 64;
inline constexpr uint64_t kMinMem = 8192;
inline constexpr uint64_t kMaxMem = 4ull << 30;

struct KdfParams {
  uint8_t algorithm = kKdfArgon2id13;
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;  // bytes
};

// What the header holds, parsed.
struct KeyHeader {
  uint8_t version = kHeaderVersion1;  // set by SerializeHeader from the cipher
  Cipher cipher = Cipher::kXChaCha20Poly1305;
  KdfParams kdf;
  uint8_t salt[kSaltBytes] = {};
  uint8_t wrap_nonce[kNonceBytes] = {};
  uint8_t wrapped_key[kKeyBytes + kTagBytes] = {};
};

// magic(4) version(1) algorithm(1) cipher(1, version 2; zero in version 1) reserved(1)
// opslimit(8) memlimit(8) salt(16) — the part the wrap authenticates, so the cipher cannot be
// changed without the password — then the wrap nonce (24) and the wrapped key (48). 112 bytes.
// The key wrap itself is XChaCha20-Poly1305 whatever the unit cipher.
inline constexpr size_t kHeaderAuthenticatedBytes = 4 + 1 + 1 + 2 + 8 + 8 + kSaltBytes;
inline constexpr size_t kHeaderBytes =
    kHeaderAuthenticatedBytes + kNonceBytes + kKeyBytes + kTagBytes;

// XChaCha20-Poly1305 volumes are written as version 1, byte for byte what builds before
// XAES-256-GCM wrote and read; other ciphers as version 2.
std::vector<uint8_t> SerializeHeader(const KeyHeader& header);
// Strict parse: exact length, magic, version, known algorithm and cipher, zero reserved bytes,
// costs in bounds. On failure returns false and says why in *error.
bool ParseHeader(const uint8_t* p, size_t n, KeyHeader* out, std::string* error);

// Argon2id: password → 256-bit password key. False when libsodium cannot (out of memory).
bool DerivePasswordKey(const std::string& password, const uint8_t salt[kSaltBytes],
                       const KdfParams& kdf, uint8_t key[kKeyBytes]);

// Fill header->wrapped_key by sealing data_key under password_key; the header's kdf, salt and
// wrap_nonce must already be set (the nonce random, or fixed in tests).
void WrapDataKey(const uint8_t password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                 const uint8_t data_key[kKeyBytes], KeyHeader* header);

// Recover the data key. False when the password key is wrong or anything the wrap covers was
// altered (the two are indistinguishable by design).
bool UnwrapDataKey(const uint8_t password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                   const KeyHeader& header, uint8_t data_key[kKeyBytes]);

// Change the password of a header: recover the data key from `old` with old_password_key and
// wrap that same key under new_password_key into *fresh, whose kdf, salt and wrap_nonce must
// already be set (random, or fixed in tests); the cipher is the old header's. The data key stays inside this function and is
// wiped before it returns. False, with *fresh untouched, when old_password_key does not unwrap
// `old`.
bool RewrapDataKey(const uint8_t old_password_key[kKeyBytes],
                   const uint8_t new_password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                   const KeyHeader& old, KeyHeader* fresh);

}  // namespace encryptfmt
