// Checksum repair for fuzz inputs shaped like stored objects. Every blockpipe object carries a
// crc32c of its header, of its body and (segments) of each unit; random mutations almost never
// keep those right, so without repair a fuzzer would only ever test the checksum comparisons.
// The targets let the first input byte choose which checksums to recompute before decoding,
// which keeps both worlds reachable: corrupt checksums, and valid checksums over hostile content.
#pragma once

#include <cstdint>
#include <vector>

namespace bptest {

enum ObjectFixup : uint8_t {
  kFixHeaderCrc = 1,  // recompute the header checksum (bytes 76..79)
  kFixBodyCrc = 2,    // recompute the body checksum from the body the header delimits
  kFixUnitCrcs = 4,   // segments: recompute each unit's checksum in the (plain) meta
};

// Applies the fixups in the order a writer computes them: units, body, header.
void ApplyObjectFixups(std::vector<uint8_t>* object, uint8_t fixups);

}  // namespace bptest
