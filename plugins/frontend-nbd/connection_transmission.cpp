// Connection, transmission phase: the request pipeline.
//
// Reading: bytes arrive in a 256 KiB buffer; Parse() decodes as many requests as are complete,
// copying small WRITE payloads out of it and reading large ones straight into the request's own
// buffer. It stops at the in-flight bound (count and bytes) and resumes when replies have been
// written, so a client that sends faster than the store completes cannot grow our memory.
// Refused requests are answered without involving the host; a refused WRITE's payload is still
// consumed (up to twice the maximum payload, beyond that the connection is dropped).
//
// Completing: OnHostDone runs on whatever thread the host likes; it pushes the request on a
// Treiber stack and posts DrainCompletions only when the stack was empty, so a burst of
// completions costs one wake-up. The drain restores completion order and queues the replies.
// A completion inside Submit on the connection's own thread skips the stack: its reply is
// queued and the write started as soon as Submit returns.
//
// Writing: one gather write at a time carries the queued replies (header plus READ payload), so
// replies never interleave and the system-call count falls as the queue depth rises. A batch
// carries about kReplyBacklogBytes of READ payload at most, and parsing pauses while that much
// waits behind the write, so a READ served from memory is copied into its buffer shortly before
// the socket takes it (see connection.h). Over TLS the transport gathers the batch into full
// records (a 16-byte reply header is never a record of its own) and sends them in one write.
//
// Structured replies (and extended headers): a READ's range is looked up in the extent map before
// it is submitted. A range that is all zeros is answered with one OFFSET_HOLE chunk and never
// reaches the host; a mixed range is read whole and sent as OFFSET_DATA chunks for the data and
// OFFSET_HOLE chunks for the zeros. BLOCK_STATUS is answered here from the same lookup.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "connection.h"
#include "plugin_log.h"
#include "request_check.h"
#include "server.h"

namespace bpnbd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A buffer sequence over a member vector: lets async_write use our iovec array without copying
// it on every batch.
// Host metrics are pushed every this many replies (and at close) rather than per batch.
constexpr uint64_t kMetricFlushEvery = 1024;
// In-flight requests averaging at least this payload count as streaming; then each read of
// the socket into rbuf_ takes at most kStreamingReadBytes (still room for 140 headers).
constexpr uint64_t kLargePayloadBytes = 128u << 10;
constexpr size_t kStreamingReadBytes = 4096;

struct BufferView {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  const asio::const_buffer* first;
  const asio::const_buffer* last;
  const_iterator begin() const { return first; }
  const_iterator end() const { return last; }
};

}  // namespace

Connection::Connection(Server* server, Socket socket, std::string peer, TlsMode tls_mode,
                       const TlsContext* tls)
    : server_(server),
      settings_(server->settings()),
      socket_(std::move(socket)),
      tls_mode_(tls ? tls_mode : TlsMode::kOff),
      tls_(tls),
      executor_(socket_.get_executor()),
      peer_(std::move(peer)),
      handshake_timer_(executor_),
      pool_(server->settings().max_inflight),
      rbuf_(new uint8_t[kReadBufferBytes]) {
  pending_.reserve(settings_.max_inflight);
  batch_.reserve(settings_.max_inflight);
  iov_.reserve(2 * size_t{settings_.max_inflight});
}

Connection::~Connection() = default;

void Connection::Log(int level, const std::string& message) const {
  bpnbd::Log(level, peer_ + ": " + message);
}

bool Connection::HasCapacity(uint64_t charge) const {
  if (pool_.full()) return false;
  // The socket is the bottleneck: reading more requests would only park more payload in memory.
  if (pending_payload_ >= kReplyBacklogBytes) return false;
  // One request larger than the byte budget is still admitted when nothing else is in flight,
  // otherwise it could never run.
  return inflight_bytes_ == 0 || inflight_bytes_ + charge <= settings_.max_inflight_bytes;
}

