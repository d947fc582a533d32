// PluginRegistry: config sections → live plugin instances (see plugin_registry.h). Each
// section's errors are prefixed with its file:line and table, so a user sees where in the
// config the failing plugin was named, followed by the plugin's own message.
#include "loader/plugin_registry.h"

#include <spdlog/spdlog.h>

#include "config/toml_reader.h"
#include "loader/backend_adapter.h"
#include "loader/codec_factory.h"
#include "loader/filter_adapter.h"
#include "loader/frontend_adapter.h"
#include "loader/plugin_catalog.h"
#include "pipeline/retrying_store.h"

namespace bp {
namespace {

std::string SectionWhere(const Config& config, const PluginSection& section) {
  return config_detail::Where(config.file, section.line) + ": [" + section.table + "]";
}

// Where a plugin's refusal of its own section points. Plugins name the key they refuse in
// backticks (docs/sdk.md, "Errors"); the host knows the lines, so the message is placed at the
// line of the first key of this section that it names, else at the section header.
std::string RefusalWhere(const Config& config, const PluginSection& section,
                         const std::string& message) {
  size_t first = std::string::npos;
  const std::pair<const std::string, RawValue>* named = nullptr;
  for (const auto& entry : section.values) {
    const size_t at = message.find("`" + entry.first + "`");
    if (at < first) {
      first = at;
      named = &entry;
    }
  }
  if (named == nullptr) return SectionWhere(config, section);
  return config_detail::Where(config.file, named->second.line) + ": [" + section.table + "] key `" +
         named->first + "`";
}

std::string UrlScheme(const std::string& url) {
  const size_t sep = url.find("://");
  return sep == std::string::npos ? std::string() : url.substr(0, sep);
}

}  // namespace

// A [[filter]] section loaded and validated, not yet opened.
struct PreparedFilter {
  std::shared_ptr<LoadedPlugin> plugin;
  ResolvedConfig config;
};

struct PluginRegistry::Impl {
  std::shared_ptr<PluginCatalog> catalog;

  Status PrepareFilters(const Config& config, std::vector<PreparedFilter>* out) {
    std::vector<PreparedFilter> filters(config.filters.size());
    for (size_t i = 0; i < config.filters.size(); ++i) {
      BP_RETURN_IF_ERROR(Prepare(config, config.filters[i], BP_KIND_FILTER, &filters[i].plugin,
                                 &filters[i].config));
      // A serialize-all filter's outer instance would hold the plugin-wide lock while its call
      // reaches the inner one, which then waits for the same lock forever.
      const uint32_t model = filters[i].plugin->thread_model();
      if (model == BP_THREAD_PARALLEL || model == BP_THREAD_SERIALIZE_HANDLE) continue;
      for (size_t j = 0; j < i; ++j) {
        if (filters[j].plugin != filters[i].plugin) continue;
        return Status::Invalid(SectionWhere(config, config.filters[i]) + " filter " +
                               filters[i].plugin->name() + " is already in the stack at [" +
                               config.filters[j].table +
                               "]; it declares the serialize-all thread model, which two "
                               "stacked instances cannot keep (the outer would wait for "
                               "itself): list it once");
      }
    }
    *out = std::move(filters);
    return Status::Ok();
  }

  // Open the filters on `below`, the last one listed first (it is nearest the backend).
  static Status StackFilters(const Config& config, std::vector<PreparedFilter> filters,
                             std::shared_ptr<ObjectStore> below,
                             std::shared_ptr<ObjectStore>* top) {
    for (size_t i = filters.size(); i-- > 0;) {
      std::shared_ptr<ObjectStore> filtered;
      Status st = OpenPluginFilter(filters[i].plugin, std::move(filters[i].config),
                                   std::move(below), &filtered);
      if (!st.ok()) return st.WithContext(RefusalWhere(config, config.filters[i], st.message()));
      below = std::move(filtered);
    }
    *top = std::move(below);
    return Status::Ok();
  }

