// Where the encrypt codec's unit nonces come from. Every unit needs 24 fresh random bytes, and
// libsodium's randombytes_buf makes one getrandom system call per call: about 1 µs here, 8% of
// sealing a 4 KiB unit. NextNonce draws 32 bytes from the OS instead once per 32 nonces and
// expands them with ChaCha20 (the bytes stay random to anyone without the 32 seed bytes, which
// are erased as soon as they are expanded). docs/security.md, "Nonces", has the reasoning.
#pragma once

#include <cstdint>

#include "encrypt_format.h"

namespace encryptnonce {

// Fill nonce with 24 fresh random bytes. No two calls in this process, its threads or a forked
// child hand out the same bytes (short of a 192-bit collision). Thread-safe without locks: each
// thread has its own pool.
void NextNonce(uint8_t nonce[encryptfmt::kNonceBytes]);

}  // namespace encryptnonce
