// Plugin search and load cache (see plugin_catalog.h).
#include "loader/plugin_catalog.h"

#include <algorithm>
#include <set>

namespace bp {
namespace {

constexpr const char* kPrefix = "blockpipe-";
constexpr const char* kSuffix = ".so";

bool IsShortName(const std::string& name) {
  if (name.empty() || name.size() > BP_PLUGIN_NAME_MAX_LENGTH) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string ToLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

bool ParsePluginFileName(const std::string& file_name, uint32_t* kind, std::string* name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (file_name.size() <= prefix.size() + suffix.size() || file_name.rfind(prefix, 0) != 0 ||
      file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  const std::string middle =
      file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  for (uint32_t k : {BP_KIND_BACKEND, BP_KIND_CODEC, BP_KIND_FRONTEND, BP_KIND_FILTER}) {
    const std::string kind_prefix = KindName(k) + "-";
    if (middle.rfind(kind_prefix, 0) == 0 && middle.size() > kind_prefix.size()) {
      *kind = k;
      *name = middle.substr(kind_prefix.size());
      return true;
    }
  }
  return false;
}

std::string PluginFileName(uint32_t kind, const std::string& name) {
  return std::string(kPrefix) + KindName(kind) + "-" + name + kSuffix;
}

PluginCatalog::PluginCatalog(std::vector<std::filesystem::path> dirs) {
  for (auto& d : dirs) {
    auto normal = d.lexically_normal();
    if (std::find(dirs_.begin(), dirs_.end(), normal) == dirs_.end())
      dirs_.push_back(std::move(normal));
  }
}

std::string PluginCatalog::DirList() const {
  std::string out;
  for (const auto& d : dirs_) out += (out.empty() ? "" : ", ") + d.string();
  return out.empty() ? "(no directories)" : out;
}

Status PluginCatalog::LoadPath(const std::filesystem::path& path,
                               std::shared_ptr<LoadedPlugin>* out) {
  std::error_code ec;
  auto key = std::filesystem::weakly_canonical(path, ec);
  if (ec) key = path.lexically_normal();
  MutexLock lock(&mu_);
  auto it = loaded_.find(key);
  if (it != loaded_.end()) {
    *out = it->second;
    return Status::Ok();
  }
  std::shared_ptr<LoadedPlugin> plugin;
  BP_RETURN_IF_ERROR(LoadedPlugin::Load(path, &plugin));
  loaded_[key] = plugin;
  *out = std::move(plugin);
  return Status::Ok();
}

std::vector<PluginCatalog::FileEntry> PluginCatalog::ListFiles() const {
  std::vector<FileEntry> files;
  std::set<std::pair<uint32_t, std::string>> seen;
  for (const auto& dir : dirs_) {
    std::error_code ec;
    std::vector<std::filesystem::path> in_dir;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      in_dir.push_back(it->path());
    }
    std::sort(in_dir.begin(), in_dir.end());
    for (const auto& path : in_dir) {
      FileEntry e{path, 0, {}};
      if (!ParsePluginFileName(path.filename().string(), &e.kind, &e.name)) continue;
      if (!seen.emplace(e.kind, e.name).second) continue;  // shadowed by an earlier directory
      files.push_back(std::move(e));
    }
  }
  return files;
}

Status PluginCatalog::CheckKind(const LoadedPlugin& plugin, uint32_t kind) const {
  if (plugin.kind() == kind) return Status::Ok();
  return Status::Invalid(plugin.path().string() + ": is a " + KindName(plugin.kind()) +
                         " plugin (" + plugin.name() + "), not a " + KindName(kind) + " plugin");
}

Status PluginCatalog::FindByName(uint32_t kind, const std::string& name,
                                 std::shared_ptr<LoadedPlugin>* out) {
  const std::string file = PluginFileName(kind, name);
  if (IsShortName(name)) {
    for (const auto& dir : dirs_) {
      std::error_code ec;
      const auto path = dir / file;
      if (!std::filesystem::exists(path, ec)) continue;
      std::shared_ptr<LoadedPlugin> plugin;
      BP_RETURN_IF_ERROR(LoadPath(path, &plugin));
      BP_RETURN_IF_ERROR(CheckKind(*plugin, kind));
      *out = std::move(plugin);
      return Status::Ok();
    }
  }
  std::vector<std::string> available;
  for (const auto& e : ListFiles()) {
    if (e.kind == kind) available.push_back(e.name);
  }
  std::string list;
  for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
  return Status::NotFound("no plugin " + file + " was found in " + DirList() + " (available " +
                          KindName(kind) + "s: " + (list.empty() ? "none" : list) + ")");
}

Status PluginCatalog::Resolve(uint32_t kind, const std::string& plugin_value,
                              std::shared_ptr<LoadedPlugin>* out) {
  if (plugin_value.find('/') == std::string::npos) return FindByName(kind, plugin_value, out);
  std::shared_ptr<LoadedPlugin> plugin;
  BP_RETURN_IF_ERROR(LoadPath(plugin_value, &plugin));
  BP_RETURN_IF_ERROR(CheckKind(*plugin, kind));
  *out = std::move(plugin);
  return Status::Ok();
}

Status PluginCatalog::FindBackendForScheme(const std::string& scheme,
                                           std::shared_ptr<LoadedPlugin>* out) {
  const std::string wanted = ToLower(scheme);
  std::vector<std::string> served;
  size_t broken = 0;
  for (const auto& e : ListFiles()) {
    if (e.kind != BP_KIND_BACKEND) continue;
    std::shared_ptr<LoadedPlugin> plugin;
    if (!LoadPath(e.path, &plugin).ok() || plugin->kind() != BP_KIND_BACKEND) {
      ++broken;
      continue;
    }
    const auto& schemes = plugin->Describe().url_schemes;
    for (const auto& s : schemes) {
      if (ToLower(s) == wanted) {
        *out = std::move(plugin);
        return Status::Ok();
      }
      served.push_back(plugin->name() + " (" + s + "://)");
    }
  }
  std::string list;
  for (const auto& s : served) list += (list.empty() ? "" : ", ") + s;
  return Status::NotFound("no backend plugin serves url scheme `" + scheme + "` in " + DirList() +
                          " (found: " + (list.empty() ? "none" : list) + ")" +
                          (broken == 0
                               ? ""
                               : "; " + std::to_string(broken) +
                                     " backend file(s) failed to load, see `blockpipe plugins`"));
}

std::vector<PluginDescription> PluginCatalog::Discover() {
  std::vector<PluginDescription> found;
  for (const auto& e : ListFiles()) {
    std::shared_ptr<LoadedPlugin> plugin;
    Status st = LoadPath(e.path, &plugin);
    if (st.ok() && plugin->kind() != e.kind) {
      st = Status::Invalid("the file name says " + KindName(e.kind) + " but the plugin declares " +
                           KindName(plugin->kind()));
    }
    if (st.ok()) {
      found.push_back(plugin->Describe());
      continue;
    }
    PluginDescription d;
    d.path = e.path;
    d.kind = e.kind;
    d.name = e.name;
    d.load_error = st.message();
    found.push_back(std::move(d));
  }
  return found;
}

}  // namespace bp
