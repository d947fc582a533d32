// Implementation of the host services table (see host_services.h). These functions are called
// from plugin code through C function pointers, so each one is noexcept in spirit: failures
// become NULL / error codes, never exceptions.
#include "loader/host_services.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "util/log.h"
#include "util/metrics.h"

namespace bp {
namespace {

thread_local std::string t_plugin_error;

void SvcLog(int level, const char* plugin_name, const char* message) {
  try {
    PluginLog(level, plugin_name, message);
  } catch (...) {
  }
}

void SvcSetError(const char* message) {
  try {
    t_plugin_error = message != nullptr ? message : "";
  } catch (...) {
  }
}

const std::string* Scalar(const bp_config* cfg, const char* key) {
  if (cfg == nullptr || key == nullptr) return nullptr;
  auto it = cfg->resolved.scalars.find(key);
  return it == cfg->resolved.scalars.end() ? nullptr : &it->second;
}

const std::vector<std::string>* List(const bp_config* cfg, const char* key) {
  if (cfg == nullptr || key == nullptr) return nullptr;
  auto it = cfg->resolved.lists.find(key);
  return it == cfg->resolved.lists.end() ? nullptr : &it->second;
}

int SvcConfigHas(const bp_config* cfg, const char* key) {
  try {
    return Scalar(cfg, key) != nullptr || List(cfg, key) != nullptr;
  } catch (...) {
    return 0;
  }
}

const char* SvcConfigString(const bp_config* cfg, const char* key) {
  try {
    const std::string* s = Scalar(cfg, key);
    return s != nullptr ? s->c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

int64_t SvcConfigInt(const bp_config* cfg, const char* key) {
  try {
    const std::string* s = Scalar(cfg, key);
    if (s == nullptr || s->empty()) return 0;
    errno = 0;
    char* end = nullptr;
    // SIZE values are stored as unsigned byte counts; INT values as signed integers.
    if ((*s)[0] != '-') {
      const unsigned long long u = std::strtoull(s->c_str(), &end, 10);
      if (errno != 0 || *end != '\0') return 0;
      return u > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())
                 ? std::numeric_limits<int64_t>::max()
                 : static_cast<int64_t>(u);
    }
    const long long n = std::strtoll(s->c_str(), &end, 10);
    return (errno != 0 || *end != '\0') ? 0 : n;
  } catch (...) {
    return 0;
  }
}

int SvcConfigBool(const bp_config* cfg, const char* key) {
  try {
    const std::string* s = Scalar(cfg, key);
    return s != nullptr && *s == "true";
  } catch (...) {
    return 0;
  }
}

size_t SvcConfigListCount(const bp_config* cfg, const char* key) {
  try {
    const auto* l = List(cfg, key);
    return l != nullptr ? l->size() : 0;
  } catch (...) {
    return 0;
  }
}

const char* SvcConfigListItem(const bp_config* cfg, const char* key, size_t index) {
  try {
    const auto* l = List(cfg, key);
    return (l != nullptr && index < l->size()) ? (*l)[index].c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

const char* SvcConfigDir(const bp_config* cfg) {
  return cfg != nullptr ? cfg->dir.c_str() : nullptr;
}

// Make sure at least `need` bytes exist past the committed length; the vector grows
// geometrically, so repeated small reservations stay amortized O(1).
bool EnsureRoom(bp_buf* buf, size_t need) {
  if (need > std::numeric_limits<size_t>::max() - buf->length) return false;
  const size_t want = buf->length + need;
  if (buf->bytes->size() < want) buf->bytes->resize(want);
  return true;
}

void* SvcBufReserve(bp_buf* buf, size_t n) {
  if (buf == nullptr || buf->bytes == nullptr) return nullptr;
  try {
    if (!EnsureRoom(buf, n == 0 ? 1 : n)) return nullptr;
    return buf->bytes->data() + buf->length;
  } catch (...) {
    return nullptr;
  }
}

void SvcBufCommit(bp_buf* buf, size_t n) {
  if (buf == nullptr || buf->bytes == nullptr) return;
  // Never commit past what was reserved: the bytes beyond are not the plugin's.
  const size_t room = buf->bytes->size() - buf->length;
  buf->length += n < room ? n : room;
}

int SvcBufAppend(bp_buf* buf, const void* data, size_t n) {
  if (buf == nullptr || buf->bytes == nullptr || (data == nullptr && n != 0)) return BP_ERR_INVALID;
  try {
    if (n > std::numeric_limits<size_t>::max() - buf->length) return BP_ERR_PERMANENT;
    // Room already there (a reservation, or a reusing writer's tail) is overwritten; the rest
    // is appended by insert, which copies without zero-filling first as resize would: a
    // decoder's raw unit (64 KiB) is then written once, not cleared and then copied.
    const auto* p = static_cast<const uint8_t*>(data);
    const size_t room = std::min(n, buf->bytes->size() - buf->length);
    if (room != 0) std::memcpy(buf->bytes->data() + buf->length, p, room);
    if (n > room) buf->bytes->insert(buf->bytes->end(), p + room, p + n);
    buf->length += n;
    return BP_OK;
  } catch (...) {
    return BP_ERR_PERMANENT;
  }
}

int SvcBufAppendInput(bp_buf* buf, const void* data, size_t n) {
  if (buf == nullptr || buf->bytes == nullptr || (data == nullptr && n != 0)) return BP_ERR_INVALID;
  const auto* p = static_cast<const uint8_t*>(data);
  // Only the caller's own input, which it keeps unchanged, can be referenced; the pointer
  // comparisons are within that one array.
  const bool inside = buf->kept != nullptr && n != 0 && buf->input != nullptr && p >= buf->input &&
                      n <= buf->input_length &&
                      static_cast<size_t>(p - buf->input) <= buf->input_length - n;
  if (!inside) return SvcBufAppend(buf, data, n);
  try {
    // Like buf_append this ends any reservation: the kept bytes follow the committed ones.
    buf->kept->push_back(KeptInput{buf->length, ObjectPart{p, n}});
    buf->kept_length += n;
    return BP_OK;
  } catch (...) {
    return BP_ERR_PERMANENT;
  }
}

size_t SvcBufSize(const bp_buf* buf) { return buf != nullptr ? buf->length + buf->kept_length : 0; }

int SvcListAdd(bp_list* list, const char* key, uint64_t size) {
  if (list == nullptr || list->items == nullptr || key == nullptr) return BP_ERR_INVALID;
  try {
    list->items->push_back(ObjectInfo{key, size});
    return BP_OK;
  } catch (...) {
    return BP_ERR_PERMANENT;
  }
}

void SvcListSetNext(bp_list* list, const char* cursor) {
  if (list == nullptr) return;
  try {
    if (cursor == nullptr) {
      list->next.reset();
    } else {
      list->next = cursor;
    }
  } catch (...) {
  }
}

// Plugin names are free-form; metric names are not. "backend-file" → "backend_file".
std::string MetricPrefix(const char* plugin_name) {
  std::string out;
  for (const char* p = plugin_name; p != nullptr && *p != '\0'; ++p) {
    char c = *p;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out.empty() ? "plugin" : out;
}

void SvcMetricAdd(const char* plugin_name, const char* name, int64_t delta) {
  if (name == nullptr) return;
  try {
    if (!IsValidMetricName(name)) return;  // documented: [a-z0-9_]+
    Metrics::Global().Add(MetricPrefix(plugin_name) + "_" + name, delta);
  } catch (...) {
  }
}

const bp_host_api kHostApi = {
    sizeof(bp_host_api), BP_ABI_MINOR,   SvcLog,        SvcSetError,        SvcConfigHas,
    SvcConfigString,     SvcConfigInt,   SvcConfigBool, SvcConfigListCount, SvcConfigListItem,
    SvcConfigDir,        SvcBufReserve,  SvcBufCommit,  SvcBufAppend,       SvcBufSize,
    SvcListAdd,          SvcListSetNext, SvcMetricAdd,  SvcBufAppendInput,
};

}  // namespace

const bp_host_api* HostApi() { return &kHostApi; }

bp_config MakePluginConfig(ResolvedConfig resolved) {
  bp_config cfg;
  cfg.dir = resolved.dir.string();
  cfg.resolved = std::move(resolved);
  return cfg;
}

void ClearPluginError() { t_plugin_error.clear(); }

std::string TakePluginError() {
  std::string out = std::move(t_plugin_error);
  t_plugin_error.clear();
  return out;
}

void SetPluginError(const std::string& message) { t_plugin_error = message; }

Status PluginStatus(int code, const std::string& context) {
  std::string message = TakePluginError();
  if (code == BP_OK) return Status::Ok();
  if (code < BP_ERR_INVALID || code > BP_ERR_TRANSIENT) {
    return Status::Permanent(context + ": plugin returned unknown code " + std::to_string(code) +
                             (message.empty() ? "" : ": " + message));
  }
  const Status::Code c = static_cast<Status::Code>(code);
  if (message.empty()) return Status::FromCode(code, context + " failed (" + CodeName(c) + ")");
  return Status::FromCode(code, context + ": " + message);
}

}  // namespace bp
