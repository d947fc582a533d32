// Fixed vectors for the encrypt codec, computed once with libsodium's primitives directly
// (crypto_aead_xchacha20poly1305_ietf_encrypt and crypto_pwhash with the associated data laid
// out by hand from docs/plugins/codec-encrypt.md), not with the codec's own code. If the codec's
// format ever drifts from the documented one, these stop matching.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace encrypttest {

using Bytes = std::vector<uint8_t>;

inline Bytes FromHex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline Bytes Sequence(uint8_t first, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

// Unit frame vector: data key 00..1f, nonce 40..57, volume uuid a0..af, kind DATA (1),
// object seq 0x2a, unit index 3, logical length 4096.
inline const Bytes kDataKey = Sequence(0x00, 32);
inline const Bytes kUnitNonce = Sequence(0x40, 24);
inline const Bytes kVolumeUuid = Sequence(0xa0, 16);
inline constexpr uint32_t kUnitKind = 1;
inline constexpr uint64_t kUnitSeq = 0x2a;
inline constexpr uint64_t kUnitIndex = 3;
inline constexpr uint64_t kUnitLogicalLength = 4096;
inline const std::string kUnitPlaintext = "blockpipe known-answer unit\n";
inline const Bytes kUnitFrame = FromHex(
    "e1404142434445464748494a4b4c4d4e4f5051525354555657b6556a13bb9010"
    "66ead4ecd0c0eb0bbff3d4deb3762b73ef0458894fad9ac09c10a947185a2047"
    "ad366ccdad");

// Key header vector: password below, Argon2id with 1 pass and 8 KiB (libsodium's minimum, so
// the test is fast), salt 10..1f, wrap nonce 60..77, wrapping kDataKey for kVolumeUuid.
inline const std::string kPassword = "correct horse battery staple";
inline const Bytes kSalt = Sequence(0x10, 16);
inline const Bytes kWrapNonce = Sequence(0x60, 24);
inline constexpr uint64_t kOps = 1;
inline constexpr uint64_t kMem = 8192;
inline const Bytes kPasswordKey =
    FromHex("90da74e47a1d109c1bb7ad2a81127e2089e284ce71c647ebaedc644df9a9f14c");
inline const Bytes kKeyHeader = FromHex(
    "4250454b01010000010000000000000000200000000000001011121314151617"
    "18191a1b1c1d1e1f606162636465666768696a6b6c6d6e6f7071727374757677"
    "f5e41adfd30cbf4c0ac475eb32e529b5834b6503ad6436ab672b935fd268b960"
    "e16e14c7bd6c794070628c5826a977d9");

// Rewrapped key header vector (change-password): kKeyHeader's data key (kDataKey) wrapped again
// for kNewPassword, Argon2id with 1 pass and 8 KiB, new salt 30..3f, new wrap nonce 80..97,
// same volume uuid. Made the same way as kKeyHeader, from libsodium's primitives directly.
inline const std::string kNewPassword = "a brand new passphrase";
inline const Bytes kNewSalt = Sequence(0x30, 16);
inline const Bytes kNewWrapNonce = Sequence(0x80, 24);
inline const Bytes kNewPasswordKey =
    FromHex("91bad807dd3feb3399b805646072210d4e045ed32e540e788b4f3b044893edf4");
inline const Bytes kRekeyedHeader = FromHex(
    "4250454b01010000010000000000000000200000000000003031323334353637"
    "38393a3b3c3d3e3f808182838485868788898a8b8c8d8e8f9091929394959697"
    "7c0a567801e564c137711bcc8608a092feaa9e27b1aa5962f56ab48eb5553d51"
    "33b0c82ac80ce711992691ceaeaf04b0");

}  // namespace encrypttest
