// The encrypt codec's key header and unit frame (see encrypt_format.h). Every multi-byte field
// is little-endian and written field by field, so the bytes never depend on the compiler.
#include "encrypt_format.h"

#include <sodium.h>

#include <cstring>

#include "xaes_gcm.h"

namespace encryptfmt {
namespace {

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

uint8_t HeaderVersionFor(Cipher cipher) {
  return cipher == Cipher::kXChaCha20Poly1305 ? kHeaderVersion1 : kHeaderVersion2;
}

// Bytes 0..kHeaderAuthenticatedBytes of the serialized header. The version follows from the
// cipher, so what is wrapped (WrapDataKey) and what is serialized always agree.
void WriteAuthenticatedPart(const KeyHeader& h, uint8_t* p) {
  std::memcpy(p, kHeaderMagic, 4);
  p[4] = HeaderVersionFor(h.cipher);
  p[5] = h.kdf.algorithm;
  p[6] = p[4] == kHeaderVersion1 ? 0 : static_cast<uint8_t>(h.cipher);
  p[7] = 0;
  PutU64(p + 8, h.kdf.opslimit);
  PutU64(p + 16, h.kdf.memlimit);
  std::memcpy(p + 24, h.salt, kSaltBytes);
}

// The wrap's associated data: the authenticated part of the header, then the volume uuid. The
// password key already depends on salt and costs; binding them again (and the version and the
// uuid) means a header copied to another volume, or edited in place, never unwraps.
constexpr size_t kWrapAdBytes = kHeaderAuthenticatedBytes + kUuidBytes;
void BuildWrapAd(const KeyHeader& h, const uint8_t uuid[kUuidBytes], uint8_t ad[kWrapAdBytes]) {
  WriteAuthenticatedPart(h, ad);
  std::memcpy(ad + kHeaderAuthenticatedBytes, uuid, kUuidBytes);
}

}  // namespace

const char* CipherName(Cipher cipher) {
  return cipher == Cipher::kXAes256Gcm ? "xaes-256-gcm" : "xchacha20-poly1305";
}

bool CipherFromName(const std::string& name, Cipher* out) {
  if (name == "xchacha20-poly1305") {
    *out = Cipher::kXChaCha20Poly1305;
  } else if (name == "xaes-256-gcm") {
    *out = Cipher::kXAes256Gcm;
  } else {
    return false;
  }
  return true;
}

uint8_t FrameByte(Cipher cipher) {
  return cipher == Cipher::kXAes256Gcm ? kFrameXAes256Gcm : kFrameVersion1;
}

void BuildUnitAd(const UnitIdentity& unit, uint8_t ad[kUnitAdBytes], Cipher cipher) {
  ad[0] = FrameByte(cipher);
  std::memcpy(ad + 1, unit.volume_uuid, kUuidBytes);
  PutU32(ad + 17, unit.kind);
  PutU64(ad + 21, unit.object_seq);
  PutU64(ad + 29, unit.unit_index);
  PutU64(ad + 37, unit.logical_length);
}

bool SealUnit(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
              const UnitIdentity& unit, const uint8_t* in, size_t n, uint8_t* out, Cipher cipher) {
  uint8_t ad[kUnitAdBytes];
  BuildUnitAd(unit, ad, cipher);
  out[0] = FrameByte(cipher);
  std::memcpy(out + 1, nonce, kNonceBytes);
  uint8_t* sealed = out + 1 + kNonceBytes;
  if (cipher == Cipher::kXAes256Gcm) {
    return xaes::Seal(key, nonce, ad, sizeof ad, in, n, sealed, sealed + n);
  }
  unsigned long long produced = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &produced, in, n, ad, sizeof ad, nullptr,
                                             nonce, key);
  return true;
}

bool OpenUnit(const uint8_t key[kKeyBytes], const UnitIdentity& unit, const uint8_t* in, size_t n,
              uint8_t* out, Cipher cipher) {
  if (n < kFrameOverhead || in[0] != FrameByte(cipher)) return false;
  uint8_t ad[kUnitAdBytes];
  BuildUnitAd(unit, ad, cipher);
  const uint8_t* nonce = in + 1;
  const uint8_t* sealed = in + 1 + kNonceBytes;
  const size_t sealed_len = n - 1 - kNonceBytes;
  if (cipher == Cipher::kXAes256Gcm) {
    const size_t plain_len = sealed_len - kTagBytes;
    return xaes::Open(key, nonce, ad, sizeof ad, sealed, plain_len, sealed + plain_len, out);
  }
  unsigned long long produced = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &produced, nullptr, sealed, sealed_len, ad,
                                                 sizeof ad, nonce, key) != 0) {
    return false;
  }
  return produced == n - kFrameOverhead;
}

std::vector<uint8_t> SerializeHeader(const KeyHeader& header) {
  std::vector<uint8_t> out(kHeaderBytes);
  // (The version byte comes from the cipher; header.version is what a parse found.)
  WriteAuthenticatedPart(header, out.data());
  std::memcpy(out.data() + kHeaderAuthenticatedBytes, header.wrap_nonce, kNonceBytes);
  std::memcpy(out.data() + kHeaderAuthenticatedBytes + kNonceBytes, header.wrapped_key,
              sizeof header.wrapped_key);
  return out;
}

