// PluginRegistry: config sections → live plugin instances (see plugin_registry.h). Each
// section's errors are prefixed with its file:line and table, so a user sees where in the
// config the failing plugin was named, followed by the plugin's own message.
#include "loader/plugin_registry.h"

#include "config/toml_reader.h"
#include "loader/backend_adapter.h"
#include "loader/codec_factory.h"
#include "loader/frontend_adapter.h"
#include "loader/plugin_catalog.h"
#include "pipeline/retrying_store.h"

namespace bp {
namespace {

std::string SectionWhere(const Config& config, const PluginSection& section) {
  return config_detail::Where(config.file, section.line) + ": [" + section.table + "]";
}

std::string UrlScheme(const std::string& url) {
  const size_t sep = url.find("://");
  return sep == std::string::npos ? std::string() : url.substr(0, sep);
}

}  // namespace

struct PluginRegistry::Impl {
  std::shared_ptr<PluginCatalog> catalog;

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

  std::shared_ptr<ObjectStore> raw;
  Status st = OpenPluginBackend(plugin, std::move(resolved), url, &raw);
  if (!st.ok()) return st.WithContext(where);
  RetryPolicy policy;
  policy.deadline = std::chrono::milliseconds(config.engine.retry_deadline_ms);
  *store = std::make_shared<RetryingStore>(std::move(raw), policy);
  return Status::Ok();
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
    if (!st.ok()) return st.WithContext(SectionWhere(config, section));
    opened.push_back(std::move(instance));
  }
  *out = std::move(opened);
  return Status::Ok();
}

}  // namespace bp
