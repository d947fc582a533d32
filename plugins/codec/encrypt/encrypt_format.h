// The bytes the encrypt codec stores, and the libsodium calls that make and check them. Two
// formats live here:
//
//   the key header   kept in the volume metadata: how the password key is derived (Argon2id
//                    parameters and salt) and the volume's random 256-bit data key, wrapped
//                    under it with XChaCha20-Poly1305. Its associated data covers the header's
//                    own fields and the volume uuid, so no field can be swapped or edited.
//   the unit frame   one encrypted unit: a format byte, a random 192-bit nonce, then the
//                    XChaCha20-Poly1305-IETF ciphertext and tag. Its associated data is the
//                    unit's identity (volume uuid, kind, object seq, unit index, logical
//                    length), so a unit that moves anywhere else fails to authenticate.
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

inline constexpr size_t kKeyBytes = 32;      // data key and password key: 256 bits
inline constexpr size_t kNonceBytes = 24;    // XChaCha20 nonce: 192 bits, random per use
inline constexpr size_t kTagBytes = 16;      // Poly1305 tag
inline constexpr size_t kSaltBytes = 16;     // Argon2id salt
inline constexpr size_t kUuidBytes = 16;

// ---- unit frame ------------------------------------------------------------------------------

// First byte of every frame: identifies this codec and the frame version in one byte.
inline constexpr uint8_t kFrameVersion1 = 0xE1;
inline constexpr size_t kFrameOverhead = 1 + kNonceBytes + kTagBytes;

// Where a unit lives; what the frame's associated data binds.
struct UnitIdentity {
  const uint8_t* volume_uuid = nullptr;  // 16 bytes
  uint32_t kind = 0;
  uint64_t object_seq = 0;
  uint64_t unit_index = 0;
  uint64_t logical_length = 0;
};

// The associated data of a frame: version byte, uuid, then kind (u32) and seq, index and
// logical length (u64), all little-endian. 45 bytes.
inline constexpr size_t kUnitAdBytes = 1 + kUuidBytes + 4 + 8 + 8 + 8;
void BuildUnitAd(const UnitIdentity& unit, uint8_t ad[kUnitAdBytes]);

// Encrypt in[0..n) into out (n + kFrameOverhead bytes) with the given nonce. Callers pass a
// fresh random nonce; tests pass a fixed one.
void SealUnit(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
              const UnitIdentity& unit, const uint8_t* in, size_t n, uint8_t* out);

// Check and decrypt a frame of n bytes into out (n - kFrameOverhead bytes). False on any
// failure: too short, wrong version byte, or an authentication failure. out may then hold
// garbage and must be discarded.
bool OpenUnit(const uint8_t key[kKeyBytes], const UnitIdentity& unit, const uint8_t* in, size_t n,
              uint8_t* out);

// ---- key header ------------------------------------------------------------------------------

inline constexpr uint8_t kHeaderMagic[4] = {'B', 'P', 'E', 'K'};
inline constexpr uint8_t kHeaderVersion1 = 1;
inline constexpr uint8_t kKdfArgon2id13 = 1;  // libsodium crypto_pwhash_ALG_ARGON2ID13

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
  uint8_t version = kHeaderVersion1;
  KdfParams kdf;
  uint8_t salt[kSaltBytes] = {};
  uint8_t wrap_nonce[kNonceBytes] = {};
  uint8_t wrapped_key[kKeyBytes + kTagBytes] = {};
};

// magic(4) version(1) algorithm(1) reserved(2) opslimit(8) memlimit(8) salt(16) — the part the
// wrap authenticates — then the wrap nonce (24) and the wrapped key (48). 112 bytes.
inline constexpr size_t kHeaderAuthenticatedBytes = 4 + 1 + 1 + 2 + 8 + 8 + kSaltBytes;
inline constexpr size_t kHeaderBytes = kHeaderAuthenticatedBytes + kNonceBytes + kKeyBytes + kTagBytes;

std::vector<uint8_t> SerializeHeader(const KeyHeader& header);
// Strict parse: exact length, magic, version, known algorithm, zero reserved bytes, costs in
// bounds. On failure returns false and says why in *error.
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
// already be set (random, or fixed in tests). The data key stays inside this function and is
// wiped before it returns. False, with *fresh untouched, when old_password_key does not unwrap
// `old`.
bool RewrapDataKey(const uint8_t old_password_key[kKeyBytes],
                   const uint8_t new_password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                   const KeyHeader& old, KeyHeader* fresh);

}  // namespace encryptfmt
