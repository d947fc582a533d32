// TlsTransport implementation: the session set-up (socket BIO for reading with a large
// read-ahead buffer, a vector sink for writing), the record gathering, and the mapping of
// OpenSSL's results to asio error codes (OpenSSL's reasons, which never hold key material).
#include "tls_transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace bpnbd {

namespace {

// TLS record plaintext limit: smaller pieces are gathered up to this size before sealing.
constexpr size_t kRecordBytes = SSL3_RT_MAX_PLAIN_LENGTH;

// The write side: a BIO that appends whatever OpenSSL writes to a std::vector (BIO_get_data).
// It never refuses or blocks, so SSL_write and SSL_do_handshake never report WANT_WRITE.
int SinkWrite(BIO* bio, const char* data, size_t size, size_t* written) {
  auto* out = static_cast<std::vector<uint8_t>*>(BIO_get_data(bio));
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
  *written = size;
  return 1;
}

long SinkCtrl(BIO*, int cmd, long, void*) {
  // FLUSH must succeed (OpenSSL flushes after each handshake flight); nothing else applies.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int SinkCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// One method table for all sessions, freed when the plugin is unloaded (a static destructor runs
// at dlclose, after the frontend's close has freed every session that used it); a plain static
// pointer would leak it with every load of the plugin.
const BIO_METHOD* SinkMethod() {
  struct Free {
    void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
  };
  static const std::unique_ptr<BIO_METHOD, Free> method = [] {
    std::unique_ptr<BIO_METHOD, Free> m(
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "blockpipe sink"));
    if (m) {
      BIO_meth_set_write_ex(m.get(), SinkWrite);
      BIO_meth_set_ctrl(m.get(), SinkCtrl);
      BIO_meth_set_create(m.get(), SinkCreate);
    }
    return m;
  }();
  return method.get();
}

}  // namespace

TlsTransport::TlsTransport(Socket& socket, SSL_CTX* ctx)
    : socket_(socket), record_(new uint8_t[kRecordBytes]) {
  const BIO_METHOD* sink_method = SinkMethod();
  if (!sink_method) return;
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return;
  BIO* rbio = BIO_new_socket(socket.native_handle(), BIO_NOCLOSE);
  BIO* wbio = BIO_new(sink_method);
  if (!rbio || !wbio) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    ERR_clear_error();
    return;
  }
  BIO_set_data(wbio, &sink_);
  SSL_set_bio(ssl, rbio, wbio);  // the SSL owns both BIOs from here
  // Read-ahead lets one recv take every record that has arrived, up to the buffer size.
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kTlsReadBufferBytes);
  SSL_set_accept_state(ssl);
  // The socket BIO must never wait: OpenSSL sees EAGAIN and reports WANT_READ.
  error_code ignored;
  socket_.non_blocking(true, ignored);
  ssl_ = ssl;
}

TlsTransport::~TlsTransport() {
  if (ssl_) SSL_free(ssl_);
  // Plaintext of the last record never lingers in freed memory.
  OPENSSL_cleanse(record_.get(), kRecordBytes);
}

boost::system::error_code TlsTransport::LastError(int ssl_result) const {
  const int kind = SSL_get_error(ssl_, ssl_result);
  if (kind == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code != 0) return error_code(static_cast<int>(code), boost::asio::error::get_ssl_category());
  if (kind == SSL_ERROR_SYSCALL) {
    // errno 0: the peer closed without close_notify; otherwise the socket's own error.
    const int err = errno;
    if (err == 0) return boost::asio::error::eof;
    return error_code(err, boost::system::system_category());
  }
  return boost::asio::ssl::error::unspecified_system_error;
}

TlsTransport::Step TlsTransport::HandshakeStep(error_code* ec) {
  if (!socket_.is_open()) {
    *ec = boost::asio::error::bad_descriptor;
    return Step::kFailed;
  }
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return Step::kDone;
  if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) return Step::kWantRead;
  *ec = LastError(r);
  return Step::kFailed;
}

size_t TlsTransport::ReadAvailable(uint8_t* data, size_t size, bool* want_read, error_code* ec) {
  if (!socket_.is_open()) {
    *ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  size_t total = 0;
  while (total < size) {
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read_ex(ssl_, data + total, size - total, &n);
    if (r == 1) {
      total += n;
      continue;
    }
    if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) {
      *want_read = true;
    } else if (total == 0) {
      // An error after some data is reported by the next read, so the data is not lost.
      *ec = LastError(r);
    }
    break;
  }
  return total;
}

void TlsTransport::WriteRecords(const uint8_t* data, size_t size, error_code* ec) {
  ERR_clear_error();
  errno = 0;
  size_t written = 0;
  // The sink takes everything, so a success wrote it all.
  const int r = SSL_write_ex(ssl_, data, size, &written);
  if (r != 1) *ec = LastError(r);
}

void TlsTransport::Encrypt(const uint8_t* data, size_t size, error_code* ec) {
  while (size > 0 && !*ec) {
    if (record_fill_ == 0 && size >= kRecordBytes) {
      // Whole records straight from the caller's buffer; the tail is gathered.
      const size_t whole = size - size % kRecordBytes;
      WriteRecords(data, whole, ec);
      data += whole;
      size -= whole;
      continue;
    }
    const size_t take = std::min(kRecordBytes - record_fill_, size);
    std::memcpy(record_.get() + record_fill_, data, take);
    record_fill_ += take;
    data += take;
    size -= take;
    if (record_fill_ == kRecordBytes) EndRecord(ec);
  }
}

void TlsTransport::EndRecord(error_code* ec) {
  if (record_fill_ == 0) return;
  const size_t fill = record_fill_;
  record_fill_ = 0;
  WriteRecords(record_.get(), fill, ec);
}

}  // namespace bpnbd
