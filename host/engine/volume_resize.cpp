// Volume resize: the size the volume serves changes at once (new connections see it; requests
// past the end are refused), and shrinking trims what lies past the new end. Persisting the new
// size in the metadata object is the manager's (volume_manager_snapshots.cpp).
#include <spdlog/spdlog.h>

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
  struct Waiter {
    bp_io io{};
    Mutex mu;
    CondVar cv;
    bool finished BP_GUARDED_BY(mu) = false;
    int error BP_GUARDED_BY(mu) = 0;
  } w;
  w.io.op = BP_IO_OP_TRIM;
  w.io.offset = offset;
  w.io.length = end - offset;
  w.io.user = &w;
  w.io.done = [](bp_io* io, int error) {
    auto* self = static_cast<Waiter*>(io->user);
    MutexLock lock(&self->mu);
    self->finished = true;
    self->error = error;
    self->cv.SignalAll();
  };
  // Past the served size, so not through Submit's bounds check: the map still covers it.
  SubmitModify(&w.io);
  int error;
  {
    MutexLock lock(&w.mu);
    while (!w.finished) w.cv.Wait(&w.mu);
    error = w.error;
  }
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