void Connection::ReadMore() {
  if (reading_ || read_closed_) return;
  if (rpos_ == rend_) {
    rpos_ = rend_ = 0;
  } else if (rpos_ > kReadBufferBytes / 2 ||
             kReadBufferBytes - rend_ < kExtendedRequestHeaderSize) {
    std::memmove(rbuf_.get(), rbuf_.get() + rpos_, rend_ - rpos_);
    rend_ -= rpos_;
    rpos_ = 0;
  }
  // While the requests in flight carry large payloads (streaming writes), read little ahead:
  // whatever of the next payload arrives in rbuf_ has to be copied out again, while a payload
  // read after its header goes straight into the request's own buffer. Small requests keep the
  // whole buffer, so dozens of them arrive per system call.
  size_t want = kReadBufferBytes - rend_;
  if (pool_.in_use() > 0 && inflight_bytes_ / pool_.in_use() >= kLargePayloadBytes) {
    want = std::min(want, kStreamingReadBytes);
  }
  reading_ = true;
  AsyncReadSome(asio::buffer(rbuf_.get() + rend_, want),
                [self = shared_from_this()](const error_code& ec, size_t n) {
                  self->reading_ = false;
                  if (ec) return self->OnReadEnded(ec);
                  self->rend_ += n;
                  self->Parse();
                });
}

void Connection::Parse() {
  while (!read_closed_) {
    size_t avail = rend_ - rpos_;
    if (discard_remaining_) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(avail, discard_remaining_));
      rpos_ += n;
      discard_remaining_ -= n;
      if (discard_remaining_) return ReadMore();
      // Only now is the refused WRITE fully received: a reply sent earlier would reach a
      // client that is still sending the payload and does not yet expect it.
      QueueReply(discarding_);
      discarding_ = nullptr;
      StartWrite();
      continue;
    }
    if (avail < request_header_size_) return ReadMore();

    const uint8_t* p = rbuf_.get() + rpos_;
    RequestHeader h = features_.extended ? DecodeExtendedRequestHeader(p) : DecodeRequestHeader(p);
    if (h.magic != (features_.extended ? kExtendedRequestMagic : kRequestMagic)) {
      return Abort("bad request magic");
    }
    if (h.type == kCmdDisc) {
      rpos_ += request_header_size_;
      Log(BP_LOG_DEBUG, "client disconnected (NBD_CMD_DISC)");
      read_closed_ = true;
      break;
    }
    const uint64_t payload = PayloadLength(h);
    bool has_buffer = (h.type == kCmdRead || h.type == kCmdWrite) && h.length <= info_.max_payload;
    uint64_t charge = has_buffer ? h.length : 0;
    if (!HasCapacity(charge)) {
      paused_ = true;
      return;
    }
    rpos_ += request_header_size_;
    avail -= request_header_size_;

    Request* r = pool_.Acquire();
    r->connection = this;
    std::memcpy(r->cookie, h.cookie, sizeof r->cookie);
    r->type = h.type;
    r->flags = h.flags;
    r->offset = h.offset;
    r->length = h.length;
    r->extents.clear();
    r->charged_bytes = 0;
    r->host_error = 0;
    r->nbd_error = CheckRequest(h, info_, features_);
    if (r->nbd_error == kNbdOk && has_buffer && !r->Reserve(h.length)) r->nbd_error = kNbdEnomem;
    if (r->nbd_error != kNbdOk) {
      if (payload > 0) {
        if (payload > 2 * uint64_t{info_.max_payload}) {
          ReleaseRequest(r);
          return Abort(CommandName(h.type) + " payload of " + std::to_string(payload) +
                       " bytes is too large");
        }
        discard_remaining_ = payload;
        discarding_ = r;
        ++metric_errors_;
        continue;
      }
      ++metric_errors_;
      QueueReply(r);
      StartWrite();
      continue;
    }
    r->charged_bytes = charge;
    inflight_bytes_ += charge;
    if (h.type == kCmdBlockStatus) {
      AnswerBlockStatus(r);
      continue;
    }
    if (h.type == kCmdRead && features_.structured && PlanStructuredRead(r)) {
      // All zeros: one hole chunk, no host read.
      QueueReply(r);
      StartWrite();
      continue;
    }
    r->io.struct_size = sizeof r->io;
    r->io.op = BpOpForCommand(h.type);
    r->io.flags = BpFlagsForCommand(h.type, h.flags);
    r->io.offset = h.offset;
    r->io.length = h.type == kCmdFlush ? 0 : h.length;
    r->io.buf = has_buffer ? r->buffer : nullptr;
    r->io.done = &Connection::OnHostDone;
    r->io.user = r;
    if (h.type == kCmdWrite) {
      size_t have = std::min<size_t>(avail, h.length);
      std::memcpy(r->buffer, rbuf_.get() + rpos_, have);
      rpos_ += have;
      if (have < h.length) return ReadPayload(r, have);
    }
    Submit(r);
  }
  MaybeFinish();
}

