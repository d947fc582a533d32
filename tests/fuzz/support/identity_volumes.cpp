// IdentityVolumes and the identity codec factory; see identity_volumes.h.
#include "identity_volumes.h"

#include "loader/frontend_adapter.h"

namespace bptest {

bp::Status IdentityCodecFactory::CreateChain(const uint8_t uuid[16], const std::string&,
                                             std::vector<bp::CodecRecord>* records,
                                             std::unique_ptr<bp::CodecChain>* chain) {
  records->clear();
  *chain = IdentityChain(uuid);
  return bp::Status::Ok();
}

bp::Status IdentityCodecFactory::OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                                           const std::vector<bp::CodecRecord>& records,
                                           std::unique_ptr<bp::CodecChain>* chain) {
  if (!records.empty()) {
    return bp::Status::NotFound("volume " + volume_name + " needs codec plugin '" +
                                records.front().name + "', which is not loaded");
  }
  *chain = IdentityChain(uuid);
  return bp::Status::Ok();
}

std::unique_ptr<bp::CodecChain> IdentityChain(const uint8_t uuid[16]) {
  return std::make_unique<bp::CodecChain>(uuid, std::vector<std::unique_ptr<bp::Codec>>{});
}

bp::EngineOptions SmallEngineOptions() {
  bp::EngineOptions options;
  options.segment_size = 1u << 20;
  options.unit_size = 64u << 10;
  options.flush_interval_ms = 600000;
  options.checkpoint_every_segments = 64;
  options.write_buffer_limit = 4u << 20;
  options.cache_memory = 1u << 20;
  options.io_threads = 1;
  options.retry_deadline_ms = 1000;
  return options;
}

IdentityVolumes::IdentityVolumes(const std::vector<VolumeSpec>& volumes)
    : store_(std::make_shared<bp::MemoryStore>()) {
  manager_ = std::make_unique<bp::VolumeManager>(store_, &codecs_, SmallEngineOptions());
  api_ = bp::MakeVolumeApi(manager_.get());
  status_ = manager_->OpenAll();
  for (const VolumeSpec& spec : volumes) {
    if (!status_.ok()) break;
    status_ = manager_->Create(spec.name, spec.size);
  }
}

IdentityVolumes::~IdentityVolumes() {
  bp::IgnoreError(manager_->Shutdown(), "the memory store is dropped with the volumes");
}

uint32_t IdentityVolumes::References(const std::string& name) const {
  for (const bp::VolumeSummary& summary : manager_->List()) {
    if (summary.name == name) return summary.references;
  }
  return 0;
}

}  // namespace bptest
