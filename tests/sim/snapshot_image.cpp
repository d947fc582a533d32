// The expected content of a snapshot (see snapshot_image.h).
#include "snapshot_image.h"

#include <algorithm>

#include "sim_volume.h"

namespace bp::sim {

std::string DescribeValueId(uint64_t id) {
  return id == 0 ? std::string("zeros") : "data of write #" + std::to_string(id);
}

SnapshotImage::SnapshotImage(std::vector<uint64_t> first,
                             std::vector<std::pair<uint64_t, std::vector<uint64_t>>> more)
    : first_(std::move(first)), more_(first_.size()) {
  for (auto& [sector, values] : more) {
    if (values.empty()) continue;
    more_[sector] = std::move(values);
    ++open_sectors_;
  }
}

std::string SnapshotImage::CheckRead(uint64_t first, uint64_t count, const uint8_t* data,
                                     const std::string& what) {
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t s = first + i;
    const SectorValue v = DecodeSector(data + i * kSector, s);
    const std::string where = what + " sector " + std::to_string(s);
    if (v.kind == SectorValue::kGarbage) {
      return where + " returned bytes no write produced (they claim write #" +
             std::to_string(v.id) + " sector " + std::to_string(v.claimed_sector) + ")";
    }
    const uint64_t id = v.kind == SectorValue::kData ? v.id : 0;
    std::vector<uint64_t>& more = more_[s];
    if (id == first_[s]) {
      if (!more.empty()) {
        more.clear();
        --open_sectors_;
      }
      continue;
    }
    if (std::find(more.begin(), more.end(), id) != more.end()) {
      first_[s] = id;
      more.clear();
      --open_sectors_;
      continue;
    }
    std::string expected = DescribeValueId(first_[s]);
    for (uint64_t alt : more) expected += " or " + DescribeValueId(alt);
    return where + " returned " + DescribeValueId(id) + ", but the snapshot holds " + expected;
  }
  return "";
}

}  // namespace bp::sim
