// ValidatePluginSection: a [backend], [[filter]], [[codec]] or [[frontend]] table checked against
// the key table its plugin declares (bp_config_key). The result, ResolvedConfig, holds every declared key
// that has a value (given or default) in string form, which is what the host services'
// config_* functions hand to the plugin. SECRET values never appear in messages.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "config/config.h"
#include "config/toml_reader.h"

namespace bp {
namespace {

using config_detail::JoinNames;
using config_detail::MakeAbsolute;
using config_detail::Where;

// A plugin's key table ends at a NULL name; the bound protects against a missing terminator.
constexpr size_t kMaxPluginKeys = 512;

const char* RawKindName(const RawValue& v) {
  switch (v.kind) {
    case RawValue::Kind::kString: return "string";
    case RawValue::Kind::kInteger: return "integer";
    case RawValue::Kind::kBoolean: return "boolean";
    case RawValue::Kind::kFloat: return "float";
    case RawValue::Kind::kStringArray: return "array of strings";
    case RawValue::Kind::kOther: return v.text.c_str();
  }
  return "value";
}

const char* ExpectedType(int type) {
  switch (type) {
    case BP_CFG_STRING: return "a string";
    case BP_CFG_SECRET: return "a string";
    case BP_CFG_INT: return "an integer";
    case BP_CFG_BOOL: return "a boolean (true or false)";
    case BP_CFG_SIZE: return "a size like \"64MiB\" or an integer";
    case BP_CFG_PATH: return "a path string";
    case BP_CFG_LIST: return "an array of strings";
  }
  return "a value of an unknown type";
}

bool ParseInt64(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = n;
  return true;
}

// Default values are strings declared by the plugin; a LIST default is comma-separated.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

class SectionValidator {
 public:
  SectionValidator(const Config& config, const PluginSection& section, const std::string& plugin,
                   ResolvedConfig* out)
      : config_(config), section_(section), plugin_(plugin), out_(*out) {}

  Status KeyError(int line, const std::string& key, const std::string& message) const {
    return Status::Invalid(Where(config_.file, line) + ": [" + section_.table + "] key `" + key +
                           "` " + message);
  }

  // A value the user wrote.
  Status Accept(const bp_config_key& key, const RawValue& v) {
    const std::string name = key.name;
    auto wrong = [&] {
      return KeyError(
          v.line, name,
          std::string("must be ") + ExpectedType(key.type) + " (got " + RawKindName(v) + ")");
    };
    switch (key.type) {
      case BP_CFG_STRING:
      case BP_CFG_SECRET:
        if (v.kind != RawValue::Kind::kString) return wrong();
        out_.scalars[name] = v.text;
        return Status::Ok();
      case BP_CFG_PATH:
        if (v.kind != RawValue::Kind::kString) return wrong();
        if (v.text.empty()) return KeyError(v.line, name, "must not be empty");
        out_.scalars[name] = MakeAbsolute(config_.dir, v.text).string();
        return Status::Ok();
      case BP_CFG_INT:
        if (v.kind != RawValue::Kind::kInteger) return wrong();
        out_.scalars[name] = v.text;
        return Status::Ok();
      case BP_CFG_BOOL:
        if (v.kind != RawValue::Kind::kBoolean) return wrong();
        out_.scalars[name] = v.text;
        return Status::Ok();
      case BP_CFG_SIZE: {
        if (v.kind == RawValue::Kind::kInteger) {
          if (!v.text.empty() && v.text[0] == '-')
            return KeyError(v.line, name, "must not be negative");
          out_.scalars[name] = v.text;
          return Status::Ok();
        }
        if (v.kind != RawValue::Kind::kString) return wrong();
        uint64_t bytes = 0;
        if (Status st = ParseSize(v.text, &bytes); !st.ok()) {
          return KeyError(v.line, name, "must be a size like \"64MiB\": " + st.message());
        }
        out_.scalars[name] = std::to_string(bytes);
        return Status::Ok();
      }
      case BP_CFG_LIST:
        if (v.kind != RawValue::Kind::kStringArray) return wrong();
        out_.lists[name] = v.items;
        return Status::Ok();
    }
    return PluginBug(name, "declares an unknown type " + std::to_string(key.type));
  }

