// Volume::Extents: the frontend's allocation query (BLOCK_STATUS, sparse READ replies). A short
// read-only look at the write buffers and the map under the volume lock; QueryExtents
// (extent_query.h) bounds the work so a query never holds writers back for long.
#include "engine/extent_query.h"
#include "engine/volume.h"

namespace bp {

Status Volume::Extents(uint64_t offset, uint64_t length, size_t max_extents,
                       std::vector<bp_extent>* out) const {
  const uint64_t size = size_.load();
  if (length == 0 || max_extents == 0 || offset > size || length > size - offset) {
    return Status::Invalid("extent query [" + std::to_string(offset) + ", +" +
                           std::to_string(length) + ") outside the volume");
  }
  MutexLock lock(&mu_);
  if (phase_ == Phase::kClosed) return Status::Permanent("volume " + meta_.name + " is closed");
  const ReadSources from{&write_.active(), &committer_, &state_};
  QueryExtents(from, offset, length, max_extents, out);
  return Status::Ok();
}

}  // namespace bp
