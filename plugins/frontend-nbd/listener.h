// Listener: one bound, listening socket (TCP or unix) and its accept loop. Binding happens in
// the frontend's open() so that a bad or busy address fails startup with a clear message. For
// unix sockets it handles the socket file: a stale file left by a dead process is replaced, a
// file some live server still accepts on is an error, permissions come from `socket_mode`, and
// the file is removed at close only if it is still the one this listener created.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "frontend_config.h"

namespace bpnbd {

class Listener {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  // Picks the event loop a new connection will live on.
  using PickContext = std::function<boost::asio::io_context&()>;
  // Receives each accepted socket (already on the picked context) and a printable peer name.
  using OnAccept = std::function<void(Socket, std::string)>;

  // Binds every address `address` resolves to (a host name may give several) on `context`.
  static bool Bind(boost::asio::io_context& context, const ListenAddress& address,
                   mode_t socket_mode, std::vector<std::unique_ptr<Listener>>* out,
                   std::string* error);

  ~Listener();

  // Starts the accept loop; runs on the listener's context.
  void Start(PickContext pick, OnAccept on_accept);
  // Stops accepting and closes the socket (on the listener's context).
  void Close();
  // Removes the unix socket file if it is still ours. Safe from any thread after Close().
  void RemoveSocketFile();

  const std::string& description() const { return description_; }
  // The TLS mode of the `listen` entry this listener was bound for.
  TlsMode tls_mode() const { return tls_mode_; }

 private:
  explicit Listener(boost::asio::io_context& context);
  void AcceptTcp();
  void AcceptUnix();
  void RetryLater(void (Listener::*accept)());

  boost::asio::ip::tcp::acceptor tcp_;
  boost::asio::local::stream_protocol::acceptor unix_;
  boost::asio::steady_timer retry_timer_;
  bool is_unix_ = false;
  TlsMode tls_mode_ = TlsMode::kOff;
  bool closed_ = false;
  std::string description_;  // "127.0.0.1:10809" or "unix:/path"
  std::string path_;         // unix socket file
  dev_t path_dev_ = 0;
  ino_t path_ino_ = 0;
  PickContext pick_;
  OnAccept on_accept_;
};

}  // namespace bpnbd
