// Connection: one NBD client from greeting to close. Lives on a single event-loop thread (its
// io_context is run by exactly one thread, so its state needs no locks). Two phases:
//   handshake     (connection_handshake.cpp) greeting, client flags, options via Negotiation,
//                 bounded by a timer and an option count;
//   transmission  (connection_transmission.cpp) a buffered reader that keeps parsing requests
//                 while earlier ones are in flight, submits them to the host, and a write queue
//                 that sends replies in completion order, batched into gather writes.
// The host's done callback may run on any thread (even inside submit): it only pushes the
// request onto a lock-free stack and, if the stack was empty, posts one drain to this thread.
// The connection finishes (socket closed, volume reference released, removed from the server)
// only when reading has ended, the host has completed every request and the writer is idle, so
// no bp_io is ever freed while the host holds it.
//
// TLS (connection_tls.cpp): after NBD_OPT_STARTTLS is acknowledged, a TlsTransport over the
// socket carries everything; the handshake is asynchronous like every other step, bounded by the
// same handshake timer. All reads and writes go through the Async* helpers below, which pick the
// plain socket or the TLS transport.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "export_catalog.h"
#include "negotiation.h"
#include "request_pool.h"
#include "tls_transport.h"

namespace bpnbd {

class Server;
class TlsContext;
struct FrontendSettings;

// Size of the per-connection receive buffer: many 4 KiB writes (or hundreds of request headers)
// arrive per read system call.
inline constexpr size_t kReadBufferBytes = 256u << 10;
// READ payload that may wait for the socket behind the write in progress: beyond it no more
// requests are parsed, and a write batch carries about this much. A client that keeps 128 reads
// of 256 KiB in flight (nbdcopy) would otherwise have them all copied out of the cache at once,
// each into a buffer of its own: 32 MiB per connection, fresh pages for every new connection and,
// being more than the pool keeps (kRetainedLargeBytes), freed and faulted in again mid-stream;
// and the data would have left the CPU's caches before the socket copies it out (1 MiB is about
// one core's L2 cache on the machines measured).
inline constexpr uint64_t kReplyBacklogBytes = 1u << 20;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;

  // tls_mode: the mode of the listener that accepted the client; tls: the frontend's TLS
  // context, nullptr when that mode is "off".
  Connection(Server* server, Socket socket, std::string peer, TlsMode tls_mode = TlsMode::kOff,
             const TlsContext* tls = nullptr);
  ~Connection();

  // All three must run on the connection's executor (post them there).
  void Start();
  // Server stopping: stop reading, finish in-flight requests and their replies, then close.
  void BeginShutdown();
  // Shutdown took too long: drop the socket now; still waits for the host's completions.
  void ForceClose();

  // Fixed at construction, so other threads (completions, Server::Stop) may read it safely.
  const boost::asio::any_io_executor& executor() const { return executor_; }
  const std::string& peer() const { return peer_; }

 private:
  // ---- handshake (connection_handshake.cpp) ----
  void SendGreeting();
  void ReadClientFlags();
  void ReadOptionHeader();
  void ReadOptionData(uint32_t option, uint32_t length);
  void SkipOptionData(uint32_t option, size_t remaining);
  void SendNegotiationOutput(Negotiation::Next next);
  void EnterTransmission();

  // ---- TLS (connection_tls.cpp) ----
  void StartTls();
  void OnTlsHandshake(const boost::system::error_code& ec);

