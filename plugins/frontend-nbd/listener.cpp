// Listener implementation: binding (with the unix socket file rules from listener.h) and the
// accept loops. Accept errors such as running out of file descriptors are retried after a short
// pause instead of spinning or giving up, because they clear when other clients leave.
#include "listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <blockpipe/bp_common.h>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include "plugin_log.h"

namespace bpnbd {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string EndpointText(const tcp::endpoint& ep) {
  std::string address = ep.address().to_string();
  if (ep.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(ep.port());
}

// Decides what to do with an existing file at a unix socket path. Returns false with a message
// when the path cannot be used; removes a stale socket.
bool ClearStaleSocket(const std::string& path, const std::string& text, std::string* error) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    *error = "cannot listen on " + text + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *error = "cannot listen on " + text + ": " + path + " exists and is not a socket";
    return false;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = "cannot listen on " + text + ": socket: " + std::strerror(errno);
    return false;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int connect_errno = errno;
  close(fd);
  if (rc == 0) {
    *error = "cannot listen on " + text + ": another running server accepts connections on " + path;
    return false;
  }
  if (connect_errno != ECONNREFUSED) {
    *error = "cannot listen on " + text + ": cannot probe existing socket " + path + ": " +
             std::strerror(connect_errno);
    return false;
  }
  // Nobody listens: a leftover of a process that died without cleaning up.
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    *error = "cannot listen on " + text + ": cannot remove stale socket " + path + ": " +
             std::strerror(errno);
    return false;
  }
  Log(BP_LOG_INFO, "replaced stale unix socket " + path);
  return true;
}

// "unix:/path pid 123 uid 1000": unix peers have no address, but the kernel knows who they are.
std::string UnixPeerName(int fd, const std::string& listener) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return listener;
  return listener + " pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid);
}

}  // namespace

Listener::Listener(asio::io_context& context)
    : tcp_(context), unix_(context), retry_timer_(context) {}

Listener::~Listener() {
  boost::system::error_code ignored;
  tcp_.close(ignored);
  unix_.close(ignored);
}

bool Listener::Bind(asio::io_context& context, const ListenAddress& address, mode_t socket_mode,
                    std::vector<std::unique_ptr<Listener>>* out, std::string* error) {
  boost::system::error_code ec;
  if (address.kind == ListenAddress::Kind::kUnix) {
    if (!ClearStaleSocket(address.path, address.text, error)) return false;
    std::unique_ptr<Listener> listener(new Listener(context));
    listener->is_unix_ = true;
    listener->tls_mode_ = address.tls;
    listener->path_ = address.path;
    listener->description_ = "unix:" + address.path;
    asio::local::stream_protocol::endpoint ep(address.path);
    listener->unix_.open(ep.protocol(), ec);
    if (!ec) listener->unix_.bind(ep, ec);
    if (ec) {
      *error = "cannot listen on " + address.text + ": " + ec.message();
      return false;
    }
    struct stat st;
    if (chmod(address.path.c_str(), socket_mode) != 0 || lstat(address.path.c_str(), &st) != 0) {
      *error = "cannot set permissions of " + address.path + ": " + std::strerror(errno);
      unlink(address.path.c_str());
      return false;
    }
    listener->path_dev_ = st.st_dev;
    listener->path_ino_ = st.st_ino;
    listener->unix_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      *error = "cannot listen on " + address.text + ": " + ec.message();
      listener->RemoveSocketFile();
      return false;
    }
    out->push_back(std::move(listener));
    return true;
  }

  tcp::resolver resolver(context);
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    *error = "cannot listen on " + address.text + ": cannot resolve \"" + address.host +
             "\": " + (ec ? ec.message() : "no addresses");
    return false;
  }
  std::vector<tcp::endpoint> bound;
  std::string first_error;
  size_t before = out->size();
  for (const auto& entry : results) {
    tcp::endpoint ep = entry.endpoint();
    bool seen = false;
    for (const auto& b : bound) seen = seen || b == ep;
    if (seen) continue;
    bound.push_back(ep);
    std::unique_ptr<Listener> listener(new Listener(context));
    listener->tls_mode_ = address.tls;
    auto& acceptor = listener->tcp_;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    // Keep "[::]:P" from also claiming IPv4 so it can be listed next to "0.0.0.0:P".
    if (!ec && ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::string message =
          "cannot listen on " + address.text + " (" + EndpointText(ep) + "): " + ec.message();
      // A busy port is always fatal; an address family the machine lacks (a host name that
      // also resolves to IPv6 on a host without it) is not, if another address worked.
      if (ec == asio::error::address_in_use || ec == asio::error::access_denied) {
        *error = message;
        out->resize(before);
        return false;
      }
      if (first_error.empty()) first_error = message;
      continue;
    }
    tcp::endpoint local = acceptor.local_endpoint(ec);
    listener->description_ = EndpointText(ec ? ep : local);
    out->push_back(std::move(listener));
  }
  if (out->size() == before) {
    *error = first_error.empty() ? "cannot listen on " + address.text : first_error;
    return false;
  }
  if (!first_error.empty()) Log(BP_LOG_WARN, first_error + " (other addresses are served)");
  return true;
}

void Listener::Start(PickContext pick, OnAccept on_accept) {
  pick_ = std::move(pick);
  on_accept_ = std::move(on_accept);
  Log(BP_LOG_INFO, "listening on " + description_ +
                       (tls_mode_ == TlsMode::kRequire ? " (TLS required)"
                        : tls_mode_ == TlsMode::kOn    ? " (TLS optional)"
                                                       : ""));
  if (is_unix_) {
    AcceptUnix();
  } else {
    AcceptTcp();
  }
}

void Listener::RetryLater(void (Listener::*accept)()) {
  retry_timer_.expires_after(kAcceptRetryDelay);
  retry_timer_.async_wait([this, accept](const boost::system::error_code& ec) {
    if (!ec && !closed_) (this->*accept)();
  });
}

void Listener::AcceptTcp() {
  tcp_.async_accept(pick_(), [this](const boost::system::error_code& ec, tcp::socket socket) {
    if (closed_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      Log(BP_LOG_WARN, "accept on " + description_ + " failed: " + ec.message());
      RetryLater(&Listener::AcceptTcp);
      return;
    }
    boost::system::error_code ignored;
    // Replies are small and latency-bound: never let Nagle hold them back.
    socket.set_option(tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored);
    std::string peer = ignored ? std::string("tcp client") : EndpointText(remote);
    on_accept_(Socket(std::move(socket)), std::move(peer));
    AcceptTcp();
  });
}

void Listener::AcceptUnix() {
  unix_.async_accept(pick_(), [this](const boost::system::error_code& ec,
                                     asio::local::stream_protocol::socket socket) {
    if (closed_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      Log(BP_LOG_WARN, "accept on " + description_ + " failed: " + ec.message());
      RetryLater(&Listener::AcceptUnix);
      return;
    }
    std::string peer = UnixPeerName(socket.native_handle(), description_);
    on_accept_(Socket(std::move(socket)), std::move(peer));
    AcceptUnix();
  });
}

void Listener::Close() {
  closed_ = true;
  boost::system::error_code ignored;
  retry_timer_.cancel();
  tcp_.close(ignored);
  unix_.close(ignored);
}

void Listener::RemoveSocketFile() {
  if (!is_unix_ || path_.empty()) return;
  struct stat st;
  // Only our own file: another server may have replaced it after we stopped listening.
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == path_dev_ && st.st_ino == path_ino_) {
    unlink(path_.c_str());
  }
  path_.clear();
}

}  // namespace bpnbd
