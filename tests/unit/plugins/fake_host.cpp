// The fake host of the plugin unit tests; see fake_host.h. The services do what the real host
// promises in bp_common.h (copying strings, per-thread errors, buf_reserve/commit semantics), no
// more, so a plugin that relies on anything else fails here.
#include "fake_host.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace plugintest {
namespace {

thread_local std::string g_last_error;

Buffer* AsBuffer(bp_buf* buf) { return reinterpret_cast<Buffer*>(buf); }
const FakeConfig* AsConfig(const bp_config* cfg) {
  return reinterpret_cast<const FakeConfig*>(cfg);
}

void Log(int, const char*, const char*) {}
void SetError(const char* message) { g_last_error = message != nullptr ? message : ""; }

const std::string* Lookup(const bp_config* cfg, const char* key) {
  const FakeConfig* config = AsConfig(cfg);
  auto it = config->values.find(key);
  return it == config->values.end() ? nullptr : &it->second;
}
int ConfigHas(const bp_config* cfg, const char* key) { return Lookup(cfg, key) != nullptr; }
const char* ConfigString(const bp_config* cfg, const char* key) {
  const std::string* value = Lookup(cfg, key);
  return value != nullptr ? value->c_str() : nullptr;
}
int64_t ConfigInt(const bp_config* cfg, const char* key) {
  const std::string* value = Lookup(cfg, key);
  return value != nullptr ? std::strtoll(value->c_str(), nullptr, 10) : 0;
}
int ConfigBool(const bp_config* cfg, const char* key) {
  const std::string* value = Lookup(cfg, key);
  return value != nullptr && *value == "true";
}
size_t ConfigListCount(const bp_config*, const char*) { return 0; }
const char* ConfigListItem(const bp_config*, const char*, size_t) { return nullptr; }
const char* ConfigDir(const bp_config* cfg) { return AsConfig(cfg)->dir.c_str(); }

void* BufReserve(bp_buf* buf, size_t n) {
  Buffer* b = AsBuffer(buf);
  try {
    if (b->storage.size() < b->size + n) b->storage.resize(b->size + n);
  } catch (...) {
    return nullptr;
  }
  return b->storage.data() + b->size;
}
void BufCommit(bp_buf* buf, size_t n) {
  Buffer* b = AsBuffer(buf);
  // Committing more than was reserved is a plugin bug the real host would turn into memory
  // corruption; make it loud here.
  if (b->size + n > b->storage.size()) std::abort();
  b->size += n;
}
int BufAppend(bp_buf* buf, const void* data, size_t n) {
  void* dest = BufReserve(buf, n);
  if (dest == nullptr) return BP_ERR_PERMANENT;
  if (n > 0) std::memcpy(dest, data, n);
  BufCommit(buf, n);
  return BP_OK;
}
int BufAppendInput(bp_buf* buf, const void* data, size_t n) {
  Buffer* b = AsBuffer(buf);
  b->input_appends++;
  b->input_bytes += n;
  return BufAppend(buf, data, n);
}
size_t BufSize(const bp_buf* buf) { return reinterpret_cast<const Buffer*>(buf)->size; }

int ListAdd(bp_list* list, const char* key, uint64_t size) {
  reinterpret_cast<ListSink*>(list)->entries.emplace_back(key, size);
  return BP_OK;
}
void ListSetNext(bp_list* list, const char* cursor) {
  auto* sink = reinterpret_cast<ListSink*>(list);
  sink->has_next = true;
  sink->next = cursor;
}
void MetricAdd(const char*, const char*, int64_t) {}

const bp_host_api kHost = {
    sizeof(bp_host_api),
    BP_ABI_MINOR,
    Log,
    SetError,
    ConfigHas,
    ConfigString,
    ConfigInt,
    ConfigBool,
    ConfigListCount,
    ConfigListItem,
    ConfigDir,
    BufReserve,
    BufCommit,
    BufAppend,
    BufSize,
    ListAdd,
    ListSetNext,
    MetricAdd,
    BufAppendInput,
};

}  // namespace

std::string PluginDir() {
  if (const char* env = std::getenv("BLOCKPIPE_TEST_PLUGIN_DIR")) return env;
  char exe[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : ".";
  return path.substr(0, path.rfind('/')) + "/../lib/blockpipe/plugins";
}

const bp_host_api* HostApi() { return &kHost; }

std::string TakeError() {
  std::string error = std::move(g_last_error);
  g_last_error.clear();
  return error;
}

LoadedPlugin::LoadedPlugin(const std::string& file_name) : path_(PluginDir() + "/" + file_name) {
  library_ = ::dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    ADD_FAILURE() << "cannot load " << path_ << ": " << ::dlerror();
    return;
  }
  auto entry = reinterpret_cast<bp_plugin_entry_fn>(::dlsym(library_, BP_ENTRY_SYMBOL));
  if (entry == nullptr) {
    ADD_FAILURE() << path_ << " has no " << BP_ENTRY_SYMBOL;
    return;
  }
  header_ = entry(&kHost);
  if (header_ == nullptr || header_->abi_major != BP_ABI_MAJOR) {
    ADD_FAILURE() << path_ << " returned no header or a different ABI major";
    header_ = nullptr;
  }
}

LoadedPlugin::~LoadedPlugin() {
  if (library_ != nullptr) ::dlclose(library_);
}

}  // namespace plugintest
