// StoreUsage: what the object store holds for one volume, tracked exactly — the size of every
// segment object, the kept checkpoints, and everything else under the volume's prefix (its
// metadata, ownership record, quarantined objects).
//
// `volume list` and `stats` report STORED from here, so it must be what a user pays for, not
// what the map references: it starts from one listing of the volume's prefix at open and then
// follows every object the volume itself puts or deletes (segments when they become durable or
// are reclaimed, checkpoints after each store-and-prune, which lists them again, snapshot
// records, and the clone references the volume manager writes for the volume's clones). Objects other
// processes add under the prefix meanwhile (none do in normal operation) appear at the next
// open. Garbage is the part of it the live map does not need: whole dead segment objects, and
// the dead share of partly live ones (estimated from their live block count, since units are
// compressed by different amounts).
//
// Not thread-safe: the Volume holds its mutex around every call.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/volume_state.h"
#include "pipeline/object_store.h"

namespace bp {

class StoreUsage {
 public:
  // Start from a listing of every object under the volume's prefix (volumes/<name>/).
  void Reset(const std::string& name, const std::vector<ObjectInfo>& objects);
  void SegmentStored(uint64_t seq, uint64_t size);
  void SegmentDeleted(uint64_t seq);
  // The kept checkpoints after a store-and-prune: their objects sum to `bytes`.
  void CheckpointsKept(uint64_t bytes) { checkpoint_bytes_ = bytes; }
  // Another object under the prefix (a snapshot record, a clone reference) was put, replacing
  // any object of that key, or deleted.
  void ObjectStored(const std::string& key, uint64_t size);
  void ObjectDeleted(const std::string& key);

  uint64_t stored_bytes() const { return segment_bytes_ + checkpoint_bytes_ + other_bytes_; }
  uint64_t segment_bytes() const { return segment_bytes_; }
  uint64_t checkpoint_bytes() const { return checkpoint_bytes_; }
  // Bytes of segment objects the live map does not reference at all (deleted once no
  // checkpoint, snapshot or read needs them), and how many there are.
  uint64_t DeadSegmentBytes(const VolumeState& state, size_t* count = nullptr) const;
  // Stored bytes the live map does not need: dead segment objects plus the dead share of
  // partly live segments.
  uint64_t GarbageBytes(const VolumeState& state) const;
  const std::map<uint64_t, uint64_t>& segments() const { return segments_; }

 private:
  std::map<uint64_t, uint64_t> segments_;  // seq -> object size
  uint64_t segment_bytes_ = 0;
  uint64_t checkpoint_bytes_ = 0;
  std::map<std::string, uint64_t> others_;  // key -> size: metadata, records, quarantine
  uint64_t other_bytes_ = 0;                // their sum
};

// Blocks of data a segment holds (live or dead), from its unit table.
uint64_t SegmentBlocks(const SegmentInfo& info);

}  // namespace bp
