// Server implementation: event-loop threads, accepting and registering connections, and the
// bounded drain of Stop(). See server.h for the shutdown protocol and why an unclean stop leaks
// the Server on purpose.
#include "server.h"

#include <pthread.h>

#include <chrono>
#include <future>

#include <boost/asio/post.hpp>

#include "event_loop.h"
#include "listener.h"
#include "plugin_log.h"

namespace bpnbd {

namespace asio = boost::asio;

Server::Server(FrontendSettings settings, const bp_volume_api* volumes)
    : settings_(std::move(settings)),
      catalog_(volumes, settings_.exports, settings_.read_only, settings_.allowed_clients) {
  for (uint32_t i = 0; i < settings_.threads; ++i) {
    // Hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
}

Server::~Server() {
  Stop();
  listeners_.clear();
}

bool Server::Bind(std::string* error) {
  if (AnyListenerUsesTls(settings_) && !TlsContext::Create(settings_.tls, &tls_, error)) {
    return false;
  }
  for (const ListenAddress& address : settings_.listen) {
    if (!Listener::Bind(*contexts_[0], address, settings_.socket_mode, &listeners_, error)) {
      *error = "`listen`: " + *error;  // the host then points at the key's line
      for (auto& listener : listeners_) listener->RemoveSocketFile();
      listeners_.clear();
      return false;
    }
  }
  return true;
}

bool Server::Start(std::string* error) {
  if (started_) return true;
  started_ = true;
  try {
    for (size_t i = 0; i < contexts_.size(); ++i) {
      asio::io_context* context = contexts_[i].get();
      work_guards_.push_back(asio::make_work_guard(*context));
      const std::chrono::microseconds poll_max(settings_.busy_poll_us);
      threads_.emplace_back([context, i, poll_max] {
        std::string name = "bp-nbd-" + std::to_string(i);
        pthread_setname_np(pthread_self(), name.c_str());
        // Handlers do not throw by design; if one does, log it and keep serving the others.
        for (;;) {
          try {
            RunEventLoop(*context, poll_max);
            return;
          } catch (const std::exception& e) {
            Log(BP_LOG_ERROR, std::string("event loop handler failed: ") + e.what());
          }
        }
      });
    }
  } catch (const std::exception& e) {
    *error = std::string("cannot start event-loop threads: ") + e.what();
    return false;
  }
  for (auto& listener : listeners_) {
    Listener* l = listener.get();
    asio::post(*contexts_[0], [this, l] {
      l->Start([this]() -> asio::io_context& { return NextContext(); },
               [this, l](Connection::Socket socket, std::string peer) {
                 Adopt(std::move(socket), std::move(peer), l->tls_mode());
               });
    });
  }
  return true;
}

asio::io_context& Server::NextContext() {
  uint32_t n = next_context_.fetch_add(1, std::memory_order_relaxed);
  return *contexts_[n % contexts_.size()];
}

void Server::Adopt(Connection::Socket socket, std::string peer, TlsMode tls) {
  bp::MutexLock lock(&mutex_);
  boost::system::error_code ignored;
  if (stopping_) {
    socket.close(ignored);
    return;
  }
  if (settings_.max_connections && connections_.size() >= settings_.max_connections) {
    Log(BP_LOG_WARN, peer + ": refused: max_connections (" +
                         std::to_string(settings_.max_connections) + ") reached");
    socket.close(ignored);
    return;
  }
  auto connection = std::make_shared<Connection>(this, std::move(socket), std::move(peer), tls,
                                                 tls == TlsMode::kOff ? nullptr : tls_.get());
  connections_.emplace(connection.get(), connection);
  Metric("connections", 1);
  // Posted under the lock so that a concurrent Stop() sees the connection only after its
  // Start() is queued, and its BeginShutdown() therefore runs after Start().
  asio::post(connection->executor(), [connection] { connection->Start(); });
}

void Server::Remove(Connection* connection) {
  bp::MutexLock lock(&mutex_);
  connections_.erase(connection);
  if (connections_.empty()) drained_.SignalAll();
}

template <typename Fn>
void Server::ForEachConnection(Fn fn) {
  std::vector<std::shared_ptr<Connection>> snapshot;
  {
    bp::MutexLock lock(&mutex_);
    for (auto& entry : connections_) snapshot.push_back(entry.second);
  }
  for (auto& connection : snapshot) {
    asio::post(connection->executor(), [connection, fn] { fn(*connection); });
  }
}

bool Server::WaitForConnections(uint32_t timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bp::MutexLock lock(&mutex_);
  while (!connections_.empty() && std::chrono::steady_clock::now() < until) {
    drained_.WaitUntil(&mutex_, until);
  }
  return connections_.empty();
}

void Server::CloseListeners() {
  if (threads_.empty()) {
    for (auto& listener : listeners_) listener->Close();
    return;
  }
  std::promise<void> closed;
  asio::post(*contexts_[0], [this, &closed] {
    for (auto& listener : listeners_) listener->Close();
    closed.set_value();
  });
  closed.get_future().wait();
}

bool Server::Stop() {
  if (stopped_) return clean_stop_;
  stopped_ = true;
  {
    bp::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  CloseListeners();
  if (!threads_.empty()) {
    ForEachConnection([](Connection& c) { c.BeginShutdown(); });
    if (!WaitForConnections(settings_.shutdown_timeout_ms)) {
      ForEachConnection([](Connection& c) { c.ForceClose(); });
      if (!WaitForConnections(settings_.shutdown_timeout_ms)) {
        bp::MutexLock lock(&mutex_);
        Log(BP_LOG_ERROR, std::to_string(connections_.size()) +
                              " connection(s) still wait for the store to complete requests; "
                              "abandoning them");
        clean_stop_ = false;
      }
    }
    for (auto& guard : work_guards_) guard.reset();
    for (auto& context : contexts_) context->stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }
  for (auto& listener : listeners_) listener->RemoveSocketFile();
  return clean_stop_;
}

}  // namespace bpnbd
