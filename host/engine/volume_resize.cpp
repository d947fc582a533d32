// Volume resize: the size the volume serves changes at once (new connections see it; requests
// past the end are refused), and shrinking trims what lies past the new end. Persisting the new
// size in the metadata object is the manager's (volume_manager_snapshots.cpp).
#include <spdlog/spdlog.h>

#include "engine/sync_io.h"
#include "engine/volume.h"

namespace bp {

Status Volume::MappedBeyond(uint64_t size, bool* mapped) {
  BP_RETURN_IF_ERROR(FlushSync().WithContext("flushing volume " + meta_.name));
  MutexLock lock(&mu_);
  const uint64_t first = size / kBlockSize;
  // Nothing is mapped past the served size: a shrink trims it first.
  const uint64_t end = std::max<uint64_t>(first, size_.load() / kBlockSize);
  bool found = false;
  state_.map.Visit(first, end - first, [&](const MapPiece& piece) {
    if (piece.mapped && piece.kind == ExtentKind::kData) found = true;
  });
  *mapped = found;
  return Status::Ok();
}

Status Volume::TrimFrom(uint64_t offset, uint64_t end) {
  if (end <= offset) return Status::Ok();
  SyncIo w(BP_IO_OP_TRIM, offset, end - offset);
  // Past the served size, so not through Submit's bounds check: the map still covers it.
  SubmitModify(&w.io);
  const int error = w.Wait();
  if (error != 0) {
    return Status::Transient("volume " + meta_.name + ": trimming past the new end failed (" +
                             std::to_string(error) + ")");
  }
  return FlushSync();
}

void Volume::SetSize(uint64_t size) {
  size_.store(size);
  MutexLock lock(&mu_);
  read_.set_volume_blocks(size / kBlockSize);
}

}  // namespace bp
