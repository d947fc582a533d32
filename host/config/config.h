// Config: the parsed blockpipe.toml. Loading resolves ${VAR} from the environment (an unset
// variable is an error naming it and its line), sizes like "10GiB", and paths relative to the
// config file. Host-owned sections ([host], [engine], [[volume]]) are validated here; plugin
// sections ([backend], [[filter]], [[codec]], [[frontend]]) keep their raw values with source lines and are
// validated against each plugin's declared key table by the loader (ValidatePluginSection).
// Every error message names the file, the line and the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <blockpipe/bp_common.h>

#include "engine/engine_options.h"
#include "util/status.h"

namespace bp {

// One raw value of a plugin section, after ${VAR} substitution.
struct RawValue {
  enum class Kind {
    kString,
    kInteger,
    kBoolean,
    kFloat,
    kStringArray,
    kOther
  } kind = Kind::kString;
  std::string text;                // string form (integers/bools rendered as text)
  std::vector<std::string> items;  // kStringArray
  int line = 0;                    // line in the config file
};

// A [backend], [[filter]], [[codec]] or [[frontend]] section.
struct PluginSection {
  std::string table;   // "backend", "filter[0]", "codec[1]", "frontend[0]" — for messages
  std::string plugin;  // value of `plugin` (short name or path to a .so); for the backend it
                       // may be empty, then the url scheme selects the plugin
  int line = 0;        // line of the section header
  std::map<std::string, RawValue> values;  // every key except `plugin`
};

struct VolumeSpec {
  std::string name;
  uint64_t size = 0;
  int line = 0;
};

struct HostSection {
  std::filesystem::path data_dir;                  // absolute
  std::filesystem::path control_socket;            // absolute; default <data_dir>/control.sock
  std::vector<std::filesystem::path> plugin_dirs;  // extra plugin search dirs, absolute
  std::string log_level = "info";                  // debug|info|warn|error
};

struct Config {
  std::filesystem::path file;  // absolute path of the config file
  std::filesystem::path dir;   // its directory
  HostSection host;
  EngineOptions engine;
  PluginSection backend;               // must contain `url`
  std::vector<PluginSection> filters;  // between the engine and the backend; [0] is outermost
  std::vector<PluginSection> codecs;   // chain order
  std::vector<PluginSection> frontends;
  std::vector<VolumeSpec> volumes;  // created at startup when missing
};

// Parse and validate the host-owned parts of a config file.
Status LoadConfig(const std::filesystem::path& file, Config* out);
// Same from text (file is used for messages and relative paths only).
Status ParseConfig(const std::string& text, const std::filesystem::path& file, Config* out);

// "10GiB", "512MiB", "4096", "1.5GiB" → bytes. Invalid on anything else.
Status ParseSize(const std::string& text, uint64_t* bytes);

// A plugin section checked against the plugin's declared keys: unknown keys, missing required
// keys and wrong types are refused ("FILE:LINE: [codec[0]] key `levle` is not a key of plugin
// zstd (known: level)"); defaults are filled in; PATH values are made absolute. The result is
// what bp_host_api's config_* services read.
struct ResolvedConfig {
  std::map<std::string, std::string> scalars;             // every declared key with a value
  std::map<std::string, std::vector<std::string>> lists;  // BP_CFG_LIST keys
  std::filesystem::path dir;                              // config file directory
};
Status ValidatePluginSection(const Config& config, const PluginSection& section,
                             const std::string& plugin_name, const bp_config_key* keys,
                             ResolvedConfig* out,
                             const std::vector<std::string>& implicit_keys = {});

// The commented default config `blockpipe init` writes. url/port/listen are parameters so init
// can take --url and --port; encrypt selects the encrypted chain (init --encrypt).
struct InitOptions {
  std::filesystem::path data_dir;  // absolute
  std::string url;                 // default file://<data_dir>/objects
  uint16_t port = 10809;
  std::string endpoint;          // for s3/azure URLs
  bool encrypt = false;          // chain zstd → encrypt, password from ${BLOCKPIPE_PASSWORD}
  std::string region;            // s3 only; empty: us-east-1 with an endpoint, else the env's
  std::string tls_psk;           // absolute path of a PSK file: the frontend then requires TLS-PSK
  bool journal = false;          // durability = "local": FLUSH waits for a journal under data_dir
  uint64_t disk_cache_size = 0;  // init --disk-cache: a [disk_cache] of this size (0: none)
};
std::string RenderDefaultConfig(const InitOptions& options);
// Refuses init options that cannot make a working config (an endpoint for a file:// URL, an
// s3:// URL without a bucket, --region for a non-s3 URL …) with a message naming the option.
Status CheckInitOptions(const InitOptions& options);

}  // namespace bp
