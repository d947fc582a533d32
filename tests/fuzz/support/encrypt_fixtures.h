// The fixed secrets the encrypt_format fuzz target and its seeds share (make_seeds.cpp writes
// seeds under them, fuzz_encrypt_format.cpp opens what the fuzzer keeps of them). Test values
// only: nothing here protects anything.
#pragma once

#include <cstdint>

namespace bptest::encrypt {

// The password of the seed headers, written by the codec plugin with the cheapest Argon2id costs
// it allows (kdf_ops = 1, kdf_mem = 8 KiB) so the target can derive its key on every run.
inline constexpr char kPassword[] = "fuzz password";
inline constexpr uint64_t kSeedOps = 1;
inline constexpr uint64_t kSeedMem = 8192;

inline constexpr uint8_t kVolumeUuid[16] = {0x6b, 0x1f, 0x2a, 0x9c, 0x40, 0x11, 0x4e, 0x8d,
                                            0x92, 0x35, 0xb7, 0x0e, 0x5a, 0xc3, 0x77, 0x01};
// The data key unit-frame seeds are sealed under.
inline constexpr uint8_t kDataKey[32] = {
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
// The identity those frames are bound to.
inline constexpr uint32_t kUnitKind = 1;
inline constexpr uint64_t kUnitSeq = 42;
inline constexpr uint64_t kUnitIndex = 3;

}  // namespace bptest::encrypt
