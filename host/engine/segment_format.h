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

// Segment-meta extension tag: the writer run (u64 run id, u64 the run's first seq). Not
// critical: a reader that predates it replays the log as before, only without the check that
// keeps a stale segment of an earlier run out of it (recovery_plan.h).
constexpr uint16_t kSegmentExtWriterRun = 1;
// Segment-meta extension tag: a restore marker (u64 checkpoint seq, u64 through seq). Critical:
// replay replaces the map with the volume's state at that checkpoint and segment (a snapshot
// being restored) before applying the segment, and a reader that ignored it would not.
constexpr uint16_t kSegmentExtRestore = 2;

struct BuiltSegment {
  Bytes object;
  SegmentMeta meta;  // unit offsets are absolute in `object`
};

// A segment object built in place: storage[begin, end) with the `kept` parts inserted. Units
// are encoded straight into `storage` behind a gap sized for the header and meta, which are
// written into the end of that gap afterwards, so the object is never copied as a whole. A unit
// the codec stores unchanged (lz4's raw frame for data that does not compress) is not copied
// either: its bytes stay in the sealed write buffer and are a kept part, written from there by
// the upload (ObjectStore::PutParts). storage.size() is a high-water mark, not the object's
// end: reusing one image for the next segment keeps its memory initialized, so encoding it
// again allocates, faults in and zero-fills nothing.
struct SegmentImage {
  Bytes storage;
  size_t begin = 0;
  size_t end = 0;
  // Parts of the object that lie in the write buffer, by storage offset (ascending); valid
  // while that buffer is.
  std::vector<KeptInput> kept;
  uint64_t kept_bytes = 0;
  SegmentMeta meta;  // unit offsets are absolute in the object
  // The plain data of segment block i, in the write buffer it was built from (valid while that
  // buffer is).
  std::vector<const uint8_t*> block_data;
  uint64_t size() const { return end - begin + kept_bytes; }
  // Memory of the image's own (the kept parts belong to the write buffer).
  uint64_t owned_size() const { return end - begin; }
  // The object as contiguous pieces in order (valid while the image and its buffer are).
  ObjectParts Parts() const;
};

// Encode every unit and the meta of one sealed buffer into *image (its previous contents are
// dropped, its capacity kept). Unit encoding runs on the calling thread; the buffer must not
// change meanwhile. keep_in_buffer: units the codec stores unchanged become kept parts that
// point into the buffer (for a store whose PutParts writes pieces); otherwise every byte of the
// object is in image->storage.
// run_id / run_first_seq: the writer run stamped into the meta (0: none).
Status EncodeSegmentImage(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                          const CodecChain& chain, uint32_t unit_size, SegmentImage* image,
                          bool keep_in_buffer = false, uint64_t run_id = 0,
                          uint64_t run_first_seq = 0);

// The same as one contiguous object (a copy of the image; for tests and tools).
Status BuildSegment(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                    const CodecChain& chain, uint32_t unit_size, BuiltSegment* out,
                    uint64_t run_id = 0, uint64_t run_first_seq = 0);

// A segment without data whose meta is `meta` (seq, run and restore fields; no units or
// records): the restore marker (kSegmentExtRestore) is one.
Status BuildMetaOnlySegment(const SegmentMeta& meta, const Uuid& uuid, const CodecChain& chain,
                            Bytes* object);

// Serialize / parse the plain (decoded) meta block. Offsets in the serialized form are relative
// to the first unit; `data_start` converts them to absolute object offsets when parsing.
Bytes SerializeSegmentMeta(const SegmentMeta& meta, uint64_t data_start);
Status ParseSegmentMeta(const uint8_t* p, size_t n, uint64_t data_start, uint64_t volume_blocks,
                        SegmentMeta* out);

// Read and validate the front of segment `seq` (header and meta; units are verified when read).
// listed_size is the object size from the listing (0 = unknown): a mismatch means a torn or
// foreign object. Errors: Corrupt for anything invalid, the store's error for I/O failures.
Status ReadSegmentMeta(ObjectStore& store, const std::string& key, uint64_t seq, const Uuid& uuid,
                       const CodecChain& chain, uint64_t volume_blocks, uint64_t listed_size,
                       SegmentMeta* out, uint64_t* object_size);

// Verify and decode a whole segment object held in memory (`what` names it in errors) and apply
// it to *into: its ranges, then its data blocks, as sealing would have put them. *meta receives
// its meta. Replays a journal delta (journal/local_journal.h). Corrupt on anything invalid.
Status ApplySegmentObject(const Bytes& object, const std::string& what, uint64_t seq,
                          const Uuid& uuid, const CodecChain& chain, uint64_t volume_blocks,
                          WriteBuffer* into, SegmentMeta* meta);

// Read every data unit of segment `key` (meta: what ReadSegmentMeta returned) and check it
// against the checksum its meta records, without decoding: Corrupt naming the first unit that
// does not match or is cut short. What recovery asks of a segment a crash of the machine may
// have torn (a store with deferred durability).
Status CheckStoredUnits(ObjectStore& store, const std::string& key, const SegmentMeta& meta);

// Verify and decode the stored bytes of one data unit (got bytes at stored; key names the
// object in messages). Corrupt on length, checksum or decode failure. *out is replaced; its
// current size is room the decoder overwrites (CodecChain::DecodeInto), so a recycled buffer
// of the unit's size is filled without a zero-fill or an allocation.
Status DecodeStoredUnit(const uint8_t* stored, uint64_t got, const std::string& key, uint64_t seq,
                        uint32_t unit_index, const UnitLoc& loc, const CodecChain& chain,
                        Bytes* out);

// Fetch, verify and decode one data unit. Corrupt (naming the key) on checksum, length or
// decode failure.
Status ReadUnit(ObjectStore& store, const std::string& key, uint64_t seq, uint32_t unit_index,
                const UnitLoc& loc, const CodecChain& chain, Bytes* out);

}  // namespace bp
