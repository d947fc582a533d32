// A real volume stack for frontend tests and fuzzers: the host's VolumeManager over an in-memory
// object store with the identity codec chain (no codecs, which is what a volume created without
// [[codec]] sections gets), and the host's own bp_volume_api table over it (MakeVolumeApi). The
// NBD negotiation code under test therefore lists, opens, describes and closes volumes through
// exactly the calls the daemon answers, not through a stand-in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "engine/engine_options.h"
#include "engine/volume_manager.h"
#include "pipeline/codec_chain.h"
#include "support/memory_store.h"
#include "util/status.h"

namespace bptest {

// Creates and opens chains with no codecs, and refuses to open a volume that records any,
// as the daemon does for a codec whose plugin is not loaded.
class IdentityCodecFactory final : public bp::CodecFactory {
 public:
  bp::Status CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                         std::vector<bp::CodecRecord>* records,
                         std::unique_ptr<bp::CodecChain>* chain) override;
  bp::Status OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                       const std::vector<bp::CodecRecord>& records,
                       std::unique_ptr<bp::CodecChain>* chain) override;
};

// The identity chain on its own, for decoders that take a CodecChain.
std::unique_ptr<bp::CodecChain> IdentityChain(const uint8_t uuid[16]);

// Engine settings small enough for tests: one I/O thread, no timer-driven sealing, a small
// cache and write buffer.
bp::EngineOptions SmallEngineOptions();

struct VolumeSpec {
  std::string name;
  uint64_t size = 0;
};

class IdentityVolumes {
 public:
  // Opens the manager and creates `volumes`. Check status() before use.
  explicit IdentityVolumes(const std::vector<VolumeSpec>& volumes);
  ~IdentityVolumes();
  IdentityVolumes(const IdentityVolumes&) = delete;
  IdentityVolumes& operator=(const IdentityVolumes&) = delete;

  const bp::Status& status() const { return status_; }
  bp::VolumeManager& manager() { return *manager_; }
  const bp_volume_api* api() const { return &api_; }
  // Open frontend references of `name` (0 for an unknown name).
  uint32_t References(const std::string& name) const;

 private:
  std::shared_ptr<bp::MemoryStore> store_;
  IdentityCodecFactory codecs_;
  std::unique_ptr<bp::VolumeManager> manager_;
  bp_volume_api api_{};
  bp::Status status_;
};

}  // namespace bptest