  // Load the plugin a section names and validate the section against its keys.
  Status Prepare(const Config& config, const PluginSection& section, uint32_t kind,
                 std::shared_ptr<LoadedPlugin>* plugin, ResolvedConfig* resolved,
                 const std::vector<std::string>& implicit_keys = {}) {
    const std::string where = SectionWhere(config, section);
    Status st = catalog->Resolve(kind, section.plugin, plugin);
    if (!st.ok()) return st.WithContext(where + " plugin \"" + section.plugin + "\"");
    return ValidatePluginSection(config, section, (*plugin)->name(), (*plugin)->key_table(),
                                 resolved, implicit_keys);
  }
};

PluginRegistry::PluginRegistry(std::vector<std::filesystem::path> search_dirs) : impl_(new Impl) {
  search_dirs.push_back(DefaultPluginDir());
  impl_->catalog = std::make_shared<PluginCatalog>(std::move(search_dirs));
}

PluginRegistry::~PluginRegistry() = default;

std::filesystem::path PluginRegistry::DefaultPluginDir() {
  const auto exe_dir = ExecutableDir();
  if (exe_dir.empty()) return std::filesystem::path("/usr/local/lib/blockpipe/plugins");
  return (exe_dir / ".." / "lib" / "blockpipe" / "plugins").lexically_normal();
}

std::vector<PluginDescription> PluginRegistry::Discover() { return impl_->catalog->Discover(); }

Status PluginRegistry::OpenBackend(const Config& config, std::shared_ptr<ObjectStore>* store) {
  const PluginSection& section = config.backend;
  const std::string where = SectionWhere(config, section);
  auto url_it = section.values.find("url");
  if (url_it == section.values.end() || url_it->second.kind != RawValue::Kind::kString) {
    return Status::Invalid(where + " key `url` is required");
  }
  const std::string& url = url_it->second.text;

  std::shared_ptr<LoadedPlugin> plugin;
  ResolvedConfig resolved;
  if (section.plugin.empty()) {
    Status st = impl_->catalog->FindBackendForScheme(UrlScheme(url), &plugin);
    if (!st.ok()) return st.WithContext(where + " url " + RedactUrl(url));
    BP_RETURN_IF_ERROR(ValidatePluginSection(config, section, plugin->name(), plugin->key_table(),
                                             &resolved, {"url"}));
  } else {
    BP_RETURN_IF_ERROR(
        impl_->Prepare(config, section, BP_KIND_BACKEND, &plugin, &resolved, {"url"}));
  }

  // Every filter is loaded and validated before anything opens, so a mistake in the last
  // filter's section is reported before the backend is contacted.
  std::vector<PreparedFilter> filters;
  BP_RETURN_IF_ERROR(impl_->PrepareFilters(config, &filters));
  std::shared_ptr<ObjectStore> raw;
  Status st = OpenPluginBackend(plugin, std::move(resolved), url, &raw);
  if (!st.ok()) return st.WithContext(RefusalWhere(config, section, st.message()));
  const size_t filter_count = filters.size();
  BP_RETURN_IF_ERROR(Impl::StackFilters(config, std::move(filters), raw, &raw));
  if (filter_count != 0) {
    // A filter changes what every object call does; say so where operators look first.
    std::string stack;
    for (const auto& f : config.filters) stack += f.plugin + " > ";
    spdlog::info("object calls go through filter{} {}{}", filter_count > 1 ? "s" : "", stack,
                 raw->Describe());
  }
  RetryPolicy policy;
  policy.deadline = std::chrono::milliseconds(config.engine.retry_deadline_ms);
  *store = std::make_shared<RetryingStore>(std::move(raw), policy);
  return Status::Ok();
}

Status PluginRegistry::OpenFilters(const Config& config, std::shared_ptr<ObjectStore> below,
                                   std::shared_ptr<ObjectStore>* top) {
  std::vector<PreparedFilter> filters;
  BP_RETURN_IF_ERROR(impl_->PrepareFilters(config, &filters));
  return Impl::StackFilters(config, std::move(filters), std::move(below), top);
}

Status PluginRegistry::OpenCodecs(const Config& config, std::unique_ptr<CodecFactory>* factory) {
  std::vector<ConfiguredCodec> chain;
  for (const auto& section : config.codecs) {
    ConfiguredCodec c;
    ResolvedConfig resolved;
    BP_RETURN_IF_ERROR(impl_->Prepare(config, section, BP_KIND_CODEC, &c.plugin, &resolved));
    c.config = std::make_shared<const bp_config>(MakePluginConfig(std::move(resolved)));
    c.where = SectionWhere(config, section);
    chain.push_back(std::move(c));
  }
  BP_RETURN_IF_ERROR(CheckCodecOrder(chain));
  auto catalog = impl_->catalog;  // the factory may outlive this call; it shares the catalog
  CodecLookup lookup = [catalog](const std::string& name, std::shared_ptr<LoadedPlugin>* out) {
    return catalog->FindByName(BP_KIND_CODEC, name, out);
  };
  *factory = std::make_unique<PluginCodecFactory>(std::move(chain), std::move(lookup), config);
  return Status::Ok();
}

Status PluginRegistry::OpenFrontends(const Config& config, VolumeManager* volumes,
                                     std::vector<std::unique_ptr<FrontendInstance>>* out) {
  std::vector<std::unique_ptr<FrontendInstance>> opened;
  for (const auto& section : config.frontends) {
    std::shared_ptr<LoadedPlugin> plugin;
    ResolvedConfig resolved;
    BP_RETURN_IF_ERROR(impl_->Prepare(config, section, BP_KIND_FRONTEND, &plugin, &resolved));
    const std::string label = plugin->name() + " (" + section.table + ")";
    std::unique_ptr<FrontendInstance> instance;
    Status st = OpenPluginFrontend(plugin, std::move(resolved), volumes, label, &instance);
    if (!st.ok()) return st.WithContext(RefusalWhere(config, section, st.message()));
    opened.push_back(std::move(instance));
  }
  *out = std::move(opened);
  return Status::Ok();
}

}  // namespace bp
