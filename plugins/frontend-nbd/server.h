// Server: one NBD frontend instance. Owns the event-loop threads (one io_context per thread,
// each run by exactly one thread so a connection's handlers never run concurrently), the
// listeners bound at open time, and the registry of live connections. New connections are
// spread over the event loops round-robin.
//
// Stop() is the drain protocol the frontend ABI asks for: stop accepting; ask every connection to
// stop reading and finish its in-flight requests and replies (bounded by shutdown_timeout); then
// drop the sockets of those still busy and wait (bounded again) for the host to complete their
// requests; finally stop and join the threads. If the host never completes some request, those
// connections are abandoned and Stop() returns false: the caller must then keep the Server
// alive (leak it) because the host still holds pointers into it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <blockpipe/bp_thread_safety.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "connection.h"
#include "export_catalog.h"
#include "frontend_config.h"
#include "tls_context.h"

namespace bpnbd {

class Listener;

class Server {
 public:
  Server(FrontendSettings settings, const bp_volume_api* volumes);
  ~Server();

  // Binds every listen address. On failure returns false with a message naming the address.
  bool Bind(std::string* error);
  // Starts the threads and begins accepting. Called once.
  bool Start(std::string* error);
  // Drains and stops (idempotent). False if connections had to be abandoned.
  bool Stop() BP_EXCLUDES(mutex_);

  const FrontendSettings& settings() const { return settings_; }
  const ExportCatalog& catalog() const { return catalog_; }

  // Called by a connection when it has finished, on its own thread.
  void Remove(Connection* connection) BP_EXCLUDES(mutex_);

 private:
  void Adopt(Connection::Socket socket, std::string peer, TlsMode tls) BP_EXCLUDES(mutex_);
  boost::asio::io_context& NextContext();
  // Runs fn on every live connection's executor.
  template <typename Fn>
  void ForEachConnection(Fn fn) BP_EXCLUDES(mutex_);
  bool WaitForConnections(uint32_t timeout_ms) BP_EXCLUDES(mutex_);
  void CloseListeners();

  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  FrontendSettings settings_;
  ExportCatalog catalog_;
  // Built in Bind when some listener serves TLS; shared by all of them (the mode is each
  // listener's own).
  std::unique_ptr<TlsContext> tls_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> work_guards_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::atomic<uint32_t> next_context_{0};
  // Start() and Stop() run on the host's lifecycle thread, never concurrently (frontend ABI).
  bool started_ = false;
  bool stopped_ = false;
  bool clean_stop_ = true;

  // The registry of live connections, shared by the accepting thread (Adopt), every event-loop
  // thread (Remove) and the host's thread in Stop().
  bp::Mutex mutex_;
  bp::CondVar drained_;                          // connections_ became empty (waits on mutex_)
  bool stopping_ BP_GUARDED_BY(mutex_) = false;  // no connection is adopted any more
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_ BP_GUARDED_BY(mutex_);
};

}  // namespace bpnbd
