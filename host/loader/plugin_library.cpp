// Loading and checking one plugin shared object (see plugin_library.h). The checks run in the
// order a user would want to read about them: cannot load at all, not a blockpipe plugin,
// built for another ABI major, malformed header, missing callbacks.
#define BOOST_DLL_USE_STD_FS
#include "loader/plugin_library.h"

#include <algorithm>
#include <cstring>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "loader/host_services.h"

namespace bp {
namespace {

// Static tables in a plugin end with a NULL entry; bounds guard against a missing terminator.
constexpr size_t kMaxSchemes = 64;
constexpr size_t kMaxKeys = 512;

// boost::dll's message is "boost::dll::shared_library::load() failed (dlerror system message:
// PATH: X): <errno text>"; users only need X (the caller already names the path).
std::string DlError(const std::string& what, const std::string& path) {
  const std::string marker = "dlerror system message: ";
  const size_t at = what.find(marker);
  if (at == std::string::npos) return what;
  const size_t start = at + marker.size();
  const size_t close = what.rfind(')');
  std::string msg = what.substr(
      start, close == std::string::npos || close < start ? std::string::npos : close - start);
  if (msg.rfind(path + ": ", 0) == 0) msg.erase(0, path.size() + 2);
  return msg;
}

template <typename T>
void CopyDeclared(const bp_plugin_header* header, T* out) {
  // The header is the first member of every plugin struct, so it addresses the whole struct.
  std::memset(out, 0, sizeof(T));
  std::memcpy(out, header, std::min<size_t>(header->struct_size, sizeof(T)));
}

}  // namespace

struct LoadedPlugin::Library {
  boost::dll::shared_library lib;
};

std::string KindName(uint32_t kind) {
  switch (kind) {
    case BP_KIND_BACKEND: return "backend";
    case BP_KIND_CODEC: return "codec";
    case BP_KIND_FRONTEND: return "frontend";
    case BP_KIND_FILTER: return "filter";
  }
  return "unknown kind " + std::to_string(kind);
}

std::filesystem::path ExecutableDir() {
  boost::dll::fs::error_code ec;
  auto exe = boost::dll::program_location(ec);
  if (ec) return {};
  return exe.parent_path();
}

LoadedPlugin::~LoadedPlugin() = default;

Status LoadedPlugin::Load(const std::filesystem::path& path, std::shared_ptr<LoadedPlugin>* out) {
  std::shared_ptr<LoadedPlugin> p(new LoadedPlugin());
  p->path_ = path;
  p->library_ = std::make_unique<Library>();
  const std::string where = path.string();

  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(where + ": no such plugin file");
  }
  try {
    // Not rtld_global: each plugin keeps its symbols to itself (RTLD_LOCAL), and rtld_now
    // reports unresolved symbols here rather than at the first call.
    p->library_->lib.load(path, boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {
    return Status::Invalid(where + ": cannot load: " + DlError(e.what(), where));
  }
  if (!p->library_->lib.has(BP_ENTRY_SYMBOL)) {
    return Status::Invalid(where + ": not a blockpipe plugin (no " BP_ENTRY_SYMBOL
                                   " symbol; plugins are declared with a BP_REGISTER_* macro)");
  }
  bp_plugin_entry_fn entry = nullptr;
  try {
    entry = &p->library_->lib.get<const bp_plugin_header*(const bp_host_api*)>(BP_ENTRY_SYMBOL);
  } catch (const std::exception& e) {
    return Status::Invalid(where + ": cannot resolve " BP_ENTRY_SYMBOL ": " +
                           DlError(e.what(), where));
  }
  const bp_plugin_header* header = entry(HostApi());
  if (header == nullptr) return Status::Invalid(where + ": " BP_ENTRY_SYMBOL " returned NULL");
  // The header layout is frozen across majors, so reading it is safe before the version check.
  p->header_ = *header;
  if (header->abi_major != BP_ABI_MAJOR) {
    return Status::Invalid(where + ": plugin ABI " + std::to_string(header->abi_major) + "." +
                           std::to_string(header->abi_minor) + ", this host supports " +
                           std::to_string(BP_ABI_MAJOR) + ".x");
  }
  if (header->struct_size < sizeof(bp_plugin_header)) {
    return Status::Invalid(where + ": plugin struct_size " + std::to_string(header->struct_size) +
                           " is smaller than its header");
  }
  switch (header->kind) {
    case BP_KIND_BACKEND: CopyDeclared(header, &p->backend_); break;
    case BP_KIND_CODEC: CopyDeclared(header, &p->codec_); break;
    case BP_KIND_FRONTEND: CopyDeclared(header, &p->frontend_); break;
    case BP_KIND_FILTER:
      // Filters exist since 1.6: a header claiming an older minor is a mislabelled plugin
      // whose struct cannot be trusted to have the 1.6 layout.
      if (header->abi_minor < 6) {
        return Status::Invalid(where + ": filter plugin built against ABI 1." +
                               std::to_string(header->abi_minor) +
                               "; filters exist since ABI 1.6 (rebuild it against this SDK)");
      }
      if (header->struct_size < offsetof(bp_filter_plugin, list) + sizeof(bp_filter_plugin::list)) {
        return Status::Invalid(where + ": filter plugin struct_size " +
                               std::to_string(header->struct_size) +
                               " is smaller than the ABI 1.6 layout");
      }
      CopyDeclared(header, &p->filter_);
      break;
    default:
      return Status::Invalid(where + ": plugin declares " + KindName(header->kind) +
                             " (expected backend, codec, frontend or filter)");
  }
  BP_RETURN_IF_ERROR(p->Check());
  *out = std::move(p);
  return Status::Ok();
}

Status LoadedPlugin::Check() {
  const std::string where = path_.string();
  if (header_.name == nullptr || header_.name[0] == '\0') {
    return Status::Invalid(where + ": plugin declares no name");
  }
  name_ = header_.name;
  if (name_.size() > BP_PLUGIN_NAME_MAX_LENGTH ||
      name_.find_first_of("/ \t\n") != std::string::npos) {
    return Status::Invalid(where + ": plugin name `" + name_ + "` is not a short name");
  }
  version_ = header_.version != nullptr ? header_.version : "";
  description_ = header_.description != nullptr ? header_.description : "";

  std::vector<const char*> missing;
  auto need = [&](const void* slot, const char* slot_name) {
    if (slot == nullptr) missing.push_back(slot_name);
  };
  const bp_config_key* keys = nullptr;
  switch (header_.kind) {
    case BP_KIND_BACKEND:
      need(reinterpret_cast<const void*>(backend_.open), "open");
      need(reinterpret_cast<const void*>(backend_.close), "close");
      need(reinterpret_cast<const void*>(backend_.get), "get");
      need(reinterpret_cast<const void*>(backend_.put), "put");
      need(reinterpret_cast<const void*>(backend_.del), "del");
      need(reinterpret_cast<const void*>(backend_.list), "list");
      keys = backend_.config_keys;
      for (size_t i = 0; backend_.url_schemes != nullptr && backend_.url_schemes[i] != nullptr;
           ++i) {
        if (i == kMaxSchemes)
          return Status::Invalid(where + ": url_schemes is not NULL-terminated");
        url_schemes_.emplace_back(backend_.url_schemes[i]);
      }
      break;
    case BP_KIND_CODEC:
      need(reinterpret_cast<const void*>(codec_.open), "open");
      need(reinterpret_cast<const void*>(codec_.close), "close");
      need(reinterpret_cast<const void*>(codec_.encode), "encode");
      need(reinterpret_cast<const void*>(codec_.decode), "decode");
      keys = codec_.config_keys;
      break;
    case BP_KIND_FRONTEND:
      need(reinterpret_cast<const void*>(frontend_.open), "open");
      need(reinterpret_cast<const void*>(frontend_.start), "start");
      need(reinterpret_cast<const void*>(frontend_.stop), "stop");
      need(reinterpret_cast<const void*>(frontend_.close), "close");
      keys = frontend_.config_keys;
      break;
    case BP_KIND_FILTER:
      need(reinterpret_cast<const void*>(filter_.open), "open");
      need(reinterpret_cast<const void*>(filter_.close), "close");
      keys = filter_.config_keys;
      break;
  }
  if (!missing.empty()) {
    std::string list;
    for (const char* m : missing) list += (list.empty() ? "" : ", ") + std::string(m);
    return Status::Invalid(where + ": " + KindName(header_.kind) + " plugin " + name_ +
                           " lacks required callback" + (missing.size() > 1 ? "s " : " ") + list +
                           " (struct_size " + std::to_string(header_.struct_size) + ")");
  }
  for (size_t i = 0; keys != nullptr && keys[i].name != nullptr; ++i) {
    if (i == kMaxKeys) return Status::Invalid(where + ": config_keys is not terminated by {NULL}");
    if (keys[i].type < BP_CFG_STRING || keys[i].type > BP_CFG_SECRET) {
      return Status::Invalid(where + ": config key `" + keys[i].name + "` has unknown type " +
                             std::to_string(keys[i].type));
    }
    keys_.push_back(keys[i]);
  }
  key_table_ = keys_;
  key_table_.push_back(bp_config_key{});
  return Status::Ok();
}

PluginDescription LoadedPlugin::Describe() const {
  PluginDescription d;
  d.path = path_;
  d.kind = header_.kind;
  d.name = name_;
  d.version = version_;
  d.description = description_;
  d.abi_major = header_.abi_major;
  d.abi_minor = header_.abi_minor;
  d.thread_model = header_.thread_model;
  d.url_schemes = url_schemes_;
  d.codec_flags = header_.kind == BP_KIND_CODEC ? codec_.flags : 0;
  d.keys = keys_;
  return d;
}

}  // namespace bp