void Connection::ReadPayload(Request* r, size_t have) {
  reading_ = true;
  AsyncRead(asio::buffer(r->buffer + have, r->length - have),
            [self = shared_from_this(), r](const error_code& ec, size_t) {
              self->reading_ = false;
              if (ec) {
                self->ReleaseRequest(r);  // never reached the host
                return self->OnReadEnded(ec);
              }
              self->Submit(r);
              self->Parse();
            });
}

namespace {
// The connection whose Submit is running on this thread: a completion delivered inside it
// (a cache hit, a write into the buffer) is answered at once instead of through a posted drain,
// which at queue depth 1 costs a scheduler round and an extra poll per request.
thread_local const Connection* t_submitting = nullptr;
}  // namespace

void Connection::Submit(Request* r) {
  ++host_inflight_;
  // done may run before this returns, on this thread (inline_done_) or another (the stack).
  t_submitting = this;
  volume_.Submit(&r->io);
  t_submitting = nullptr;
  if (inline_done_.empty()) return;
  for (Request* done : inline_done_) FinishRequest(done);
  inline_done_.clear();
  StartWrite();
}

void Connection::OnHostDone(bp_io* io, int error) {
  auto* r = static_cast<Request*>(io->user);
  r->host_error = error;
  r->connection->PushCompletion(r);
}

void Connection::PushCompletion(Request* r) {
  if (t_submitting == this) {
    inline_done_.push_back(r);
    return;
  }
  Request* head = done_head_.load(std::memory_order_relaxed);
  do {
    r->next_done = head;
  } while (!done_head_.compare_exchange_weak(head, r, std::memory_order_release,
                                             std::memory_order_relaxed));
  // Only the push that finds the stack empty schedules a drain; later pushes ride along.
  if (head == nullptr) {
    asio::post(executor_, [self = shared_from_this()] { self->DrainCompletions(); });
  }
}

void Connection::DrainCompletions() {
  Request* list = done_head_.exchange(nullptr, std::memory_order_acquire);
  // The stack is newest-first; reverse it so replies leave in completion order.
  Request* ordered = nullptr;
  while (list) {
    Request* next = list->next_done;
    list->next_done = ordered;
    ordered = list;
    list = next;
  }
  for (Request* r = ordered; r;) {
    Request* next = r->next_done;
    FinishRequest(r);
    r = next;
  }
  StartWrite();
  MaybeFinish();
}

void Connection::FinishRequest(Request* r) {
  --host_inflight_;
  r->nbd_error = NbdErrorFromErrno(r->host_error, r->flags);
  if (r->nbd_error != kNbdOk) ++metric_errors_;
  QueueReply(r);
}

void Connection::QueueReply(Request* r) {
  if (write_broken_) {
    ReleaseRequest(r);
    return;
  }
  EncodeReply(r);
  pending_.push_back(r);
  pending_payload_ += r->data_bytes;
}

void Connection::StartWrite() {
  if (writing_ || pending_.empty() || write_broken_) return;
  writing_ = true;
  // At least one reply; more while the batch holds less than kReplyBacklogBytes of payload, so
  // a paused Parse resumes after about that much has been written.
  size_t take = 0;
  uint64_t payload = 0;
  while (take < pending_.size() && (take == 0 || payload < kReplyBacklogBytes)) {
    payload += pending_[take++]->data_bytes;
  }
  batch_.assign(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(take));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(take));
  pending_payload_ -= payload;
  iov_.clear();
  for (Request* r : batch_) {
    for (const ReplySegment& seg : r->segments) {
      iov_.emplace_back(r->reply_bytes.data() + seg.header_offset, seg.header_length);
      if (seg.data_length) iov_.emplace_back(seg.data, seg.data_length);
    }
  }
  auto done = [self = shared_from_this()](const error_code& ec, size_t) { self->OnWritten(ec); };
  BufferView view{iov_.data(), iov_.data() + iov_.size()};
  AsyncWrite(view, std::move(done));
}

