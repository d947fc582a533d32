// TlsTransport against a real OpenSSL client on the other end of a socket pair: the handshake
// with a PSK, exact and partial reads of payloads that span many records, gathered writes of
// small and large pieces read back byte for byte, a client KeyUpdate in the middle of the
// stream, end of stream, and a wrong key. The client runs blocking on its own thread; the
// transport runs on the test's io_context like a connection on its event loop.
#include "tls_transport.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include "tls_context.h"

namespace bpnbd {
namespace {

using Socket = TlsTransport::Socket;
using boost::system::error_code;

const unsigned char kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const unsigned char kWrongKey[16] = {9};

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 2654435761u + seed) >> 13);
  return v;
}

// A blocking TLS 1.3 PSK client on one end of the socket pair.
class Client {
 public:
  Client(int fd, const unsigned char* key) {
    // A transport that stops answering fails the test instead of hanging it.
    timeval timeout{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    SSL_CTX_set_ex_data(ctx_, 0, const_cast<unsigned char*>(key));
    SSL_CTX_set_psk_client_callback(ctx_, PskCallback);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd);
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool Connect() { return SSL_connect(ssl_) == 1; }
  bool Write(const std::vector<uint8_t>& data) {
    size_t n = 0;
    return SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1 && n == data.size();
  }
  bool ReadExactly(std::vector<uint8_t>* out, size_t n) {
    out->resize(n);
    size_t have = 0;
    while (have < n) {
      size_t got = 0;
      if (SSL_read_ex(ssl_, out->data() + have, n - have, &got) != 1) return false;
      have += got;
    }
    return true;
  }
  bool KeyUpdate() { return SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) == 1; }
  void Close() { SSL_shutdown(ssl_); }

 private:
  static unsigned int PskCallback(SSL* ssl, const char*, char* identity, unsigned int max_identity,
                                  unsigned char* psk, unsigned int max_psk) {
    const auto* key =
        static_cast<const unsigned char*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0));
    if (max_identity < 5 || max_psk < sizeof kKey) return 0;
    std::strcpy(identity, "test");
    std::memcpy(psk, key, sizeof kKey);
    return sizeof kKey;
  }
  SSL_CTX* ctx_;
  SSL* ssl_;
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bp-tls-transport.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    const std::string psk = dir_ + "/keys.psk";
    {
      std::ofstream out(psk);
      out << "test:";
      for (unsigned char b : kKey) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", b);
        out << hex;
      }
      out << "\n";
    }
    ASSERT_EQ(chmod(psk.c_str(), 0600), 0);
    TlsSettings settings;
    settings.mode = TlsMode::kRequire;
    settings.psk_file = psk;
    std::string error;
    ASSERT_TRUE(TlsContext::Create(settings, &context_, &error)) << error;
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_fd_ = fds[1];
    server_ =
        std::make_unique<Socket>(io_, boost::asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
    transport_ = std::make_unique<TlsTransport>(*server_, context_->ssl().native_handle());
    ASSERT_TRUE(transport_->ok());
    TlsContext::Attach(transport_->ssl(), &identity_);
  }
  void TearDown() override {
    transport_.reset();
    server_.reset();
    if (client_fd_ >= 0) close(client_fd_);
    std::string command = "rm -rf " + dir_;
    (void)std::system(command.c_str());
  }

  // Runs the io_context until `done` is set (bounded: a hang fails the test).
  void RunUntil(const bool& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done) << "the transport did not complete within 30 s";
  }

  error_code Handshake() {
    bool done = false;
    error_code result;
    transport_->AsyncHandshake([&](const error_code& ec) {
      result = ec;
      done = true;
    });
    RunUntil(done);
    return result;
  }

  error_code Read(std::vector<uint8_t>* out, size_t n) {
    out->assign(n, 0);
    bool done = false;
    error_code result;
    size_t got = 0;
    transport_->AsyncRead(out->data(), n, [&](const error_code& ec, size_t count) {
      result = ec;
      got = count;
      done = true;
    });
    RunUntil(done);
    if (!result) {
      EXPECT_EQ(got, n);
    }
    return result;
  }

  error_code Write(const std::vector<boost::asio::const_buffer>& buffers, size_t* sent) {
    bool done = false;
    error_code result;
    transport_->AsyncWrite(buffers, [&](const error_code& ec, size_t count) {
      result = ec;
      *sent = count;
      done = true;
    });
    RunUntil(done);
    return result;
  }

  std::string dir_;
  std::unique_ptr<TlsContext> context_;
  boost::asio::io_context io_;
  std::unique_ptr<Socket> server_;
  std::unique_ptr<TlsTransport> transport_;
  std::string identity_;
  int client_fd_ = -1;
};

