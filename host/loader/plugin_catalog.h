// PluginCatalog: where plugins are found and the cache of loaded ones. Plugin files are named
// blockpipe-<kind>-<name>.so and searched in order through the configured directories, then
// the default one; the first directory holding a name wins. A config `plugin` value with a '/'
// is a path instead. Each file is loaded at most once per catalog. Thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "loader/plugin_library.h"
#include "loader/plugin_registry.h"
#include "util/status.h"

namespace bp {

class PluginCatalog {
 public:
  explicit PluginCatalog(std::vector<std::filesystem::path> dirs);

  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  // "DIR1, DIR2" for messages.
  std::string DirList() const;

  // Load a plugin file (cached by path).
  Status LoadPath(const std::filesystem::path& path, std::shared_ptr<LoadedPlugin>* out)
      BP_EXCLUDES(mu_);
  // blockpipe-<kind>-<name>.so from the search dirs. NotFound: "no plugin
  // blockpipe-codec-foo.so was found in DIRS (available codecs: lz4, zstd)".
  Status FindByName(uint32_t kind, const std::string& name, std::shared_ptr<LoadedPlugin>* out);
  // A config `plugin` value (short name or path), checked to be of `kind`.
  Status Resolve(uint32_t kind, const std::string& plugin_value,
                 std::shared_ptr<LoadedPlugin>* out);
  // The first loadable backend whose url_schemes include `scheme`.
  Status FindBackendForScheme(const std::string& scheme, std::shared_ptr<LoadedPlugin>* out);

  // Every plugin file in search order (names shadowed by an earlier dir skipped), loaded to
  // describe it; files that fail to load are listed with load_error set.
  std::vector<PluginDescription> Discover();

 private:
  struct FileEntry {
    std::filesystem::path path;
    uint32_t kind;
    std::string name;
  };
  std::vector<FileEntry> ListFiles() const;
  Status CheckKind(const LoadedPlugin& plugin, uint32_t kind) const;

  std::vector<std::filesystem::path> dirs_;
  Mutex mu_;  // held while a file loads, so two callers never load the same file twice
  std::map<std::filesystem::path, std::shared_ptr<LoadedPlugin>> loaded_ BP_GUARDED_BY(mu_);
};

// "blockpipe-codec-lz4.so" → kind BP_KIND_CODEC, name "lz4". False for other file names.
bool ParsePluginFileName(const std::string& file_name, uint32_t* kind, std::string* name);
std::string PluginFileName(uint32_t kind, const std::string& name);

}  // namespace bp
