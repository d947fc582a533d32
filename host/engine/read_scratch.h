// ReadScratch: the buffers that stored bytes are read into before they are checked and decoded
// (a ranged GET of a run of units: up to read_coalesce_max, 4 MiB by default), shared by the
// I/O threads of all volumes.
//
// Each thread used to keep its own for good, so a daemon that had read runs on a remote store
// held io_threads x read_coalesce_max (64 MiB with 16 threads) until it exited. Now a read
// borrows a buffer and returns it; returned buffers wait in a free list for the next read
// (a buffer is allocated and faulted in once, not per GET), and the idle trim empties the list:
// the memory is held while reads run, never by an idle daemon. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "pipeline/object_store.h"

namespace bp {

class ReadScratch {
 public:
  // A buffer of at least the asked size, returned to the free list when the lease ends.
  class Lease {
   public:
    explicit Lease(size_t at_least);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    uint8_t* data() { return bytes_->data(); }

   private:
    std::unique_ptr<Bytes> bytes_;
  };

  // Free the buffers no read holds (the idle trim calls this before malloc_trim).
  static void ReleaseIdle();
  // Bytes held by the free list, for tests.
  static size_t IdleBytes();
};

}  // namespace bp
