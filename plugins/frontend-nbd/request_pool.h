// Request and RequestPool: the per-connection records of requests in flight. A Request carries
// the bp_io handed to the host, the client's cookie, the encoded reply header and the payload
// buffer, so a reply can be sent with one gather write and no allocation. The pool recycles
// records and their buffers: small ones always, large ones (above kRetainedBufferBytes) up to
// kRetainedLargeBytes per connection, so streaming 1 MiB requests do not map, fault in and unmap
// a fresh buffer each time while an idle connection still pins little memory. Used only on the
// connection's event-loop thread,
// except that the host writes `host_error` and `next_done` before handing the record back.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "nbd_protocol.h"

namespace bpnbd {

class Connection;

// Buffers at most this large stay attached to a recycled request (4 KiB I/O never allocates).
inline constexpr size_t kRetainedBufferBytes = 128u << 10;
// Larger buffers stay attached while free records hold at most this much of them in total.
inline constexpr size_t kRetainedLargeBytes = 16u << 20;

// One piece of a reply on the wire: header bytes from Request::reply_bytes, then optionally a
// slice of the request's payload buffer.
struct ReplySegment {
  uint32_t header_offset = 0;
  uint32_t header_length = 0;
  const uint8_t* data = nullptr;
  size_t data_length = 0;
};

struct Request {
  bp_io io{};
  Connection* connection = nullptr;
  uint8_t cookie[8] = {};
  uint16_t type = 0;
  uint16_t flags = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t charged_bytes = 0;  // counted against the connection's in-flight byte budget
  int host_error = 0;          // errno from the host's done callback
  uint32_t nbd_error = 0;      // wire error of the reply
  // The encoded reply (simple reply, or structured / extended chunks) and how it maps onto the
  // payload buffer. Vectors keep their capacity across reuse, so steady traffic allocates nothing.
  std::vector<uint8_t> reply_bytes;
  std::vector<ReplySegment> segments;
  // READ with structured replies: the allocation of the range, queried before submission, which
  // decides the hole and data chunks. BLOCK_STATUS: the extents to report.
  std::vector<bp_extent> extents;
  uint64_t data_bytes = 0;    // READ payload bytes the reply carries (holes excluded)
  uint8_t* buffer = nullptr;  // page-aligned, `capacity` bytes
  size_t capacity = 0;
  Request* next_free = nullptr;
  Request* next_done = nullptr;  // completion stack link, written by the host's thread

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() { std::free(buffer); }

  // Makes `buffer` hold at least n bytes. False only when memory is exhausted.
  bool Reserve(size_t n) {
    if (capacity >= n) return true;
    std::free(buffer);
    size_t rounded = (n + 4095) & ~size_t{4095};
    buffer = static_cast<uint8_t*>(std::aligned_alloc(4096, rounded));
    capacity = buffer ? rounded : 0;
    return buffer != nullptr;
  }
};

class RequestPool {
 public:
  explicit RequestPool(uint32_t limit) : limit_(limit) {}

  // A free record, or nullptr when `limit` records are in use.
  Request* Acquire() {
    if (free_) {
      Request* r = free_;
      free_ = r->next_free;
      if (r->capacity > kRetainedBufferBytes) retained_large_ -= r->capacity;
      ++in_use_;
      return r;
    }
    if (all_.size() >= limit_) return nullptr;
    all_.push_back(std::make_unique<Request>());
    ++in_use_;
    return all_.back().get();
  }

  void Release(Request* r) {
    if (r->capacity > kRetainedBufferBytes) {
      if (retained_large_ + r->capacity <= kRetainedLargeBytes) {
        retained_large_ += r->capacity;
      } else {
        std::free(r->buffer);
        r->buffer = nullptr;
        r->capacity = 0;
      }
    }
    r->next_free = free_;
    free_ = r;
    --in_use_;
  }

  uint32_t in_use() const { return in_use_; }
  bool full() const { return in_use_ >= limit_; }

 private:
  uint32_t limit_;
  uint32_t in_use_ = 0;
  size_t retained_large_ = 0;  // capacity of large buffers attached to free records
  std::vector<std::unique_ptr<Request>> all_;
  Request* free_ = nullptr;
};

}  // namespace bpnbd
