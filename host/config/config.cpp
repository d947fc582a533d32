// LoadConfig / ParseConfig: blockpipe.toml → Config. Order of work: check the text is UTF-8 and
// not nested too deep (toml_text.h), parse (toml11 errors keep their file and line), expand
// ${VAR} everywhere, refuse unknown top-level tables, then read each host-owned table strictly
// (unknown keys, wrong types and out-of-range values are errors naming file, line and key) and
// keep plugin tables raw for the loader to validate against the plugin's own key table.
// Relative paths resolve against the config file's directory.
#include "config/config.h"

#include <sys/un.h>

#include <fstream>
#include <set>
#include <sstream>

#include "config/toml_reader.h"
#include "config/toml_text.h"
#include "engine/store_layout.h"
#include "util/log.h"

namespace bp {
namespace {

using config_detail::JoinNames;
using config_detail::LineOf;
using config_detail::MakeAbsolute;
using config_detail::TableReader;
using config_detail::TypeName;
using config_detail::Where;

const std::vector<std::string> kTopLevelTables = {"host",       "engine",   "backend", "filter",
                                                  "codec",      "frontend", "volume",  "journal",
                                                  "disk_cache", "gc"};
const std::vector<std::string> kHostKeys = {"data_dir", "control_socket", "plugin_dirs",
                                            "log_level"};
const std::vector<std::string> kEngineKeys = {
    "segment_size", "unit_size", "flush_interval_ms", "checkpoint_every_segments",
    "write_buffer_limit", "cache_memory", "io_threads", "retry_deadline_ms", "allow_unfenced",
    // The write side's durability and uploads (see ParseEngine's tail).
    "uploads_in_flight", "durability",
    // The read side: read-ahead and coalesced GETs.
    "read_ahead_max", "read_coalesce_max"};
const std::vector<std::string> kDiskCacheKeys = {"dir", "size"};
const std::vector<std::string> kJournalKeys = {"dir", "max_size"};
const std::vector<std::string> kGcKeys = {"enabled", "min_dead_ratio", "rate", "interval_ms"};
const std::vector<std::string> kVolumeKeys = {"name", "size"};

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

// toml11's what() is "[error] toml::parse_x: message\n --> file\n | snippet…"; keep the message
// and the snippet, drop the internal function name (the caller prefixes FILE:LINE).
std::string TomlMessage(const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));
  std::string rest = what.size() > first.size() ? what.substr(first.size()) : "";
  if (first.rfind("[error] ", 0) == 0) first.erase(0, 8);
  if (first.rfind("toml::", 0) == 0) {
    const size_t colon = first.find(": ");
    if (colon != std::string::npos) first.erase(0, colon + 2);
  }
  return first + rest;
}

RawValue ToRaw(const toml::value& v) {
  RawValue raw;
  raw.line = LineOf(v);
  if (v.is_string()) {
    raw.kind = RawValue::Kind::kString;
    raw.text = v.as_string().str;
  } else if (v.is_integer()) {
    raw.kind = RawValue::Kind::kInteger;
    raw.text = std::to_string(v.as_integer());
  } else if (v.is_boolean()) {
    raw.kind = RawValue::Kind::kBoolean;
    raw.text = v.as_boolean() ? "true" : "false";
  } else if (v.is_floating()) {
    raw.kind = RawValue::Kind::kFloat;
    std::ostringstream s;
    s << v.as_floating();
    raw.text = s.str();
  } else if (v.is_array()) {
    raw.kind = RawValue::Kind::kStringArray;
    for (const auto& item : v.as_array()) {
      if (!item.is_string()) {
        raw.kind = RawValue::Kind::kOther;
        raw.items.clear();
        raw.text = "array of " + TypeName(item);
        break;
      }
      raw.items.push_back(item.as_string().str);
    }
  } else {
    raw.kind = RawValue::Kind::kOther;
    raw.text = TypeName(v);
  }
  return raw;
}

