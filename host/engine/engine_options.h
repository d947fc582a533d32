// EngineOptions: the tunables of the volume engine, filled from the [engine] config section
// (config/) with the defaults below. Every memory bound the engine honours is here.
#pragma once

#include <cstdint>

namespace bp {

struct EngineOptions {
  // A segment is sealed and uploaded when its buffered data reaches this size.
  uint64_t segment_size = 16ull << 20;
  // Largest logical size of one stored unit (a unit is the granule of ranged GET + decode).
  uint32_t unit_size = 64u << 10;
  // Unflushed acknowledged writes are sealed after at most this long (ms), bounding the data at
  // risk if the host dies without a FLUSH.
  uint32_t flush_interval_ms = 1000;
  // Write a checkpoint after this many segments since the last one (and at clean shutdown).
  uint32_t checkpoint_every_segments = 64;
  // Total bytes of write buffers (active + sealing) per volume before writers wait.
  uint64_t write_buffer_limit = 128ull << 20;
  // Decoded-unit memory cache, shared by all volumes.
  uint64_t cache_memory = 256ull << 20;
  // Threads for backend calls and codec work, shared by all volumes.
  uint32_t io_threads = 8;
  // Backend retry budget for transient errors, per operation (ms).
  uint32_t retry_deadline_ms = 30000;
  // Open volumes for writing even when the backend lacks atomic put-if-absent (no fencing).
  bool allow_unfenced = false;
};

}  // namespace bp
