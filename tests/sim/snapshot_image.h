// SnapshotImage: what the simulator expects a snapshot to hold, sector by sector, for the whole
// life of the snapshot. A snapshot never changes, so every read of it — through its read-only
// export VOLUME@NAME while the volume goes on writing, collecting and reclaiming, after every
// reopen, as the base a clone starts from, as the content a restore brings back — must show
// the same bytes.
//
// When the snapshot is taken the model knows each sector's content exactly, except where a write
// failed after the last one that completed (a FUA write whose upload failed may still land, see
// Model::Current): such a sector has a few candidates. The first read that sees the sector
// settles it, and from then on only that value is right. Clone and restore need an exact image,
// so the simulator reads the whole snapshot first when some sector is still open.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bp::sim {

class SnapshotImage {
 public:
  SnapshotImage() = default;
  // first: per sector, a value id (0 zeros, else the write id); more: the other candidates of
  // the sectors that have some (Model::Current).
  SnapshotImage(std::vector<uint64_t> first,
                std::vector<std::pair<uint64_t, std::vector<uint64_t>>> more);

  // Check sectors [first, first+count) read back into data (512 bytes each) and settle the open
  // sectors they show. "" when fine, else what broke; `what` names the read in the message.
  std::string CheckRead(uint64_t first, uint64_t count, const uint8_t* data,
                        const std::string& what);
  // Every sector settled: values() is the snapshot's content.
  bool exact() const { return open_sectors_ == 0; }
  const std::vector<uint64_t>& values() const { return first_; }
  uint64_t open_sectors() const { return open_sectors_; }

 private:
  std::vector<uint64_t> first_;
  // Per sector, the other candidates (empty once settled, or for a sector that had none).
  std::vector<std::vector<uint64_t>> more_;
  uint64_t open_sectors_ = 0;
};

// "zeros" or "data of write #N", for a value id.
std::string DescribeValueId(uint64_t id);

}  // namespace bp::sim
