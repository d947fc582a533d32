// The startup check of every volume's metadata and codec chain (see volume_preflight.h).
#include "cli/volume_preflight.h"

#include <algorithm>

#include "engine/store_layout.h"
#include "engine/volume_meta.h"

namespace bp {
namespace {

bool SameRecords(const std::vector<CodecRecord>& a, const std::vector<CodecRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].header != b[i].header) return false;
  }
  return true;
}

}  // namespace

Status PreopenedCodecs::OpenEveryVolume(ObjectStore& store) {
  // Same discovery rule as VolumeManager::OpenAll.
  std::vector<std::string> names;
  BP_RETURN_IF_ERROR(ListVolumeNames(store, &names));
  std::string failures;
  Status first_failure;
  for (const auto& name : names) {
    Bytes object;
    VolumeMeta meta;
    const std::string where = "volume " + name + ": " + MetaKey(name);
    Status st = store.Get(MetaKey(name), &object).WithContext(where);
    if (st.ok())
      st = DecodeVolumeMetaObject(object.data(), object.size(), &meta).WithContext(where);
    if (st.ok() && meta.name != name) st = Status::Corrupt(where + " names volume " + meta.name);
    // The factory's messages name the volume themselves.
    std::unique_ptr<CodecChain> chain;
    if (st.ok()) st = inner_->OpenChain(meta.uuid.data(), name, meta.codecs, &chain);
    if (!st.ok()) {
      if (first_failure.ok()) first_failure = st;
      failures += (failures.empty() ? "" : "; ") + st.message();
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    opened_[name] = Opened{std::vector<uint8_t>(meta.uuid.begin(), meta.uuid.end()),
                           std::move(meta.codecs), std::move(chain)};
  }
  if (first_failure.ok()) return Status::Ok();
  return Status::FromCode(first_failure.raw_code(), failures);
}

Status PreopenedCodecs::CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                                    std::vector<CodecRecord>* records,
                                    std::unique_ptr<CodecChain>* chain) {
  return inner_->CreateChain(uuid, volume_name, records, chain);
}

Status PreopenedCodecs::OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                                  const std::vector<CodecRecord>& records,
                                  std::unique_ptr<CodecChain>* chain) {
  Opened taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = opened_.find(volume_name);
    if (it != opened_.end()) {
      taken = std::move(it->second);
      opened_.erase(it);
    }
  }
  if (taken.chain != nullptr) {
    if (std::equal(taken.uuid.begin(), taken.uuid.end(), uuid) &&
        SameRecords(taken.records, records)) {
      *chain = std::move(taken.chain);
      return Status::Ok();
    }
  }
  return inner_->OpenChain(uuid, volume_name, records, chain);
}

}  // namespace bp
