// XAES-256-GCM on OpenSSL's EVP interface (see xaes_gcm.h).
#include "xaes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>

namespace xaes {
namespace {

// One AES-256-ECB context (for the key derivation's three block encryptions) and one
// AES-256-GCM context per thread, created on first use and bound to their cipher once; each
// unit then only sets keys and the IV. Fetching and binding a cipher per call costs more than
// sealing a 4 KiB unit.
class ThreadContexts {
 public:
  ThreadContexts() {
    ecb_cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
    gcm_cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    ecb_ = EVP_CIPHER_CTX_new();
    gcm_ = EVP_CIPHER_CTX_new();
    bound_ = ecb_cipher_ && gcm_cipher_ && ecb_ && gcm_ &&
             EVP_EncryptInit_ex2(ecb_, ecb_cipher_, nullptr, nullptr, nullptr) == 1 &&
             EVP_EncryptInit_ex2(gcm_, gcm_cipher_, nullptr, nullptr, nullptr) == 1;
  }
  ~ThreadContexts() {
    EVP_CIPHER_CTX_free(ecb_);  // frees and wipes the key schedules
    EVP_CIPHER_CTX_free(gcm_);
    EVP_CIPHER_free(ecb_cipher_);
    EVP_CIPHER_free(gcm_cipher_);
  }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
  bool ok() const { return bound_; }

  EVP_CIPHER* ecb_cipher_ = nullptr;
  EVP_CIPHER* gcm_cipher_ = nullptr;
  EVP_CIPHER_CTX* ecb_ = nullptr;
  EVP_CIPHER_CTX* gcm_ = nullptr;
  bool bound_ = false;
};

ThreadContexts& Contexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

// The per-nonce key: L = AES-256_K(0^128); K1 = L doubled in GF(2^128) (shift left one bit,
// XOR 0x87 into the last byte when a bit falls off: the CMAC subkey); then
// Kx = AES-256_K(M1 ^ K1) || AES-256_K(M2 ^ K1) with M_i = 0x00, i, 'X', 0x00, nonce[0..12).
bool DeriveKey(ThreadContexts& c, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
               uint8_t derived[kKeyBytes]) {
  // Whole blocks through EncryptUpdate: encryption never holds a block back, padding or not.
  if (EVP_EncryptInit_ex2(c.ecb_, nullptr, key, nullptr, nullptr) != 1) return false;
  uint8_t l[16] = {};
  int len = 0;
  if (EVP_EncryptUpdate(c.ecb_, l, &len, l, sizeof l) != 1 || len != 16) return false;
  uint8_t k1[16];
  const uint8_t carry = l[0] >> 7;
  for (int i = 0; i < 15; ++i) k1[i] = static_cast<uint8_t>((l[i] << 1) | (l[i + 1] >> 7));
  k1[15] = static_cast<uint8_t>((l[15] << 1) ^ (carry ? 0x87 : 0));
  uint8_t blocks[32];
  for (int i = 0; i < 2; ++i) {
    uint8_t* m = blocks + 16 * i;
    m[0] = 0x00;
    m[1] = static_cast<uint8_t>(i + 1);
    m[2] = 'X';
    m[3] = 0x00;
    std::memcpy(m + 4, nonce, 12);
    for (int j = 0; j < 16; ++j) m[j] ^= k1[j];
  }
  const bool ok = EVP_EncryptUpdate(c.ecb_, derived, &len, blocks, sizeof blocks) == 1 && len == 32;
  OPENSSL_cleanse(l, sizeof l);
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(blocks, sizeof blocks);
  return ok;
}

// GCM under the derived key with the nonce's last 12 bytes (GCM's default 96-bit IV).
bool StartGcm(ThreadContexts& c, bool encrypt, const uint8_t key[kKeyBytes],
              const uint8_t nonce[kNonceBytes], const uint8_t* ad, size_t ad_len) {
  if (ad_len > INT_MAX) return false;
  uint8_t derived[kKeyBytes];
  bool ok = DeriveKey(c, key, nonce, derived);
  if (ok) {
    ok = (encrypt ? EVP_EncryptInit_ex2(c.gcm_, nullptr, derived, nonce + 12, nullptr)
                  : EVP_DecryptInit_ex2(c.gcm_, nullptr, derived, nonce + 12, nullptr)) == 1;
  }
  OPENSSL_cleanse(derived, sizeof derived);
  int len = 0;
  if (ok && ad_len > 0)
    ok = EVP_CipherUpdate(c.gcm_, nullptr, &len, ad, static_cast<int>(ad_len)) == 1;
  return ok;
}

// EVP's lengths are ints: feed large inputs in pieces.
bool Update(EVP_CIPHER_CTX* ctx, const uint8_t* in, size_t n, uint8_t* out) {
  constexpr size_t kPiece = size_t{1} << 30;
  while (n > 0) {
    const size_t piece = n < kPiece ? n : kPiece;
    int len = 0;
    if (EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(piece)) != 1 ||
        static_cast<size_t>(len) != piece) {
      return false;
    }
    in += piece;
    out += piece;
    n -= piece;
  }
  return true;
}

}  // namespace

bool Seal(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
          size_t ad_len, const uint8_t* in, size_t n, uint8_t* out, uint8_t tag[kTagBytes]) {
  ThreadContexts& c = Contexts();
  if (!c.ok() || !StartGcm(c, true, key, nonce, ad, ad_len)) return false;
  if (!Update(c.gcm_, in, n, out)) return false;
  int len = 0;
  uint8_t none[16];
  if (EVP_EncryptFinal_ex(c.gcm_, none, &len) != 1 || len != 0) return false;
  return EVP_CIPHER_CTX_ctrl(c.gcm_, EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) == 1;
}

bool Open(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
          size_t ad_len, const uint8_t* in, size_t n, const uint8_t tag[kTagBytes], uint8_t* out) {
  ThreadContexts& c = Contexts();
  if (!c.ok() || !StartGcm(c, false, key, nonce, ad, ad_len)) return false;
  if (!Update(c.gcm_, in, n, out)) return false;
  uint8_t expected[kTagBytes];
  std::memcpy(expected, tag, kTagBytes);
  if (EVP_CIPHER_CTX_ctrl(c.gcm_, EVP_CTRL_GCM_SET_TAG, kTagBytes, expected) != 1) return false;
  int len = 0;
  uint8_t none[16];
  return EVP_DecryptFinal_ex(c.gcm_, none, &len) == 1 && len == 0;
}

}  // namespace xaes
