// CRC-32C (Castagnoli), the checksum of every stored object header, segment body and unit. It
// folds with AVX-512 carry-less multiplication (VPCLMULQDQ) when the CPU has it, else uses the
// SSE4.2 crc32 instruction, else a slicing-by-8 table (checked once at startup); all give
// identical results, which the unit tests check.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bp {

// CRC-32C of n bytes. Pass a previous result as `crc` to extend it over more bytes:
// Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a followed by b).
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

// The CRC-32C of some data followed by a 4 KiB block, from the data's CRC and the block's own
// CRC-32C: Crc32cAppendBlock(Crc32c(a, na), Crc32c(b, 4096)) == Crc32c(a followed by b). Lets a
// checksum over blocks whose CRCs are known already skip reading them again.
uint32_t Crc32cAppendBlock(uint32_t crc, uint32_t block_crc);

// The portable table implementation, exposed so tests can compare it with the hardware one.
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc = 0);

// Copy n bytes from src to dst (not overlapping) and return their CRC-32C, extending `crc` as
// Crc32c does. Where the CPU folds, one pass does both: the bytes are checksummed from the
// registers they were copied through, instead of being read again after the copy.
uint32_t Crc32cCopy(void* dst, const void* src, size_t n, uint32_t crc = 0);

// True when Crc32c uses the CPU instruction.
bool Crc32cIsHardware();

// The implementations one by one, so tests can compare them on a CPU that has them all.
enum class Crc32cPath { kPortable, kLanes, kFolding };
// Whether this CPU runs `path` (kPortable always).
bool Crc32cHas(Crc32cPath path);
// CRC-32C through `path` (a path the CPU lacks falls back as Crc32c would).
uint32_t Crc32cVia(Crc32cPath path, const void* data, size_t n, uint32_t crc = 0);

}  // namespace bp