  // The plugin's declared default (string form) for a key the user left out.
  Status ApplyDefault(const bp_config_key& key) {
    const std::string name = key.name;
    const std::string text = key.default_value;
    switch (key.type) {
      case BP_CFG_STRING:
      case BP_CFG_SECRET: out_.scalars[name] = text; return Status::Ok();
      case BP_CFG_PATH:
        out_.scalars[name] = text.empty() ? text : MakeAbsolute(config_.dir, text).string();
        return Status::Ok();
      case BP_CFG_INT: {
        int64_t n = 0;
        if (!ParseInt64(text, &n)) return PluginBug(name, "has a default that is not an integer");
        out_.scalars[name] = std::to_string(n);
        return Status::Ok();
      }
      case BP_CFG_BOOL:
        if (text != "true" && text != "false")
          return PluginBug(name, "has a default that is not true/false");
        out_.scalars[name] = text;
        return Status::Ok();
      case BP_CFG_SIZE: {
        uint64_t bytes = 0;
        if (!ParseSize(text, &bytes).ok())
          return PluginBug(name, "has a default that is not a size");
        out_.scalars[name] = std::to_string(bytes);
        return Status::Ok();
      }
      case BP_CFG_LIST: out_.lists[name] = SplitList(text); return Status::Ok();
    }
    return PluginBug(name, "declares an unknown type " + std::to_string(key.type));
  }

  Status PluginBug(const std::string& key, const std::string& what) const {
    return Status::Invalid("plugin " + plugin_ + " is broken: its config key `" + key + "` " +
                           what);
  }

 private:
  const Config& config_;
  const PluginSection& section_;
  const std::string& plugin_;
  ResolvedConfig& out_;
};

}  // namespace

Status ValidatePluginSection(const Config& config, const PluginSection& section,
                             const std::string& plugin_name, const bp_config_key* keys,
                             ResolvedConfig* out, const std::vector<std::string>& implicit_keys) {
  ResolvedConfig resolved;
  resolved.dir = config.dir;
  SectionValidator validator(config, section, plugin_name, &resolved);

  std::vector<const bp_config_key*> declared;
  for (size_t i = 0; keys != nullptr && keys[i].name != nullptr; ++i) {
    if (i == kMaxPluginKeys) {
      return validator.PluginBug(keys[i].name, "is past the limit of " +
                                                   std::to_string(kMaxPluginKeys) +
                                                   " keys (is the table terminated by {NULL}?)");
    }
    declared.push_back(&keys[i]);
  }
  auto find_key = [&](const std::string& name) -> const bp_config_key* {
    for (const auto* k : declared) {
      if (name == k->name) return k;
    }
    return nullptr;
  };

  // Unknown keys first, in file order, so the message points at the earliest mistake.
  std::vector<std::pair<int, std::string>> given;
  for (const auto& [name, value] : section.values) given.emplace_back(value.line, name);
  std::sort(given.begin(), given.end());
  for (const auto& [line, name] : given) {
    const bool implicit =
        std::find(implicit_keys.begin(), implicit_keys.end(), name) != implicit_keys.end();
    if (implicit || find_key(name) != nullptr) continue;
    std::vector<std::string> known = implicit_keys;
    for (const auto* k : declared) known.push_back(k->name);
    const std::string list =
        known.empty() ? "it takes no keys besides `plugin`" : "known: " + JoinNames(known);
    return validator.KeyError(line, name,
                              "is not a key of plugin " + plugin_name + " (" + list + ")");
  }

  for (const auto& [line, name] : given) {
    const RawValue& value = section.values.at(name);
    if (const bp_config_key* key = find_key(name)) {
      BP_RETURN_IF_ERROR(validator.Accept(*key, value));
    } else if (value.kind == RawValue::Kind::kString) {
      resolved.scalars[name] = value.text;  // an implicit key such as the backend's url
    }
  }

  for (const auto* key : declared) {
    const std::string name = key->name;
    if (resolved.scalars.count(name) != 0 || resolved.lists.count(name) != 0) continue;
    if (key->required) {
      std::string help = key->help != nullptr ? std::string(": ") + key->help : "";
      return Status::Invalid(Where(config.file, section.line) + ": [" + section.table +
                             "] plugin " + plugin_name + " requires key `" + name + "` (" +
                             ExpectedType(key->type) + ")" + help);
    }
    if (key->default_value != nullptr) BP_RETURN_IF_ERROR(validator.ApplyDefault(*key));
  }
  *out = std::move(resolved);
  return Status::Ok();
}

}  // namespace bp