  // Reads and writes on the plain socket or, once STARTTLS succeeded, through the TLS transport.
  template <typename Handler>
  void AsyncRead(boost::asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_transport_) {
      tls_transport_->AsyncRead(buffer.data(), buffer.size(), std::forward<Handler>(handler));
    } else {
      boost::asio::async_read(socket_, buffer, std::forward<Handler>(handler));
    }
  }
  template <typename Handler>
  void AsyncReadSome(boost::asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_transport_) {
      tls_transport_->AsyncReadSome(buffer.data(), buffer.size(), std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffer, std::forward<Handler>(handler));
    }
  }
  template <typename Buffers, typename Handler>
  void AsyncWrite(const Buffers& buffers, Handler&& handler) {
    if (tls_transport_) {
      tls_transport_->AsyncWrite(buffers, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(socket_, buffers, std::forward<Handler>(handler));
    }
  }

  // ---- transmission (connection_transmission.cpp) ----
  void ReadMore();
  void Parse();
  void ReadPayload(Request* r, size_t have);
  void Submit(Request* r);
  void QueueReply(Request* r);
  // Encodes r's reply (simple, structured or extended) into r->reply_bytes / r->segments.
  void EncodeReply(Request* r);
  void EncodeReadChunks(Request* r);
  void EncodeErrorChunk(Request* r);
  void EncodeBlockStatus(Request* r);
  // BLOCK_STATUS is answered from the extent map on this thread, without the host's submit.
  void AnswerBlockStatus(Request* r);
  // Structured READ: looks up the range's allocation; true when it is all zeros (no host read
  // is needed).
  bool PlanStructuredRead(Request* r);
  static void OnHostDone(bp_io* io, int error);
  void PushCompletion(Request* r);  // any thread
  void DrainCompletions();
  // Queue the reply of one request the host has completed (on this connection's thread).
  void FinishRequest(Request* r);
  void StartWrite();
  void OnWritten(const boost::system::error_code& ec);
  bool HasCapacity(uint64_t charge) const;
  void ReleaseRequest(Request* r);
  void FlushMetrics();
  void OnReadEnded(const boost::system::error_code& ec);
  void Abort(const std::string& reason);
  void MaybeFinish();
  void Finish();

  void Log(int level, const std::string& message) const;

  Server* server_;  // outlives every connection (see Server::Stop)
  const FrontendSettings& settings_;
  Socket socket_;
  const TlsMode tls_mode_;                       // the accepting listener's
  const TlsContext* tls_;                        // nullptr when tls_mode_ is kOff
  std::unique_ptr<TlsTransport> tls_transport_;  // set by STARTTLS
  std::string tls_psk_identity_;                 // written by the PSK callback during the handshake
  boost::asio::any_io_executor executor_;
  std::string peer_;
  boost::asio::steady_timer handshake_timer_;

  // Handshake state.
  std::unique_ptr<Negotiation> negotiation_;
  std::vector<uint8_t> handshake_out_;
  std::vector<uint8_t> option_data_;
  uint8_t small_buf_[16] = {};
  uint32_t options_seen_ = 0;
  bool in_transmission_ = false;

  // Transmission state.
  VolumeHandle volume_;
  ExportInfo info_;
  Features features_;
  size_t request_header_size_ = kRequestHeaderSize;
  RequestPool pool_;
  std::unique_ptr<uint8_t[]> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  uint64_t discard_remaining_ = 0;  // payload of a refused WRITE still to skip
  Request* discarding_ = nullptr;   // that WRITE, answered once its payload is consumed
  uint64_t inflight_bytes_ = 0;
  uint32_t host_inflight_ = 0;  // submitted, done not yet drained
  bool reading_ = false;        // a read is outstanding on the socket
  bool paused_ = false;         // parsing stopped at the in-flight bound
  bool read_closed_ = false;    // no more requests will be read
  bool writing_ = false;
  bool write_broken_ = false;  // replies can no longer be delivered
  bool stopping_ = false;
  bool finished_ = false;
  std::vector<Request*> pending_;  // replies waiting for the writer
  uint64_t pending_payload_ = 0;   // READ payload bytes of pending_
  std::vector<Request*> batch_;    // replies in the current gather write
  std::vector<boost::asio::const_buffer> iov_;
  std::atomic<Request*> done_head_{nullptr};
  // Requests the host completed inline, inside Submit on this connection's thread.
  std::vector<Request*> inline_done_;

  // Counters flushed to host metrics per write batch (cheap on the data path).
  uint64_t metric_requests_ = 0, metric_read_bytes_ = 0, metric_write_bytes_ = 0,
           metric_errors_ = 0, metric_hole_bytes_ = 0, metric_block_status_ = 0;
};

}  // namespace bpnbd
