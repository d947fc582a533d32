// A minimal host for plugin unit tests: a bp_host_api table backed by plain C++ containers, and
// a loader that dlopen()s a built plugin .so (RTLD_LOCAL, like the real host) and calls its
// entry point with that table. The plugin can only reach what the table gives it, so these tests
// exercise exactly the ABI surface and nothing of the real host.
#pragma once

#include <blockpipe/blockpipe.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace plugintest {

// Directory holding the built plugins: $BLOCKPIPE_TEST_PLUGIN_DIR, else
// <dir of this test binary>/../lib/blockpipe/plugins (the build tree layout).
std::string PluginDir();

// The host table every loaded plugin receives.
const bp_host_api* HostApi();

// The message the plugin last passed to set_error on this thread (cleared by TakeError).
std::string TakeError();

// A growable output buffer, passed to plugins as a bp_buf*. `storage` may be longer than the
// committed `size` (reserved room the plugin has not committed).
class Buffer {
 public:
  bp_buf* get() { return reinterpret_cast<bp_buf*>(this); }
  std::vector<uint8_t> bytes() const {
    return std::vector<uint8_t>(storage.begin(), storage.begin() + static_cast<long>(size));
  }
  std::string text() const {
    return std::string(storage.begin(), storage.begin() + static_cast<long>(size));
  }
  std::vector<uint8_t> storage;
  size_t size = 0;
  // What went through buf_append_input (which this host serves by copying, as a host may).
  size_t input_appends = 0;
  size_t input_bytes = 0;
};

// A list sink, passed to plugins as a bp_list*.
class ListSink {
 public:
  bp_list* get() { return reinterpret_cast<bp_list*>(this); }
  std::vector<std::pair<std::string, uint64_t>> entries;
  bool has_next = false;
  std::string next;
};

// One instance's config, passed to plugins as a bp_config*. Values are the string forms the
// real host produces after validation ("true", "42", "/abs/path").
class FakeConfig {
 public:
  const bp_config* get() const { return reinterpret_cast<const bp_config*>(this); }
  std::map<std::string, std::string> values;
  std::string dir = "/";
};

// A dlopen()ed plugin. Fails the current test (ADD_FAILURE) if loading does not work.
class LoadedPlugin {
 public:
  explicit LoadedPlugin(const std::string& file_name);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const bp_plugin_header* header() const { return header_; }
  const bp_backend_plugin* backend() const {
    return reinterpret_cast<const bp_backend_plugin*>(header_);
  }
  const bp_codec_plugin* codec() const { return reinterpret_cast<const bp_codec_plugin*>(header_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* library_ = nullptr;
  const bp_plugin_header* header_ = nullptr;
};

}  // namespace plugintest