bool ParseHeader(const uint8_t* p, size_t n, KeyHeader* out, std::string* error) {
  if (n != kHeaderBytes) {
    *error =
        "key header is " + std::to_string(n) + " bytes, expected " + std::to_string(kHeaderBytes);
    return false;
  }
  if (std::memcmp(p, kHeaderMagic, 4) != 0) {
    *error = "key header has a bad magic (not written by this codec)";
    return false;
  }
  if (p[4] != kHeaderVersion1 && p[4] != kHeaderVersion2) {
    *error = "key header version " + std::to_string(p[4]) +
             " is not supported (this build reads 1 and 2)";
    return false;
  }
  if (p[5] != kKdfArgon2id13) {
    *error = "key header names unknown key-derivation algorithm " + std::to_string(p[5]);
    return false;
  }
  Cipher cipher = Cipher::kXChaCha20Poly1305;
  if (p[4] == kHeaderVersion2) {
    // Version 2 exists to name a cipher other than version 1's.
    if (p[6] != static_cast<uint8_t>(Cipher::kXAes256Gcm)) {
      *error = "key header version 2 names unknown cipher " + std::to_string(p[6]);
      return false;
    }
    cipher = static_cast<Cipher>(p[6]);
  } else if (p[6] != 0) {
    *error = "key header has non-zero reserved bytes";
    return false;
  }
  if (p[7] != 0) {
    *error = "key header has non-zero reserved bytes";
    return false;
  }
  KeyHeader h;
  h.version = p[4];
  h.cipher = cipher;
  h.kdf.algorithm = p[5];
  h.kdf.opslimit = GetU64(p + 8);
  h.kdf.memlimit = GetU64(p + 16);
  if (h.kdf.opslimit < kMinOps || h.kdf.opslimit > kMaxOps || h.kdf.memlimit < kMinMem ||
      h.kdf.memlimit > kMaxMem) {
    *error = "key header asks for Argon2id costs out of bounds (ops " +
             std::to_string(h.kdf.opslimit) + ", memory " + std::to_string(h.kdf.memlimit) +
             " bytes)";
    return false;
  }
  std::memcpy(h.salt, p + 24, kSaltBytes);
  std::memcpy(h.wrap_nonce, p + kHeaderAuthenticatedBytes, kNonceBytes);
  std::memcpy(h.wrapped_key, p + kHeaderAuthenticatedBytes + kNonceBytes, sizeof h.wrapped_key);
  *out = h;
  return true;
}

bool DerivePasswordKey(const std::string& password, const uint8_t salt[kSaltBytes],
                       const KdfParams& kdf, uint8_t key[kKeyBytes]) {
  if (kdf.algorithm != kKdfArgon2id13) return false;
  return crypto_pwhash(key, kKeyBytes, password.data(), password.size(), salt,
                       static_cast<unsigned long long>(kdf.opslimit),
                       static_cast<size_t>(kdf.memlimit), crypto_pwhash_ALG_ARGON2ID13) == 0;
}

void WrapDataKey(const uint8_t password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                 const uint8_t data_key[kKeyBytes], KeyHeader* header) {
  uint8_t ad[kWrapAdBytes];
  BuildWrapAd(*header, volume_uuid, ad);
  unsigned long long produced = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(header->wrapped_key, &produced, data_key, kKeyBytes,
                                             ad, sizeof ad, nullptr, header->wrap_nonce,
                                             password_key);
}

bool UnwrapDataKey(const uint8_t password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                   const KeyHeader& header, uint8_t data_key[kKeyBytes]) {
  uint8_t ad[kWrapAdBytes];
  BuildWrapAd(header, volume_uuid, ad);
  unsigned long long produced = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(data_key, &produced, nullptr, header.wrapped_key,
                                                 sizeof header.wrapped_key, ad, sizeof ad,
                                                 header.wrap_nonce, password_key) != 0) {
    sodium_memzero(data_key, kKeyBytes);
    return false;
  }
  return produced == kKeyBytes;
}

bool RewrapDataKey(const uint8_t old_password_key[kKeyBytes],
                   const uint8_t new_password_key[kKeyBytes], const uint8_t volume_uuid[kUuidBytes],
                   const KeyHeader& old, KeyHeader* fresh) {
  uint8_t data_key[kKeyBytes];
  const bool unwrapped = UnwrapDataKey(old_password_key, volume_uuid, old, data_key);
  if (unwrapped) {
    // The units were sealed with the old header's cipher; a new password changes nothing there.
    fresh->cipher = old.cipher;
    fresh->version = HeaderVersionFor(old.cipher);
    WrapDataKey(new_password_key, volume_uuid, data_key, fresh);
  }
  sodium_memzero(data_key, sizeof data_key);
  return unwrapped;
}

}  // namespace encryptfmt
