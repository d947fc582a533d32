// ControlServer: the daemon's management endpoint — a Unix socket (mode 0600) speaking one JSON
// request and one JSON response per connection, newline-terminated. The CLI's management
// commands (volume create/list/delete, stats, flush) use it so devices come and go without a
// restart. Requests are handled one at a time on the server's own thread; the engine calls they
// make are short apart from create/delete, which the caller waits for anyway.
//
// Protocol (see docs/control.md):
//   {"op":"volume.create","name":"db","size":1073741824}  → {"ok":true}
//   {"op":"volume.list"}                                   → {"ok":true,"volumes":[{...}]}
//   {"op":"volume.delete","name":"db"}                     → {"ok":true}
//   {"op":"flush"}                                         → {"ok":true}
//   {"op":"stats"}                                         → {"ok":true,"volumes":[...],"metrics":"<prometheus text>"}
//   any failure                                            → {"ok":false,"error":"message"}
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/volume_manager.h"
#include "util/status.h"

namespace bp {

class ControlServer {
 public:
  // metrics renders Prometheus text for the "stats" op.
  ControlServer(std::filesystem::path socket_path, VolumeManager* volumes,
                std::function<std::string()> metrics);
  ~ControlServer();

  // Bind the socket (replacing a stale one left by a dead daemon; refusing a live one) and start
  // serving on a background thread.
  Status Start();
  // Stop serving and remove the socket. Idempotent.
  void Stop();

  // Handle one request (exposed for tests).
  nlohmann::json Handle(const nlohmann::json& request);

 private:
  // The memory and disk caches' sizes and hit rates, for the stats op.
  static nlohmann::json CachesToJson();
  void Serve();
  void ServeOne(int fd);

  std::filesystem::path path_;
  VolumeManager* volumes_;
  std::function<std::string()> metrics_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// JSON form of a volume summary (shared by the server and the CLI's table printer).
nlohmann::json SummaryToJson(const VolumeSummary& summary);
// One snapshot as `snapshot.list` and `snapshot.create` return it (docs/control.md).
nlohmann::json SnapshotToJson(const SnapshotSummary& summary);

}  // namespace bp
