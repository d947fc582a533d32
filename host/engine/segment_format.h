// Segment objects: building one from a sealed write buffer and reading back its front.
//
// Layout: [80-byte header][encoded segment meta][unit 0][unit 1]…  The meta (map delta and unit
// index) sits in front so recovery reads only the first bytes of each segment. Blocks are
// sorted by block number and numbered 0..N-1 in that order (the segment block index); units
// cover consecutive index ranges, one unit per unit_size-aligned window of the volume that the
// segment writes into (so a unit holds only blocks that lie near each other, and scattered 4 KiB
// writes become 4 KiB units that a random read fetches and decodes alone). DATA records say
// "blocks [lba, lba+n) are segment blocks [index, index+n)", which stays one record for a long
// sequential write however many units it spans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "engine/volume_state.h"
#include "engine/write_buffer.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"

namespace bp {

struct BuiltSegment {
  Bytes object;
  SegmentMeta meta;  // unit offsets are absolute in `object`
};

// A segment object built in place: the object is storage[begin, end). Units are encoded
// straight into `storage` behind a gap sized for the header and meta, which are written into
// the end of that gap afterwards, so the object is never copied as a whole. storage.size() is a
// high-water mark, not the object's end: reusing one image for the next segment keeps its
// memory initialized, so encoding it again allocates, faults in and zero-fills nothing.
struct SegmentImage {
  Bytes storage;
  size_t begin = 0;
  size_t end = 0;
  SegmentMeta meta;  // unit offsets are absolute in the object
  // The plain data of segment block i, in the write buffer it was built from (valid while that
  // buffer is).
  std::vector<const uint8_t*> block_data;
  const uint8_t* data() const { return storage.data() + begin; }
  uint64_t size() const { return end - begin; }
};

// Encode every unit and the meta of one sealed buffer into *image (its previous contents are
// dropped, its capacity kept). Unit encoding runs on the calling thread; the buffer must not
// change meanwhile.
Status EncodeSegmentImage(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                          const CodecChain& chain, uint32_t unit_size, SegmentImage* image);

// The same as one contiguous object (a copy of the image; for tests and tools).
Status BuildSegment(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                    const CodecChain& chain, uint32_t unit_size, BuiltSegment* out);

// Serialize / parse the plain (decoded) meta block. Offsets in the serialized form are relative
// to the first unit; `data_start` converts them to absolute object offsets when parsing.
Bytes SerializeSegmentMeta(const SegmentMeta& meta, uint64_t data_start);
Status ParseSegmentMeta(const uint8_t* p, size_t n, uint64_t data_start, uint64_t volume_blocks,
                        SegmentMeta* out);

// Read and validate the front of segment `seq` (header and meta; units are verified when read).
// listed_size is the object size from the listing (0 = unknown): a mismatch means a torn or
// foreign object. Errors: Corrupt for anything invalid, the store's error for I/O failures.
Status ReadSegmentMeta(ObjectStore& store, const std::string& key, uint64_t seq,
                       const Uuid& uuid, const CodecChain& chain, uint64_t volume_blocks,
                       uint64_t listed_size, SegmentMeta* out, uint64_t* object_size);

// Fetch, verify and decode one data unit. Corrupt (naming the key) on checksum, length or
// decode failure.
Status ReadUnit(ObjectStore& store, const std::string& key, uint64_t seq, uint32_t unit_index,
                const UnitLoc& loc, const CodecChain& chain, Bytes* out);

}  // namespace bp
