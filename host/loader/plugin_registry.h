// PluginRegistry: finds plugin shared objects, loads them with boost::dll (RTLD_LOCAL), checks
// their ABI, and turns config sections into live instances through one adapter per kind:
//   backend  → ObjectStore        (loader/backend_adapter)
//   codec    → CodecFactory       (loader/codec_adapter)
//   frontend → FrontendInstance   (loader/frontend_adapter, serving a VolumeManager)
//   filter   → ObjectStore over the next layer (loader/filter_adapter), stacked on the backend
// Search order for a short name `x` of kind `k`: host.plugin_dirs from the config, then
// <dir of the blockpipe executable>/../lib/blockpipe/plugins; the file is blockpipe-<k>-<x>.so.
// A `plugin` value containing '/' is a path to a .so. Errors name the plugin path and, for ABI
// mismatches, both versions ("…/blockpipe-codec-foo.so: ABI major 2, this host needs 1").
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/blockpipe.h>

#include "config/config.h"
#include "engine/volume_manager.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

struct PluginDescription {
  std::filesystem::path path;
  uint32_t kind = 0;  // BP_KIND_*
  std::string name, version, description;
  uint32_t abi_major = 0, abi_minor = 0, thread_model = 0;
  std::vector<std::string> url_schemes;  // backends
  uint32_t codec_flags = 0;              // codecs
  std::vector<bp_config_key> keys;       // pointers valid while the registry lives
  std::string load_error;                // non-empty: could not be loaded (and why)
};

class FrontendInstance {
 public:
  virtual ~FrontendInstance() = default;
  virtual Status Start() = 0;
  virtual void Stop() = 0;  // drains; no volume calls after it returns
  virtual std::string name() const = 0;
};

class PluginRegistry {
 public:
  // search_dirs: config's host.plugin_dirs first; the default dir is appended automatically.
  explicit PluginRegistry(std::vector<std::filesystem::path> search_dirs);
  ~PluginRegistry();

  // Every plugin file found in the search dirs (loaded to read their headers).
  std::vector<PluginDescription> Discover();

  // Open the configured backend (plugin chosen by `plugin` or by the url scheme), then the
  // [[filter]] stack on it, the last filter listed nearest the backend. Probes capabilities;
  // wraps the top of the stack in a RetryingStore with the engine's retry deadline, so errors a
  // filter returns are retried like the backend's.
  Status OpenBackend(const Config& config, std::shared_ptr<ObjectStore>* store);

  // Open the config's [[filter]] stack over `below` (any ObjectStore) without retries: *top is
  // the outermost filter, or `below` itself when there are none. OpenBackend uses the same.
  Status OpenFilters(const Config& config, std::shared_ptr<ObjectStore> below,
                     std::shared_ptr<ObjectStore>* top);

  // Load every codec plugin named in the config and validate their sections; the factory
  // creates chains for new volumes from the configured [[codec]] list and opens recorded
  // chains by name (any codec plugin found in the search dirs, configured or not).
  Status OpenCodecs(const Config& config, std::unique_ptr<CodecFactory>* factory);

  // Open every [[frontend]] (binding its listeners) serving the given volumes.
  Status OpenFrontends(const Config& config, VolumeManager* volumes,
                       std::vector<std::unique_ptr<FrontendInstance>>* out);

  // The default directory (<exe dir>/../lib/blockpipe/plugins).
  static std::filesystem::path DefaultPluginDir();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp
