// QueryExtents (see extent_query.h). The map's own pieces give the answer directly wherever no
// write buffer touches them; inside a touched piece each block asks the buffers first, exactly as
// ReadPath::Plan does, so BLOCK_STATUS never calls a block a hole that a read would return data
// for. Buffered ZERO and HOLE ranges are both reported as ZERO only: a client may then write
// zeros where a hole would have done, which costs space but is never wrong.
#include "engine/extent_query.h"

#include <algorithm>

#include "engine/object_format.h"

namespace bp {
namespace {

uint32_t MapFlags(const MapPiece& piece) {
  if (!piece.mapped || piece.kind == ExtentKind::kHole) return BP_EXTENT_HOLE | BP_EXTENT_ZERO;
  if (piece.kind == ExtentKind::kZero) return BP_EXTENT_ZERO;
  return 0;
}

// Collects byte extents clipped to [begin, end), merging neighbours with equal flags.
class Collector {
 public:
  Collector(uint64_t begin, uint64_t end, size_t max, std::vector<bp_extent>* out)
      : begin_(begin), end_(end), max_(max), out_(out), first_(out->size()) {}

  // Adds blocks [lba, lba+blocks); false once no further extent may be started.
  bool Add(uint64_t lba, uint64_t blocks, uint32_t flags) {
    uint64_t from = std::max(begin_, lba << kBlockShift);
    uint64_t to = std::min(end_, (lba + blocks) << kBlockShift);
    if (to <= from) return true;
    if (out_->size() > first_ && out_->back().flags == flags) {
      out_->back().length += to - from;
      return true;
    }
    if (out_->size() - first_ >= max_) return false;
    out_->push_back(bp_extent{to - from, flags, 0});
    return true;
  }

 private:
  const uint64_t begin_, end_;
  const size_t max_;
  std::vector<bp_extent>* out_;
  const size_t first_;
};

// Classifies blocks [lba, lba+blocks) of one map piece (map_flags) against the write buffers:
// ranges no buffer touches keep the map's flags whole; touched ranges are halved until they are
// small, then looked up block by block, as ReadPath::Plan does. Work is charged to a budget.
class Classifier {
 public:
  Classifier(const ReadSources& from, Collector* collect)
      : from_(from),
        collect_(collect),
        buffers_empty_(from.active->empty() && !from.sealed->has_pending()) {}

  // False once the query must stop (extents full or budget spent).
  bool Piece(uint64_t lba, uint64_t blocks, uint32_t map_flags) {
    if (buffers_empty_) return collect_->Add(lba, blocks, map_flags);
    return Split(lba, blocks, map_flags);
  }

 private:
  static constexpr uint64_t kSmall = 64;

  bool Charge(uint64_t cost) {
    if (spent_ >= kExtentQueryBlockBudget) return false;
    spent_ += cost;
    return true;
  }

  bool Split(uint64_t lba, uint64_t blocks, uint32_t map_flags) {
    if (blocks <= kSmall) return Blocks(lba, blocks, map_flags);
    // Untouched costs at most one index probe per block or per buffered block.
    if (!Charge(std::min(blocks, from_.active->data_blocks() + kSmall))) return false;
    if (from_.active->Untouched(lba, blocks) && from_.sealed->Untouched(lba, blocks)) {
      return collect_->Add(lba, blocks, map_flags);
    }
    const uint64_t half = blocks / 2;
    return Split(lba, half, map_flags) && Split(lba + half, blocks - half, map_flags);
  }

  bool Blocks(uint64_t lba, uint64_t blocks, uint32_t map_flags) {
    for (uint64_t b = lba; b < lba + blocks; ++b) {
      if (!Charge(1)) return false;
      const uint8_t* data = nullptr;
      WriteBuffer::Hit hit = from_.active->Lookup(b, &data);
      if (hit == WriteBuffer::Hit::kMiss) hit = from_.sealed->Lookup(b, &data);
      uint32_t f = map_flags;
      if (hit == WriteBuffer::Hit::kData) f = 0;
      if (hit == WriteBuffer::Hit::kZeros) f = BP_EXTENT_ZERO;
      if (!collect_->Add(b, 1, f)) return false;
    }
    return true;
  }

  const ReadSources& from_;
  Collector* collect_;
  const bool buffers_empty_;
  uint64_t spent_ = 0;
};

}  // namespace

void QueryExtents(const ReadSources& from, uint64_t offset, uint64_t length, size_t max_extents,
                  std::vector<bp_extent>* out) {
  const uint64_t first = offset >> kBlockShift;
  const uint64_t end_block = (offset + length + kBlockSize - 1) >> kBlockShift;
  Collector collect(offset, offset + length, std::max<size_t>(max_extents, 1), out);
  Classifier classify(from, &collect);
  bool stop = false;
  // The first block always fits the budget and the extent limit, so at least one extent results.
  from.state->map.Visit(first, end_block - first, [&](const MapPiece& piece) {
    if (!stop) stop = !classify.Piece(piece.lba, piece.blocks, MapFlags(piece));
  });
}

}  // namespace bp
