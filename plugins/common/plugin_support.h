// What every backend plugin's ABI surface needs: report an error to the host, keep C++
// exceptions from crossing into it, and read typed values of its [backend] section. Header-only
// and built into each plugin's shared object (plugins export nothing but their entry point).
#pragma once

#include <blockpipe/bp_common.h>

#include <cstdint>
#include <exception>
#include <new>
#include <string>

namespace bpplugin {

// Hand `message` to the host for the error the current callback returns, and return `code`.
inline int SetError(int code, const std::string& message) {
  if (bp_host != nullptr && bp_host->set_error != nullptr) bp_host->set_error(message.c_str());
  return code;
}

// Run fn (returning a BP_* code) so that nothing it throws reaches the host: an escaping
// exception becomes BP_ERR_PERMANENT with a message starting with `who` ("s3 backend: ").
template <typename Fn>
int Guard(const char* who, const char* operation, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return SetError(BP_ERR_PERMANENT, std::string(who) + "out of memory in " + operation);
  } catch (const std::exception& e) {
    return SetError(BP_ERR_PERMANENT, std::string(who) + operation + ": " + e.what());
  } catch (...) {
    return SetError(BP_ERR_PERMANENT, std::string(who) + "unexpected error in " + operation);
  }
}

inline bool ConfigHas(const struct bp_config* config, const char* key) {
  return config != nullptr && bp_host->config_has(config, key) != 0;
}

// A string key, or "" when it is not set.
inline std::string ConfigString(const struct bp_config* config, const char* key) {
  if (!ConfigHas(config, key)) return std::string();
  const char* value = bp_host->config_string(config, key);
  return value != nullptr ? value : std::string();
}

inline bool ConfigBool(const struct bp_config* config, const char* key, bool fallback) {
  return ConfigHas(config, key) ? bp_host->config_bool(config, key) != 0 : fallback;
}

// An integer (or size) key within [low, high]. *out keeps its value when the key is not set;
// outside the range, false with *error naming the key, the range and the value.
inline bool ConfigIntInRange(const struct bp_config* config, const char* key, int64_t low,
                             int64_t high, int64_t* out, std::string* error) {
  if (!ConfigHas(config, key)) return true;
  const int64_t n = bp_host->config_int(config, key);
  if (n < low || n > high) {
    *error = std::string(key) + " must be between " + std::to_string(low) + " and " +
             std::to_string(high) + ", got " + std::to_string(n);
    return false;
  }
  *out = n;
  return true;
}

}  // namespace bpplugin