void Connection::OnWritten(const error_code& ec) {
  writing_ = false;
  for (Request* r : batch_) {
    ++metric_requests_;
    if (r->nbd_error == kNbdOk) {
      if (r->type == kCmdRead) {
        metric_read_bytes_ += r->data_bytes;
        metric_hole_bytes_ += r->length - r->data_bytes;
      }
      if (r->type == kCmdWrite) metric_write_bytes_ += r->length;
      if (r->type == kCmdBlockStatus) ++metric_block_status_;
    }
    ReleaseRequest(r);
  }
  batch_.clear();
  if (metric_requests_ >= kMetricFlushEvery) FlushMetrics();

  if (ec) {
    if (!read_closed_) Log(BP_LOG_DEBUG, "write failed: " + ec.message());
    write_broken_ = true;
    for (Request* r : pending_) ReleaseRequest(r);
    pending_.clear();
    pending_payload_ = 0;
    // The client cannot get replies any more: stop taking requests from it too.
    read_closed_ = true;
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
  }
  StartWrite();
  if (paused_ && !read_closed_) {
    paused_ = false;
    Parse();
    return;
  }
  MaybeFinish();
}

void Connection::FlushMetrics() {
  Metric("requests", static_cast<int64_t>(metric_requests_));
  Metric("read_bytes", static_cast<int64_t>(metric_read_bytes_));
  Metric("write_bytes", static_cast<int64_t>(metric_write_bytes_));
  Metric("request_errors", static_cast<int64_t>(metric_errors_));
  // Bytes of READ replies sent as holes (structured replies), which the store never read.
  Metric("read_hole_bytes", static_cast<int64_t>(metric_hole_bytes_));
  Metric("block_status_requests", static_cast<int64_t>(metric_block_status_));
  metric_requests_ = metric_read_bytes_ = metric_write_bytes_ = metric_errors_ = 0;
  metric_hole_bytes_ = metric_block_status_ = 0;
}

void Connection::ReleaseRequest(Request* r) {
  inflight_bytes_ -= r->charged_bytes;
  r->charged_bytes = 0;
  pool_.Release(r);
}

void Connection::OnReadEnded(const error_code& ec) {
  if (!read_closed_ && ec != asio::error::eof && ec != asio::error::operation_aborted &&
      ec != asio::error::connection_reset) {
    Log(BP_LOG_DEBUG, "read failed: " + ec.message());
  }
  read_closed_ = true;
  MaybeFinish();
}

void Connection::Abort(const std::string& reason) {
  if (finished_) return;
  Log(BP_LOG_WARN, "closing connection: " + reason);
  read_closed_ = true;
  write_broken_ = true;
  for (Request* r : pending_) ReleaseRequest(r);
  pending_.clear();
  pending_payload_ = 0;
  error_code ignored;
  // Wakes any outstanding read or write with an error; the connection finishes once the host
  // has completed what it still holds.
  socket_.shutdown(Socket::shutdown_both, ignored);
  MaybeFinish();
}

void Connection::BeginShutdown() {
  stopping_ = true;
  if (finished_) return;
  if (!in_transmission_) {
    Abort("server is stopping");
    return;
  }
  read_closed_ = true;
  error_code ignored;
  // Ends an outstanding read with EOF; replies still go out on the send side.
  if (reading_) socket_.shutdown(Socket::shutdown_receive, ignored);
  MaybeFinish();
}

void Connection::ForceClose() {
  if (finished_) return;
  Log(BP_LOG_WARN, "closing connection: shutdown timeout with " + std::to_string(host_inflight_) +
                       " requests in the store and " + std::to_string(pool_.in_use()) +
                       " unanswered");
  Abort("shutdown timeout");
  error_code ignored;
  socket_.close(ignored);
}

void Connection::MaybeFinish() {
  if (finished_ || !read_closed_ || reading_ || host_inflight_ > 0) return;
  if (writing_) return;
  if (!pending_.empty() && !write_broken_) return;
  Finish();
}

void Connection::Finish() {
  finished_ = true;
  error_code ignored;
  handshake_timer_.cancel();
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  volume_.Close();
  FlushMetrics();
  server_->Remove(this);
}

}  // namespace bpnbd
