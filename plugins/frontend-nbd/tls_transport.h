// TlsTransport: one connection's TLS session after NBD_OPT_STARTTLS, driven by the connection's
// event loop without ever blocking. It replaces asio's ssl::stream, whose fixed 17 KiB buffers
// cost one system call and two extra copies per TLS record in each direction (a 1 MiB WRITE
// arrived in about 64 recv calls), and whose writes turned every small reply into its own record.
//
// Receiving: OpenSSL reads the socket itself (a socket BIO on the connection's descriptor, not
// owned) with read-ahead into a large buffer (kTlsReadBufferBytes), so one recv takes every
// record that has arrived and decryption runs straight from that buffer. A read first drains what
// OpenSSL already holds; only when it reports WANT_READ does the transport wait for the socket
// to become readable (asio's async_wait on the same socket, so the reactor stays in charge).
//
// Sending: records are produced into a memory sink (a BIO of our own that appends to a vector)
// and leave in one write per batch. Small pieces (reply headers, 4 KiB payloads) are gathered
// into full 16 KiB records; large payloads are encrypted straight from the caller's buffer.
// Output OpenSSL produces on its own while reading (a TLS 1.3 KeyUpdate answer) waits in the
// sink and goes out ahead of the next write.
//
// Thread rules: like the connection, a transport lives on one event-loop thread; at most one read
// and one write are outstanding at a time (the connection's reader and writer), and the handshake
// runs alone. The socket and the SSL_CTX outlive the transport. After the socket is closed no
// OpenSSL call touches the descriptor: a wait that ends with an error reports it as is.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace bpnbd {

// OpenSSL's receive buffer per TLS connection: about 15 full records per recv.
inline constexpr size_t kTlsReadBufferBytes = 256u << 10;

class TlsTransport {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using error_code = boost::system::error_code;

  // Creates the session (server side) on ctx over socket. ok() is false when OpenSSL could not
  // allocate it.
  TlsTransport(Socket& socket, SSL_CTX* ctx);
  ~TlsTransport();
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_; }

  // Runs the server handshake; handler(error_code). Output (including a failure's alert) is sent
  // before the handler runs.
  template <typename Handler>
  void AsyncHandshake(Handler&& handler) {
    error_code ec;
    const Step step = HandshakeStep(&ec);
    Flush([this, step, ec, h = std::forward<Handler>(handler)](const error_code& wec) mutable {
      if (step == Step::kDone || step == Step::kFailed) return h(step == Step::kFailed ? ec : wec);
      if (wec) return h(wec);
      WaitReadable([this, h = std::move(h)](const error_code& wait_ec) mutable {
        if (wait_ec) return h(wait_ec);
        AsyncHandshake(std::move(h));
      });
    });
  }

  // Reads between 1 and `size` bytes of plaintext; handler(error_code, size_t). End of stream
  // (close_notify or a plain close) is asio::error::eof.
  template <typename Handler>
  void AsyncReadSome(void* data, size_t size, Handler&& handler) {
    AsyncReadAtLeast(static_cast<uint8_t*>(data), 0, size, size == 0 ? 0 : 1,
                     std::forward<Handler>(handler));
  }

  // Reads exactly `size` bytes; handler(error_code, size_t).
  template <typename Handler>
  void AsyncRead(void* data, size_t size, Handler&& handler) {
    AsyncReadAtLeast(static_cast<uint8_t*>(data), 0, size, size, std::forward<Handler>(handler));
  }

  // Encrypts every buffer of the sequence, in order, and sends the records in one write;
  // handler(error_code, size_t plaintext_bytes). The buffers may be reused as soon as this
  // returns.
  template <typename Buffers, typename Handler>
  void AsyncWrite(const Buffers& buffers, Handler&& handler) {
    size_t total = 0;
    error_code ec;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         !ec && it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::const_buffer b(*it);
      Encrypt(static_cast<const uint8_t*>(b.data()), b.size(), &ec);
      total += b.size();
    }
    if (!ec) EndRecord(&ec);
    if (ec) {
      boost::asio::post(socket_.get_executor(),
                        [ec, h = std::forward<Handler>(handler)]() mutable { h(ec, 0); });
      return;
    }
    Flush([total, h = std::forward<Handler>(handler)](const error_code& wec) mutable {
      h(wec, wec ? 0 : total);
    });
  }

 private:
  enum class Step { kDone, kWantRead, kFailed };

  // One SSL_do_handshake; records output in sink_.
  Step HandshakeStep(error_code* ec);
  // Copies decrypted bytes into [data, data + size) until OpenSSL has no more; returns the
  // count, or sets *ec (end of stream or a TLS error). *want_read: OpenSSL needs the socket.
  size_t ReadAvailable(uint8_t* data, size_t size, bool* want_read, error_code* ec);
  // Adds plaintext to the records being built (full records go straight to OpenSSL).
  void Encrypt(const uint8_t* data, size_t size, error_code* ec);
  // Seals the partly filled record, if any.
  void EndRecord(error_code* ec);
  void WriteRecords(const uint8_t* data, size_t size, error_code* ec);
  error_code LastError(int ssl_result) const;

  template <typename Handler>
  void AsyncReadAtLeast(uint8_t* data, size_t have, size_t size, size_t at_least,
                        Handler&& handler) {
    bool want_read = false;
    error_code ec;
    if (have < size) have += ReadAvailable(data + have, size - have, &want_read, &ec);
    if (ec || have >= at_least) {
      // Never inline: the caller's handler may start the next read (as asio's own reads do).
      boost::asio::post(socket_.get_executor(),
                        [ec, have, h = std::forward<Handler>(handler)]() mutable { h(ec, have); });
      return;
    }
    WaitReadable([this, data, have, size, at_least,
                  h = std::forward<Handler>(handler)](const error_code& wait_ec) mutable {
      if (wait_ec) return h(wait_ec, have);
      AsyncReadAtLeast(data, have, size, at_least, std::move(h));
    });
  }

  template <typename Handler>
  void WaitReadable(Handler&& handler) {
    socket_.async_wait(Socket::wait_read, std::forward<Handler>(handler));
  }

  // Sends what the sink holds (nothing: the handler is posted); handler(error_code).
  template <typename Handler>
  void Flush(Handler&& handler) {
    if (sink_.empty()) {
      boost::asio::post(socket_.get_executor(),
                        [h = std::forward<Handler>(handler)]() mutable { h(error_code()); });
      return;
    }
    // The sink keeps collecting (a KeyUpdate answer while reading) while these bytes are sent.
    sending_.swap(sink_);
    sink_.clear();
    boost::asio::async_write(
        socket_, boost::asio::buffer(sending_),
        [this, h = std::forward<Handler>(handler)](const error_code& ec, size_t) mutable {
          sending_.clear();
          h(ec);
        });
  }

  Socket& socket_;
  SSL* ssl_ = nullptr;
  std::vector<uint8_t> sink_;     // records not yet handed to the socket (the write BIO's target)
  std::vector<uint8_t> sending_;  // records being written
  std::unique_ptr<uint8_t[]> record_;  // a record's plaintext being gathered
  size_t record_fill_ = 0;
};

}  // namespace bpnbd
