// What the offline maintenance commands (`blockpipe change-password`, `blockpipe fsck`) share.
// They work on the object store directly instead of asking a daemon, so they load the config,
// the backend and the codec plugins themselves, find the volumes the way the daemon does, and
// coordinate with a daemon of the same config through the data directory's lock file — the
// same `<data_dir>/blockpipe.lock` that `blockpipe run` holds with flock(2) for its whole life.
// Holding it proves no daemon of this config serves the store, and keeps one from starting
// until the command is done.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "loader/plugin_registry.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp::cli {

// Config, plugins, store and codec factory of one config file. The registry outlives what it
// loaded (members are destroyed in reverse order).
struct OfflineStore {
  Config config;
  std::unique_ptr<PluginRegistry> plugins;
  std::shared_ptr<ObjectStore> store;
  std::unique_ptr<CodecFactory> codecs;
};

// Load the config and set up logging at its level, but never below warn, so the command's own
// report stays readable.
Status LoadOfflineConfig(const std::filesystem::path& config_file, OfflineStore* out);
// Then open the backend and load the configured codecs.
Status OpenOfflinePlugins(OfflineStore* out);

// The data directory's lock, taken without waiting. Released on destruction.
class DataDirLockGuard {
 public:
  DataDirLockGuard() = default;
  ~DataDirLockGuard();
  DataDirLockGuard(const DataDirLockGuard&) = delete;
  DataDirLockGuard& operator=(const DataDirLockGuard&) = delete;

  // Precondition (with the daemon's pid when it recorded one) while a daemon of this data dir
  // runs; another error when the lock file cannot be created.
  Status TryAcquire(const std::filesystem::path& data_dir);
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// True when something accepts connections on the control socket: a daemon of this config is
// up even if it was started with another data dir.
bool ControlSocketAnswers(const std::filesystem::path& socket);

}  // namespace bp::cli
