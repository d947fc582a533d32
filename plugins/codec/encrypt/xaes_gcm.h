// XAES-256-GCM (C2SP: c2sp.org/XAES-256-GCM) on OpenSSL: AES-256-GCM with a 192-bit nonce. For
// every nonce a fresh AES-256 key is derived from the 256-bit key and the nonce's first 12 bytes
// (NIST SP 800-108r1 counter-mode KDF with AES-256-CMAC as the PRF, two blocks), and GCM runs
// under that key with the nonce's last 12 bytes. Random nonces are then safe for far more
// messages than one volume ever writes (2^80 at a 2^-32 collision risk), as with
// XChaCha20-Poly1305, and the bulk work is AES-GCM, which AES-NI and carry-less multiply make
// several times faster than ChaCha20-Poly1305 on x86 (docs/security.md, "Ciphers").
//
// Plain functions over byte spans, like encrypt_format.h, so the unit tests check them against
// the specification's vectors directly. Thread-safe: each thread keeps its own OpenSSL cipher
// contexts. The AES key schedules those contexts hold stay in ordinary heap memory until the
// thread's next call or its exit (OpenSSL wipes them when a context is freed or rekeyed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xaes {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 24;
inline constexpr size_t kTagBytes = 16;

// Encrypt in[0..n) into out[0..n) and write the 16-byte tag to tag. False only when OpenSSL
// fails (out of memory, no AES-256-GCM in the library); out is then garbage.
bool Seal(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
          size_t ad_len, const uint8_t* in, size_t n, uint8_t* out, uint8_t tag[kTagBytes]);

// Check tag and decrypt in[0..n) into out[0..n). False on an authentication failure or an
// OpenSSL failure; out may then hold garbage and must be discarded.
bool Open(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
          size_t ad_len, const uint8_t* in, size_t n, const uint8_t tag[kTagBytes], uint8_t* out);

}  // namespace xaes