// "scheme://…" with an RFC 3986 scheme.
bool HasUrlScheme(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return false;
  for (size_t i = 0; i < sep; ++i) {
    const char c = url[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool ok =
        alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(const toml::value& root, Config* cfg) : root_(root), cfg_(*cfg) {}

  Status Run() {
    BP_RETURN_IF_ERROR(CheckTopLevel());
    BP_RETURN_IF_ERROR(ParseHost());
    BP_RETURN_IF_ERROR(ParseEngine());
    BP_RETURN_IF_ERROR(ParseDiskCache());
    BP_RETURN_IF_ERROR(ParseJournal());
    BP_RETURN_IF_ERROR(ParseGc());
    BP_RETURN_IF_ERROR(ParseBackend());
    BP_RETURN_IF_ERROR(ParsePluginArray("filter", /*at_least_one=*/false, &cfg_.filters));
    BP_RETURN_IF_ERROR(ParsePluginArray("codec", /*at_least_one=*/false, &cfg_.codecs));
    BP_RETURN_IF_ERROR(ParsePluginArray("frontend", /*at_least_one=*/true, &cfg_.frontends));
    return ParseVolumes();
  }

 private:
  const toml::value* Top(const std::string& name) const {
    const auto& t = root_.as_table();
    auto it = t.find(name);
    return it == t.end() ? nullptr : &it->second;
  }

  Status ErrorAt(int line, const std::string& message) const {
    return Status::Invalid(Where(cfg_.file, line) + ": " + message);
  }

  Status CheckTopLevel() const {
    const std::string* first = nullptr;
    int first_line = 0;
    for (const auto& [key, value] : root_.as_table()) {
      bool known = false;
      for (const auto& k : kTopLevelTables) known |= (k == key);
      if (known) continue;
      const int line = LineOf(value);
      if (first == nullptr || line < first_line) {
        first = &key;
        first_line = line;
      }
    }
    if (first == nullptr) return Status::Ok();
    const bool is_table = Top(*first)->is_table() || Top(*first)->is_array();
    return ErrorAt(first_line, std::string("unknown ") + (is_table ? "table" : "top-level key") +
                                   " `" + *first +
                                   "` (known tables: " + JoinNames(kTopLevelTables) + ")");
  }

  // The single-table sections must be written [name].
  Status RequireTable(const std::string& name, const toml::value& v) const {
    if (v.is_table()) return Status::Ok();
    return ErrorAt(LineOf(v), "`" + name + "` must be a table written [" + name + "] (got " +
                                  TypeName(v) + ")");
  }

  Status ParseHost() {
    HostSection& host = cfg_.host;
    host.data_dir = cfg_.dir;
    const toml::value* table = Top("host");
    if (table != nullptr) {
      BP_RETURN_IF_ERROR(RequireTable("host", *table));
      TableReader r(cfg_.file, "host", *table);
      BP_RETURN_IF_ERROR(r.CheckKeys(kHostKeys));
      BP_RETURN_IF_ERROR(r.GetPath("data_dir", cfg_.dir, &host.data_dir));
      host.control_socket = host.data_dir / "control.sock";
      BP_RETURN_IF_ERROR(r.GetPath("control_socket", cfg_.dir, &host.control_socket));
      BP_RETURN_IF_ERROR(r.GetPathList("plugin_dirs", cfg_.dir, &host.plugin_dirs));
      BP_RETURN_IF_ERROR(r.GetString("log_level", &host.log_level));
      spdlog::level::level_enum level;
      if (Status st = ParseLogLevel(host.log_level, &level); !st.ok()) {
        return r.Error("log_level",
                       "must be one of debug, info, warn, error (got \"" + host.log_level + "\")");
      }
      if (host.control_socket.string().size() > kMaxSocketPath) {
        return r.Error(r.Has("control_socket") ? "control_socket" : "data_dir",
                       "gives a control socket path of " +
                           std::to_string(host.control_socket.string().size()) +
                           " bytes; Unix socket paths are limited to " +
                           std::to_string(kMaxSocketPath) + " (" + host.control_socket.string() +
                           ")");
      }
    } else {
      host.control_socket = host.data_dir / "control.sock";
      if (host.control_socket.string().size() > kMaxSocketPath) {
        return Status::Invalid(cfg_.file.string() + ": the default control socket " +
                               host.control_socket.string() + " is longer than the " +
                               std::to_string(kMaxSocketPath) +
                               " bytes a Unix socket path may have; set [host] control_socket");
      }
    }
    return Status::Ok();
  }

  Status ParseEngine() {
    const toml::value* table = Top("engine");
    if (table == nullptr) return Status::Ok();
    BP_RETURN_IF_ERROR(RequireTable("engine", *table));
    TableReader r(cfg_.file, "engine", *table);
    BP_RETURN_IF_ERROR(r.CheckKeys(kEngineKeys));
    EngineOptions& e = cfg_.engine;

    uint64_t unit_size = e.unit_size;
    BP_RETURN_IF_ERROR(r.GetSize("unit_size", &unit_size));
    const bool power_of_two = unit_size != 0 && (unit_size & (unit_size - 1)) == 0;
    if (!power_of_two || unit_size % 4096 != 0 || unit_size > kMiB) {
      return r.Error("unit_size",
                     "must be a power of two, a multiple of 4096 and at most 1MiB (got " +
                         std::to_string(unit_size) + ")");
    }
    e.unit_size = static_cast<uint32_t>(unit_size);

    BP_RETURN_IF_ERROR(r.GetSize("segment_size", &e.segment_size));
    if (e.segment_size < e.unit_size || e.segment_size > kGiB) {
      return r.Error("segment_size", "must be at least unit_size (" + std::to_string(e.unit_size) +
                                         ") and at most 1GiB (got " +
                                         std::to_string(e.segment_size) + ")");
    }
    BP_RETURN_IF_ERROR(r.GetSize("write_buffer_limit", &e.write_buffer_limit));
    if (e.write_buffer_limit < e.segment_size) {
      // Writers wait for buffer space, so a limit below one segment would stall them forever.
      if (!r.Has("write_buffer_limit")) {
        return r.Error("segment_size", "is larger than the default write_buffer_limit (" +
                                           std::to_string(e.write_buffer_limit) +
                                           "); raise write_buffer_limit too");
      }
      return r.Error("write_buffer_limit", "must be at least segment_size (" +
                                               std::to_string(e.segment_size) + "; got " +
                                               std::to_string(e.write_buffer_limit) + ")");
    }
    BP_RETURN_IF_ERROR(r.GetSize("cache_memory", &e.cache_memory));
    if (e.cache_memory < e.unit_size) {
      return r.Error("cache_memory", "must hold at least one unit (" + std::to_string(e.unit_size) +
                                         " bytes; got " + std::to_string(e.cache_memory) + ")");
    }

    int64_t n = e.flush_interval_ms;
    BP_RETURN_IF_ERROR(r.GetInt("flush_interval_ms", 1, 3600 * 1000, &n));
    e.flush_interval_ms = static_cast<uint32_t>(n);
    n = e.checkpoint_every_segments;
    BP_RETURN_IF_ERROR(r.GetInt("checkpoint_every_segments", 1, 1000000, &n));
    e.checkpoint_every_segments = static_cast<uint32_t>(n);
    n = e.io_threads;
    BP_RETURN_IF_ERROR(r.GetInt("io_threads", 1, 1024, &n));
    e.io_threads = static_cast<uint32_t>(n);
    n = e.retry_deadline_ms;
    BP_RETURN_IF_ERROR(r.GetInt("retry_deadline_ms", 0, 24 * 3600 * 1000, &n));
    e.retry_deadline_ms = static_cast<uint32_t>(n);
    BP_RETURN_IF_ERROR(r.GetSize("read_ahead_max", &e.read_ahead_max));
    if (e.read_ahead_max > kGiB) {
      return r.Error("read_ahead_max", "must be at most 1GiB (got " +
                                           std::to_string(e.read_ahead_max) + "; 0 turns it off)");
    }
    BP_RETURN_IF_ERROR(r.GetSize("read_coalesce_max", &e.read_coalesce_max));
    if (e.read_coalesce_max < e.unit_size || e.read_coalesce_max > 64 * kMiB) {
      return r.Error("read_coalesce_max",
                     "must be at least unit_size (" + std::to_string(e.unit_size) +
                         ") and at most 64MiB (got " + std::to_string(e.read_coalesce_max) + ")");
    }
    BP_RETURN_IF_ERROR(r.GetBool("allow_unfenced", &e.allow_unfenced));
    return ParseEngineWriteSide(r);
  }

  // [engine] uploads_in_flight and durability.
  Status ParseEngineWriteSide(const TableReader& r) {
    EngineOptions& e = cfg_.engine;
    int64_t n = e.uploads_in_flight;
    BP_RETURN_IF_ERROR(r.GetInt("uploads_in_flight", 1, 64, &n));
    e.uploads_in_flight = static_cast<uint32_t>(n);
    std::string durability = "store";
    BP_RETURN_IF_ERROR(r.GetString("durability", &durability));
    if (durability == "store") {
      e.durability = EngineOptions::Durability::kStore;
    } else if (durability == "local") {
      e.durability = EngineOptions::Durability::kLocal;
    } else {
      return r.Error("durability",
                     "must be \"store\" (a FLUSH waits for the object store) or \"local\" (a "
                     "FLUSH waits for the local journal; got \"" +
                         durability + "\")");
    }
    return Status::Ok();
  }

  // [journal]: where the local journal lives (default DATA_DIR/journal) and its bound.
  Status ParseJournal() {
    EngineOptions& e = cfg_.engine;
    e.journal_dir = (cfg_.host.data_dir / "journal").string();
    const toml::value* table = Top("journal");
    if (table == nullptr) return Status::Ok();
    BP_RETURN_IF_ERROR(RequireTable("journal", *table));
    TableReader r(cfg_.file, "journal", *table);
    BP_RETURN_IF_ERROR(r.CheckKeys(kJournalKeys));
    std::filesystem::path dir = e.journal_dir;
    BP_RETURN_IF_ERROR(r.GetPath("dir", cfg_.dir, &dir));
    e.journal_dir = dir.string();
    BP_RETURN_IF_ERROR(r.GetSize("max_size", &e.journal_max_size));
    if (e.journal_max_size < kMiB) {
      return r.Error("max_size",
                     "must be at least 1MiB (got " + std::to_string(e.journal_max_size) + ")");
    }
    return Status::Ok();
  }

  // [disk_cache]: stored units on a local disk (cache/disk_cache.h). Off unless size is set.
  Status ParseDiskCache() {
    EngineOptions& e = cfg_.engine;
    std::filesystem::path dir = cfg_.host.data_dir / "cache";
    const toml::value* table = Top("disk_cache");
    if (table != nullptr) {
      BP_RETURN_IF_ERROR(RequireTable("disk_cache", *table));
      TableReader r(cfg_.file, "disk_cache", *table);
      BP_RETURN_IF_ERROR(r.CheckKeys(kDiskCacheKeys));
      BP_RETURN_IF_ERROR(r.GetPath("dir", cfg_.dir, &dir));
      BP_RETURN_IF_ERROR(r.GetSize("size", &e.disk_cache_size));
      constexpr uint64_t kMinDiskCache = 64 * kMiB;  // DiskCache::kMinSize
      if (e.disk_cache_size != 0 && e.disk_cache_size < kMinDiskCache) {
        return r.Error("size", "must be 0 (no disk cache) or at least 64MiB (got " +
                                   std::to_string(e.disk_cache_size) + ")");
      }
    }
    e.disk_cache_dir = dir.string();
    return Status::Ok();
  }

  // [gc]: background garbage collection (engine/collector.h).
  Status ParseGc() {
    EngineOptions& e = cfg_.engine;
    const toml::value* table = Top("gc");
    if (table == nullptr) return Status::Ok();
    BP_RETURN_IF_ERROR(RequireTable("gc", *table));
    TableReader r(cfg_.file, "gc", *table);
    BP_RETURN_IF_ERROR(r.CheckKeys(kGcKeys));
    BP_RETURN_IF_ERROR(r.GetBool("enabled", &e.gc_enabled));
    // 0 would rewrite segments that are wholly live: nothing to gain, everything to write.
    BP_RETURN_IF_ERROR(r.GetDouble("min_dead_ratio", 0.01, 1.0, &e.gc_min_dead_ratio));
    BP_RETURN_IF_ERROR(r.GetSize("rate", &e.gc_rate));
    if (e.gc_rate < 64 * 1024) {
      return r.Error("rate", "must be at least 64KiB (bytes per second; got " +
                                 std::to_string(e.gc_rate) + ")");
    }
    int64_t n = e.gc_interval_ms;
    BP_RETURN_IF_ERROR(r.GetInt("interval_ms", 10, 3600 * 1000, &n));
    e.gc_interval_ms = static_cast<uint32_t>(n);
    return Status::Ok();
  }

  // Raw values of a plugin table; `plugin` is taken out (and made absolute when it is a path).
  Status ReadPluginTable(const std::string& name, const toml::value& table, PluginSection* out) {
    out->table = name;
    out->line = LineOf(table);
    for (const auto& [key, value] : table.as_table()) {
      if (key != "plugin") {
        out->values[key] = ToRaw(value);
        continue;
      }
      if (!value.is_string() || value.as_string().str.empty()) {
        return ErrorAt(LineOf(value),
                       "[" + name + "] key `plugin` must be a non-empty string, " +
                           "a plugin's short name or a path to its .so (got " +
                           (value.is_string() ? "an empty string" : TypeName(value)) + ")");
      }
      out->plugin = value.as_string().str;
      if (out->plugin.find('/') != std::string::npos) {
        out->plugin = MakeAbsolute(cfg_.dir, out->plugin).string();
      }
    }
    return Status::Ok();
  }

  Status ParseBackend() {
    const toml::value* table = Top("backend");
    if (table == nullptr) {
      return Status::Invalid(cfg_.file.string() +
                             ": a [backend] table is required, e.g.\n  [backend]\n  url = "
                             "\"file:///var/lib/blockpipe/objects\"");
    }
    BP_RETURN_IF_ERROR(RequireTable("backend", *table));
    BP_RETURN_IF_ERROR(ReadPluginTable("backend", *table, &cfg_.backend));
    auto url = cfg_.backend.values.find("url");
    if (url == cfg_.backend.values.end()) {
      return ErrorAt(cfg_.backend.line,
                     "[backend] key `url` is required: where objects live, e.g. "
                     "\"file:///var/lib/blockpipe/objects\" or \"s3://bucket/prefix\"");
    }
    RawValue& u = url->second;
    if (u.kind != RawValue::Kind::kString) {
      return ErrorAt(u.line, "[backend] key `url` must be a string (got " +
                                 TypeName(table->as_table().at("url")) + ")");
    }
    if (!HasUrlScheme(u.text)) {
      return ErrorAt(u.line,
                     "[backend] key `url` must look like scheme://location, e.g. "
                     "\"file:///var/lib/blockpipe/objects\" (got \"" +
                         u.text + "\")");
    }
    // file:// URLs follow the config's rule for paths: relative ones resolve against the
    // config file's directory ("file://./objects" or "file://objects").
    const std::string kFile = "file://";
    if (u.text.rfind(kFile, 0) == 0 && u.text.size() > kFile.size() &&
        u.text[kFile.size()] != '/') {
      u.text = kFile + MakeAbsolute(cfg_.dir, u.text.substr(kFile.size())).string();
    }
    return Status::Ok();
  }

  Status ParsePluginArray(const std::string& name, bool at_least_one,
                          std::vector<PluginSection>* out) {
    const toml::value* array = Top(name);
    if (array == nullptr) {
      if (!at_least_one) return Status::Ok();
      return Status::Invalid(cfg_.file.string() + ": at least one [[" + name +
                             "]] table is required, e.g.\n  [[" + name + "]]\n  plugin = \"nbd\"");
    }
    if (!array->is_array()) {
      return ErrorAt(LineOf(*array), "`" + name + "` must be written [[" + name +
                                         "]] (an array of tables; got " + TypeName(*array) + ")");
    }
    const auto& items = array->as_array();
    if (items.empty() && at_least_one) {
      return ErrorAt(LineOf(*array), "at least one [[" + name + "]] table is required");
    }
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string label = name + "[" + std::to_string(i) + "]";
      if (!items[i].is_table()) {
        return ErrorAt(LineOf(items[i]),
                       "[" + label + "] must be a table (got " + TypeName(items[i]) + ")");
      }
      PluginSection section;
      BP_RETURN_IF_ERROR(ReadPluginTable(label, items[i], &section));
      if (section.plugin.empty()) {
        return ErrorAt(section.line, "[" + label + "] key `plugin` is required: the " + name +
                                         " plugin's short name or a path to its .so");
      }
      out->push_back(std::move(section));
    }
    return Status::Ok();
  }

  Status ParseVolumes() {
    const toml::value* array = Top("volume");
    if (array == nullptr) return Status::Ok();
    if (!array->is_array()) {
      return ErrorAt(
          LineOf(*array),
          "`volume` must be written [[volume]] (an array of tables; got " + TypeName(*array) + ")");
    }
    std::map<std::string, int> seen;
    const auto& items = array->as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string label = "volume[" + std::to_string(i) + "]";
      if (!items[i].is_table()) {
        return ErrorAt(LineOf(items[i]), "[" + label + "] must be a table");
      }
      TableReader r(cfg_.file, label, items[i]);
      BP_RETURN_IF_ERROR(r.CheckKeys(kVolumeKeys));
      VolumeSpec spec;
      spec.line = r.line();
      if (!r.Has("name")) return ErrorAt(r.line(), "[" + label + "] key `name` is required");
      if (!r.Has("size"))
        return ErrorAt(r.line(), "[" + label + "] key `size` is required, e.g. size = \"1GiB\"");
      BP_RETURN_IF_ERROR(r.GetString("name", &spec.name));
      if (!IsValidVolumeName(spec.name)) {
        return r.Error("name", "\"" + spec.name +
                                   "\" is not a valid volume name (1-64 characters " +
                                   "of A-Z a-z 0-9 . _ -, not starting with . or -)");
      }
      auto [it, inserted] = seen.emplace(spec.name, r.Line("name"));
      if (!inserted) {
        return r.Error("name", "\"" + spec.name + "\" is already used by the volume at line " +
                                   std::to_string(it->second));
      }
      BP_RETURN_IF_ERROR(r.GetSize("size", &spec.size));
      if (spec.size == 0 || spec.size % 4096 != 0) {
        return r.Error("size", "must be a positive multiple of 4096 bytes (got " +
                                   std::to_string(spec.size) + ")");
      }
      cfg_.volumes.push_back(std::move(spec));
    }
    return Status::Ok();
  }

  const toml::value& root_;
  Config& cfg_;
};

}  // namespace

