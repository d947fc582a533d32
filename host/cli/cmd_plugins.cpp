// `blockpipe plugins`: every plugin found in the search path — kind, ABI, thread model, what it
// serves (URL schemes, codec properties; filters are listed like any kind), config keys with types, defaults and help — and the
// capabilities of the configured backend, probed by opening it.
#include <iostream>

#include <blockpipe/blockpipe.h>

#include "cli/cli.h"
#include "config/config.h"
#include "loader/plugin_registry.h"

namespace bp::cli {
namespace {

const char* KindName(uint32_t kind) {
  switch (kind) {
    case BP_KIND_BACKEND: return "backend";
    case BP_KIND_CODEC: return "codec";
    case BP_KIND_FRONTEND: return "frontend";
    case BP_KIND_FILTER: return "filter";
  }
  return "unknown";
}

const char* ThreadModelName(uint32_t model) {
  switch (model) {
    case BP_THREAD_SERIALIZE_ALL: return "serialize-all";
    case BP_THREAD_SERIALIZE_HANDLE: return "serialize-handle";
    case BP_THREAD_PARALLEL: return "parallel";
  }
  return "unknown";
}

const char* TypeName(int type) {
  switch (type) {
    case BP_CFG_STRING: return "string";
    case BP_CFG_INT: return "integer";
    case BP_CFG_BOOL: return "boolean";
    case BP_CFG_SIZE: return "size";
    case BP_CFG_PATH: return "path";
    case BP_CFG_LIST: return "list of strings";
    case BP_CFG_SECRET: return "secret";
  }
  return "?";
}

std::string BackendCapabilities(uint64_t caps) {
  std::string out;
  auto add = [&](uint64_t bit, const char* name) {
    if (caps & bit) out += std::string(out.empty() ? "" : ", ") + name;
  };
  add(BP_BACKEND_CAP_RANGED_GET, "ranged-get");
  add(BP_BACKEND_CAP_PUT_IF_ABSENT, "put-if-absent");
  add(BP_BACKEND_CAP_DELETE_MANY, "delete-many");
  add(BP_BACKEND_CAP_LIST_PAGES, "list-pages");
  add(BP_BACKEND_CAP_DURABLE_PUT, "durable-put");
  add(BP_BACKEND_CAP_CONDITIONAL_PUT, "conditional-put");
  add(BP_BACKEND_CAP_LOCAL_READS, "local-reads");
  return out.empty() ? "(none)" : out;
}

std::string CodecFlags(uint32_t flags) {
  std::string out;
  if (flags & BP_CODEC_COMPRESSES) out += "compresses ";
  if (flags & BP_CODEC_ENCRYPTS) out += "encrypts ";
  if (flags & BP_CODEC_AUTHENTICATES) out += "authenticates ";
  if (out.empty()) return "transforms";
  out.pop_back();
  return out;
}

void PrintPlugin(const PluginDescription& p) {
  std::cout << KindName(p.kind) << " " << (p.name.empty() ? "?" : p.name) << "\n"
            << "  file:         " << p.path.string() << "\n";
  if (!p.load_error.empty()) {
    std::cout << "  NOT LOADABLE: " << p.load_error << "\n\n";
    return;
  }
  if (!p.description.empty()) std::cout << "  description:  " << p.description << "\n";
  if (!p.version.empty()) std::cout << "  version:      " << p.version << "\n";
  std::cout << "  ABI:          " << p.abi_major << "." << p.abi_minor << "\n"
            << "  threads:      " << ThreadModelName(p.thread_model) << "\n";
  if (p.kind == BP_KIND_BACKEND) {
    std::string schemes;
    for (const auto& s : p.url_schemes) schemes += (schemes.empty() ? "" : ", ") + s + "://";
    std::cout << "  url schemes:  " << schemes << "\n";
  }
  if (p.kind == BP_KIND_CODEC) std::cout << "  codec:        " << CodecFlags(p.codec_flags) << "\n";
  if (p.keys.empty()) {
    std::cout << "  config keys:  (none)\n";
  } else {
    std::cout << "  config keys:\n";
    for (const auto& k : p.keys) {
      std::cout << "    " << k.name << " (" << TypeName(k.type);
      if (k.required) std::cout << ", required";
      if (k.default_value) std::cout << ", default " << k.default_value;
      std::cout << ")";
      if (k.help) std::cout << "\n        " << k.help;
      std::cout << "\n";
    }
  }
  std::cout << "\n";
}

}  // namespace

void RegisterPlugins(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("plugins", "List plugins: kind, ABI, capabilities, config keys");
  auto config_flag = std::make_shared<std::string>();
  auto probe = std::make_shared<bool>(false);
  cmd->add_option("-c,--config", *config_flag,
                  "Config file (for extra plugin dirs and the backend to probe)");
  cmd->add_flag("--probe", *probe, "Open the configured backend and print its capabilities");
  cmd->callback([=] {
    Config config;
    std::vector<std::filesystem::path> dirs;
    const auto file = ResolveConfigPath(*config_flag);
    const bool have_config = std::filesystem::exists(file);
    if (have_config || !config_flag->empty()) {
      if (Status st = LoadConfig(file, &config); !st.ok()) {
        *exit_code = ReportError(st);
        return;
      }
      dirs = config.host.plugin_dirs;
    }
    PluginRegistry registry(dirs);
    auto found = registry.Discover();
    std::cout << "plugin directories:";
    for (const auto& d : dirs) std::cout << " " << d.string();
    std::cout << " " << PluginRegistry::DefaultPluginDir().string() << "\n\n";
    bool broken = false;
    for (const auto& p : found) {
      PrintPlugin(p);
      broken |= !p.load_error.empty();
    }
    if (found.empty()) std::cout << "no plugins found\n";
    if (*probe && have_config) {
      std::shared_ptr<ObjectStore> store;
      if (Status st = registry.OpenBackend(config, &store); !st.ok()) {
        *exit_code = ReportError(st);
        return;
      }
      std::cout << "configured backend " << store->Describe();
      if (!config.filters.empty()) {
        std::cout << " through filter" << (config.filters.size() > 1 ? "s " : " ");
        for (size_t i = 0; i < config.filters.size(); ++i)
          std::cout << (i == 0 ? "" : " > ") << config.filters[i].plugin;
      }
      std::cout << ": " << BackendCapabilities(store->Capabilities()) << "\n";
    }
    if (broken) *exit_code = 1;
  });
}

}  // namespace bp::cli