TEST_F(TlsTransportTest, CarriesLargeAndSmallPiecesBothWaysAcrossAKeyUpdate) {
  const auto upload = Pattern((3u << 20) + 123, 1);
  const auto small = Pattern(17, 2);
  const auto after_update = Pattern(40000, 3);
  // What the server sends: reply-like batches of a 16-byte header and a 4 KiB payload, then a
  // header and a 1 MiB payload, as the connection's writer gathers them.
  std::vector<std::vector<uint8_t>> pieces;
  for (uint32_t i = 0; i < 20; ++i) {
    pieces.push_back(Pattern(16, 100 + i));
    pieces.push_back(Pattern(4096, 200 + i));
  }
  pieces.push_back(Pattern(16, 300));
  pieces.push_back(Pattern(1u << 20, 301));
  std::vector<uint8_t> expected_download;
  std::vector<boost::asio::const_buffer> buffers;
  for (const auto& p : pieces) {
    expected_download.insert(expected_download.end(), p.begin(), p.end());
    buffers.emplace_back(p.data(), p.size());
  }

  std::promise<std::string> client_result;
  std::thread client([&] {
    Client c(client_fd_, kKey);
    std::vector<uint8_t> got;
    if (!c.Connect()) return client_result.set_value("client handshake failed");
    if (!c.Write(upload) || !c.Write(small)) return client_result.set_value("client write failed");
    if (!c.ReadExactly(&got, expected_download.size())) {
      return client_result.set_value("client read failed");
    }
    if (got != expected_download) return client_result.set_value("download differs");
    // New keys in both directions mid-stream: the server must answer the update.
    if (!c.KeyUpdate() || !c.Write(after_update)) {
      return client_result.set_value("client key update failed");
    }
    if (!c.ReadExactly(&got, small.size()) || got != small) {
      return client_result.set_value("read after key update failed");
    }
    c.Close();
    client_result.set_value("");
  });

  ASSERT_FALSE(Handshake());
  std::string identity, common_name;
  TlsContext::PeerIdentity(transport_->ssl(), &identity, &common_name);
  EXPECT_EQ(identity, "test");

  std::vector<uint8_t> got;
  ASSERT_FALSE(Read(&got, upload.size()));
  EXPECT_EQ(got, upload);
  // A partial read returns what is there, at least one byte.
  std::vector<uint8_t> some(small.size());
  bool done = false;
  size_t count = 0;
  transport_->AsyncReadSome(some.data(), some.size(), [&](const error_code& ec, size_t n) {
    EXPECT_FALSE(ec);
    count = n;
    done = true;
  });
  RunUntil(done);
  ASSERT_GE(count, 1u);
  if (count < small.size()) {
    std::vector<uint8_t> rest;
    ASSERT_FALSE(Read(&rest, small.size() - count));
    std::memcpy(some.data() + count, rest.data(), rest.size());
  }
  EXPECT_EQ(some, small);

  size_t sent = 0;
  ASSERT_FALSE(Write(buffers, &sent));
  EXPECT_EQ(sent, expected_download.size());

  ASSERT_FALSE(Read(&got, after_update.size()));
  EXPECT_EQ(got, after_update);
  const std::vector<boost::asio::const_buffer> reply{{small.data(), small.size()}};
  ASSERT_FALSE(Write(reply, &sent));

  // close_notify: the end of the stream.
  EXPECT_EQ(Read(&got, 1), boost::asio::error::eof);
  client.join();
  EXPECT_EQ(client_result.get_future().get(), "");
}

TEST_F(TlsTransportTest, WrongKeyFailsTheHandshake) {
  std::thread client([&] {
    Client c(client_fd_, kWrongKey);
    EXPECT_FALSE(c.Connect());
    shutdown(client_fd_, SHUT_RDWR);
  });
  error_code ec = Handshake();
  client.join();
  EXPECT_TRUE(ec);
}

TEST_F(TlsTransportTest, PlaintextGarbageFailsTheHandshake) {
  const char garbage[] = "NBDMAGIC this is not a ClientHello\r\n\r\n";
  ASSERT_EQ(write(client_fd_, garbage, sizeof garbage), static_cast<ssize_t>(sizeof garbage));
  shutdown(client_fd_, SHUT_WR);
  EXPECT_TRUE(Handshake());
}

TEST_F(TlsTransportTest, ClosedSocketEndsAWaitingReadWithoutTouchingTheDescriptor) {
  std::thread client([&] {
    Client c(client_fd_, kKey);
    EXPECT_TRUE(c.Connect());
  });
  ASSERT_FALSE(Handshake());
  client.join();
  std::vector<uint8_t> buffer(64);
  bool done = false;
  error_code result;
  transport_->AsyncRead(buffer.data(), buffer.size(), [&](const error_code& ec, size_t) {
    result = ec;
    done = true;
  });
  io_.restart();
  io_.poll();
  server_->close();  // as Connection::ForceClose does
  RunUntil(done);
  EXPECT_TRUE(result);
}

}  // namespace
}  // namespace bpnbd