Status ParseConfig(const std::string& text, const std::filesystem::path& file, Config* out) {
  Config cfg;
  std::error_code ec;
  const auto cwd = std::filesystem::current_path(ec);
  cfg.file = MakeAbsolute(ec ? std::filesystem::path("/") : cwd, file);
  cfg.dir = cfg.file.parent_path();

  // Text toml11 cannot parse safely (not UTF-8, nested without bound) never reaches it.
  BP_RETURN_IF_ERROR(config_detail::CheckTomlText(text, cfg.file));
  toml::value root;
  try {
    std::istringstream in(text);
    root = toml::parse(in, cfg.file.string());
  } catch (const toml::exception& e) {
    return Status::Invalid(Where(cfg.file, static_cast<int>(e.location().line())) + ": " +
                           TomlMessage(e.what()));
  } catch (const std::exception& e) {
    return Status::Invalid(cfg.file.string() + ": " + TomlMessage(e.what()));
  }
  if (!root.is_table()) return Status::Invalid(cfg.file.string() + ": not a TOML document");

  BP_RETURN_IF_ERROR(config_detail::SubstituteEnvironment(&root, cfg.file));
  BP_RETURN_IF_ERROR(Parser(root, &cfg).Run());
  *out = std::move(cfg);
  return Status::Ok();
}

Status LoadConfig(const std::filesystem::path& file, Config* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status::Invalid("cannot read config file " + file.string() + ": " +
                           std::error_code(errno, std::generic_category()).message());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::Invalid("cannot read config file " + file.string());
  return ParseConfig(text.str(), file, out);
}

}  // namespace bp
