// LoadedPlugin: one plugin shared object, loaded with boost::dll (RTLD_LOCAL) and checked:
// the single entry symbol exists, the ABI major matches, the header is sane, and the kind's
// required callbacks are present. The plugin struct is copied into a zeroed host-side struct of
// today's size, min(struct_size, sizeof) bytes, so an older plugin's missing trailing slots
// read as NULL. Instances (adapters) hold a shared_ptr, which keeps the code mapped until the
// last instance is closed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/blockpipe.h>
#include <blockpipe/bp_thread_safety.h>

#include "loader/plugin_registry.h"
#include "util/status.h"

namespace bp {

// "backend", "codec", "frontend", "filter" (or "unknown kind N").
std::string KindName(uint32_t kind);

class LoadedPlugin {
 public:
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  // Load and check `path`. Errors name the path: "<path>: plugin ABI 2.0, this host supports 1.x".
  static Status Load(const std::filesystem::path& path, std::shared_ptr<LoadedPlugin>* out);

  const std::filesystem::path& path() const { return path_; }
  uint32_t kind() const { return header_.kind; }
  const std::string& name() const { return name_; }
  uint32_t thread_model() const { return header_.thread_model; }
  // The ABI minor the plugin was built against (BP_ABI_MINOR of its headers).
  uint32_t abi_minor() const { return header_.abi_minor; }
  // The struct size the plugin declared (may be smaller or larger than the host's).
  uint32_t declared_size() const { return header_.struct_size; }

  // The host-side copies; only the one matching kind() is filled.
  const bp_backend_plugin& backend() const { return backend_; }
  const bp_codec_plugin& codec() const { return codec_; }
  const bp_frontend_plugin& frontend() const { return frontend_; }
  const bp_filter_plugin& filter() const { return filter_; }
  // The declared config keys (pointers into the plugin, valid while it is loaded).
  const std::vector<bp_config_key>& keys() const { return keys_; }
  // The same keys as a {NULL}-terminated table, for ValidatePluginSection.
  const bp_config_key* key_table() const { return key_table_.data(); }
  // For `blockpipe plugins` and discovery.
  PluginDescription Describe() const;

  // The lock serializing every call into a SERIALIZE_ALL plugin.
  Mutex& plugin_mutex() { return plugin_mutex_; }

 private:
  struct Library;
  LoadedPlugin() = default;
  Status Check();

  std::filesystem::path path_;
  std::unique_ptr<Library> library_;
  bp_plugin_header header_{};
  std::string name_, version_, description_;
  bp_backend_plugin backend_{};
  bp_codec_plugin codec_{};
  bp_frontend_plugin frontend_{};
  bp_filter_plugin filter_{};
  std::vector<std::string> url_schemes_;
  std::vector<bp_config_key> keys_;
  std::vector<bp_config_key> key_table_ = {bp_config_key{}};
  Mutex plugin_mutex_;
};

}  // namespace bp

namespace bp {
// Directory of the running executable (for the default plugin dir).
std::filesystem::path ExecutableDir();
}  // namespace bp
