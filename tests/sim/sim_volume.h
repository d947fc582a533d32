// What the simulated volume is made of: its name, the self-describing sector data the workload
// writes, and the codec chains a run can use.
//
// Every 512-byte sector a write stores names its write and its own sector number and carries a
// fill derived from both (half random, half a repeated pattern, so compressing codecs do real
// work). A checker can therefore tell, for any sector read back, exactly which write put it
// there — or that no write ever did.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/codec_chain.h"
#include "util/status.h"

namespace bp::sim {

inline const std::string kVolumeName = "sim";
constexpr uint64_t kSector = 512;

// Fill one sector of write `id` (ids start at 1) at volume sector `sector`.
void FillSector(uint64_t id, uint64_t sector, uint8_t* out);

// What a sector read back holds.
struct SectorValue {
  enum Kind { kZero, kData, kGarbage } kind = kZero;
  uint64_t id = 0;  // kData: the write; kGarbage: the id it claims (maybe nonsense)
  uint64_t claimed_sector = 0;
};
// Decode a sector read at `sector`. kData only when the bytes are exactly what FillSector
// produces for the id they name and this sector.
SectorValue DecodeSector(const uint8_t* p, uint64_t sector);

// Codec chains by name: "none", "xor" (an in-process codec that scrambles and checksums every
// unit), or plugin chains "lz4", "zstd", "encrypt" (zstd then encrypt, Argon2id at its lowest
// documented cost). Plugins load once per process from the build's plugin directory.
class ChainMaker {
 public:
  // False (with *error) when the name is unknown or the plugins cannot be loaded.
  static bool Known(const std::string& codec, std::string* error);
  // A chain for a new volume: its records and the chain.
  static Status Create(const std::string& codec, const uint8_t uuid[16],
                       std::vector<CodecRecord>* records, std::unique_ptr<CodecChain>* chain,
                       const std::string& volume = kVolumeName);
  // The chain of a volume with these records (at every reopen).
  static Status Open(const std::string& codec, const uint8_t uuid[16],
                     const std::vector<CodecRecord>& records, std::unique_ptr<CodecChain>* chain,
                     const std::string& volume = kVolumeName);
};

// The codec factory of the simulated host's VolumeManager: every volume of a run (the first
// one, its clones, the chains of their bases) gets the run's codec through ChainMaker.
class SimCodecFactory final : public CodecFactory {
 public:
  explicit SimCodecFactory(std::string codec) : codec_(std::move(codec)) {}
  Status CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                     std::vector<CodecRecord>* records,
                     std::unique_ptr<CodecChain>* chain) override {
    return ChainMaker::Create(codec_, uuid, records, chain, volume_name);
  }
  Status OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                   const std::vector<CodecRecord>& records,
                   std::unique_ptr<CodecChain>* chain) override {
    return ChainMaker::Open(codec_, uuid, records, chain, volume_name);
  }

 private:
  const std::string codec_;
};

}  // namespace bp::sim
