// nbd_host_harness: a stand-in host for testing frontend plugins with real NBD clients. It
// dlopen()s a frontend .so (RTLD_LOCAL, as the daemon does), hands it a host-services table and
// a RAM-backed volume API, and serves until SIGTERM/SIGINT. Not part of the product.
//
//   nbd_host_harness --plugin PATH [--set KEY=VALUE]... [--volume NAME:SIZE[:ro]]...
//                    [--delay-us N] [--pidfile PATH] [--config-dir DIR]
//
// --set fills the plugin's declared config keys (LIST values are comma-separated; repeating a
// LIST key appends); unknown keys and bad types are refused like the daemon refuses them.
// Default volumes: "default" (64 MiB) and "other" (1 MiB). --delay-us completes every request
// on a separate thread after a random delay of up to N microseconds, so replies really do come
// back out of order; without it requests complete inline inside submit().
//
// It also checks the frontend contract and exits 1 if it is broken: every volume reference
// must be closed by stop(), no volume call may happen after stop() returns, and done must be
// called exactly once per submitted request.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <blockpipe/bp_frontend.h>

namespace {

// ---- host services -----------------------------------------------------------------------

std::mutex g_log_mutex;
thread_local std::string g_last_error;
std::atomic<bool> g_stopped{false};
std::atomic<int> g_contract_violations{0};

void Violation(const std::string& what) {
  ++g_contract_violations;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::fprintf(stderr, "harness: CONTRACT VIOLATION: %s\n", what.c_str());
}

void HostLog(int level, const char* plugin, const char* message) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  const char* name = (level >= 0 && level <= 3) ? names[level] : "?";
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::fprintf(stderr, "[%s] %s: %s\n", name, plugin ? plugin : "?", message ? message : "");
}

void HostSetError(const char* message) { g_last_error = message ? message : ""; }

struct HarnessConfig {
  std::map<std::string, std::string> scalars;
  std::map<std::string, std::vector<std::string>> lists;
  std::string dir;
};

bool ParseSize(const std::string& text, uint64_t* out) {
  size_t pos = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &pos);
  } catch (...) {
    return false;
  }
  std::string suffix = text.substr(pos);
  uint64_t mult = 1;
  if (suffix == "KiB") mult = 1ull << 10;
  else if (suffix == "MiB") mult = 1ull << 20;
  else if (suffix == "GiB") mult = 1ull << 30;
  else if (!suffix.empty()) return false;
  *out = value * mult;
  return true;
}

int HostConfigHas(const bp_config* cfg, const char* key) {
  auto* c = reinterpret_cast<const HarnessConfig*>(cfg);
  return c->scalars.count(key) || c->lists.count(key);
}
const char* HostConfigString(const bp_config* cfg, const char* key) {
  auto* c = reinterpret_cast<const HarnessConfig*>(cfg);
  auto it = c->scalars.find(key);
  return it == c->scalars.end() ? nullptr : it->second.c_str();
}
int64_t HostConfigInt(const bp_config* cfg, const char* key) {
  const char* s = HostConfigString(cfg, key);
  uint64_t v = 0;
  if (!s) return 0;
  if (ParseSize(s, &v)) return static_cast<int64_t>(v);
  return std::strtoll(s, nullptr, 10);
}
int HostConfigBool(const bp_config* cfg, const char* key) {
  const char* s = HostConfigString(cfg, key);
  return s && (std::strcmp(s, "true") == 0 || std::strcmp(s, "1") == 0);
}
size_t HostConfigListCount(const bp_config* cfg, const char* key) {
  auto* c = reinterpret_cast<const HarnessConfig*>(cfg);
  auto it = c->lists.find(key);
  return it == c->lists.end() ? 0 : it->second.size();
}
const char* HostConfigListItem(const bp_config* cfg, const char* key, size_t index) {
  auto* c = reinterpret_cast<const HarnessConfig*>(cfg);
  auto it = c->lists.find(key);
  if (it == c->lists.end() || index >= it->second.size()) return nullptr;
  return it->second[index].c_str();
}
const char* HostConfigDir(const bp_config* cfg) {
  return reinterpret_cast<const HarnessConfig*>(cfg)->dir.c_str();
}

std::mutex g_metrics_mutex;
std::map<std::string, int64_t> g_metrics;
void HostMetricAdd(const char* plugin, const char* name, int64_t delta) {
  std::lock_guard<std::mutex> lock(g_metrics_mutex);
  g_metrics[std::string(plugin) + "_" + name] += delta;
}

// ---- RAM volumes ---------------------------------------------------------------------------

struct RamVolume {
  std::string name;
  uint64_t size = 0;
  bool read_only = false;
  std::vector<uint8_t> data;
  std::mutex mutex;
  std::atomic<int> references{0};
};

}  // namespace

struct bp_volume {
  RamVolume* volume;
  bool read_only;
};

namespace {

std::vector<std::unique_ptr<RamVolume>> g_volumes;
std::atomic<int64_t> g_outstanding{0};  // submitted, done not yet called

// Completes requests after a random delay on its own thread, so that later requests overtake
// earlier ones and done runs off the frontend's threads.
class Delayer {
 public:
  explicit Delayer(uint32_t max_delay_us) : max_delay_us_(max_delay_us), rng_(12345) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Delayer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(bp_volume* v, bp_io* io) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto due =
        std::chrono::steady_clock::now() +
        std::chrono::microseconds(std::uniform_int_distribution<uint32_t>(0, max_delay_us_)(rng_));
    queue_.emplace(due, std::make_pair(v, io));
    cv_.notify_all();
  }

 private:
  void Run();
  uint32_t max_delay_us_;
  std::mt19937 rng_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::pair<bp_volume*, bp_io*>> queue_;
  bool quit_ = false;
  std::thread thread_;
};

std::unique_ptr<Delayer> g_delayer;

bool InRange(const RamVolume* v, const bp_io* io) {
  return io->offset <= v->size && io->length <= v->size - io->offset;
}

int Execute(bp_volume* ref, bp_io* io) {
  RamVolume* v = ref->volume;
  bool writes =
      io->op == BP_IO_OP_WRITE || io->op == BP_IO_OP_TRIM || io->op == BP_IO_OP_WRITE_ZEROES;
  if (writes && (ref->read_only || v->read_only)) return EROFS;
  std::lock_guard<std::mutex> lock(v->mutex);
  switch (io->op) {
    case BP_IO_OP_READ:
      if (!InRange(v, io)) return EINVAL;
      std::memcpy(io->buf, v->data.data() + io->offset, io->length);
      return 0;
    case BP_IO_OP_WRITE:
      if (!InRange(v, io)) return ENOSPC;
      std::memcpy(v->data.data() + io->offset, io->buf, io->length);
      return 0;
    case BP_IO_OP_TRIM:
      if (!InRange(v, io)) return EINVAL;
      std::memset(v->data.data() + io->offset, 0, io->length);
      return 0;
    case BP_IO_OP_WRITE_ZEROES:
      if (!InRange(v, io)) return ENOSPC;
      // Keeping a range allocated costs real writes here, so that combination is never fast:
      // it exercises the frontend's ENOTSUP path.
      if ((io->flags & BP_IO_FLAG_FAST_ZERO) && (io->flags & BP_IO_FLAG_NO_HOLE)) return ENOTSUP;
      std::memset(v->data.data() + io->offset, 0, io->length);
      return 0;
    case BP_IO_OP_FLUSH: return 0;
    case BP_IO_OP_CACHE: return InRange(v, io) ? 0 : EINVAL;
    default: return EINVAL;
  }
}

void Complete(bp_volume* ref, bp_io* io) {
  int error = Execute(ref, io);
  --g_outstanding;
  io->done(io, error);
}

void Delayer::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!quit_ || !queue_.empty()) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = queue_.begin()->first;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    auto item = queue_.begin()->second;
    queue_.erase(queue_.begin());
    lock.unlock();
    Complete(item.first, item.second);
    lock.lock();
  }
}

void CheckNotStopped(const char* call) {
  if (g_stopped) Violation(std::string(call) + " called after stop() returned");
}

int VolList(void*, bp_volume_list_fn fn, void* arg) {
  CheckNotStopped("list");
  for (auto& v : g_volumes) {
    std::string description = "RAM volume " + v->name + " of " + std::to_string(v->size) +
                              " bytes" + (v->read_only ? " (read-only)" : "");
    fn(arg, v->name.c_str(), description.c_str(), v->size);
  }
  return BP_OK;
}

int VolOpen(void*, const char* name, int readonly, bp_volume** out) {
  CheckNotStopped("open");
  *out = nullptr;
  for (auto& v : g_volumes) {
    if (v->name == name) {
      ++v->references;
      *out = new bp_volume{v.get(), readonly != 0};
      return BP_OK;
    }
  }
  HostSetError((std::string("no volume named ") + name).c_str());
  return BP_ERR_NOT_FOUND;
}

void VolClose(bp_volume* ref) {
  CheckNotStopped("close");
  --ref->volume->references;
  delete ref;
}

int VolInfo(bp_volume* ref, bp_volume_info* info) {
  CheckNotStopped("info");
  bp_volume_info out{};
  out.struct_size = sizeof out;
  out.flags = BP_VOLUME_CAN_TRIM | BP_VOLUME_CAN_ZERO | BP_VOLUME_CAN_FAST_ZERO |
              BP_VOLUME_CAN_FLUSH | BP_VOLUME_CAN_FUA | BP_VOLUME_CAN_CACHE |
              BP_VOLUME_CAN_MULTI_CONN;
  if (ref->volume->read_only || ref->read_only) out.flags |= BP_VOLUME_READ_ONLY;
  out.size = ref->volume->size;
  out.min_block = 1;
  out.preferred_block = 4096;
  out.max_request = 32u << 20;
  std::memcpy(info, &out,
              std::min<size_t>(info->struct_size ? info->struct_size : sizeof out, sizeof out));
  return BP_OK;
}

void VolSubmit(bp_volume* ref, bp_io* io) {
  CheckNotStopped("submit");
  ++g_outstanding;
  if (g_delayer) {
    g_delayer->Add(ref, io);
  } else {
    Complete(ref, io);
  }
}

// ---- command line and main ---------------------------------------------------------------

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr,
               "nbd_host_harness: %s\nusage: nbd_host_harness --plugin PATH [--set KEY=VALUE]... "
               "[--volume NAME:SIZE[:ro]]... [--delay-us N] [--pidfile PATH] "
               "[--config-dir DIR]\n",
               message.c_str());
  std::exit(2);
}

const bp_config_key* FindKey(const bp_config_key* keys, const std::string& name) {
  for (const bp_config_key* k = keys; k && k->name; ++k) {
    if (name == k->name) return k;
  }
  return nullptr;
}

void SetKey(const bp_config_key* keys, HarnessConfig* config, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos) Usage("--set expects KEY=VALUE, got " + assignment);
  std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const bp_config_key* k = FindKey(keys, key);
  if (!k) Usage("`" + key + "` is not a key of this plugin");
  if (k->type == BP_CFG_LIST) {
    auto& list = config->lists[key];
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string item =
          value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) list.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return;
  }
  uint64_t ignored = 0;
  if (k->type == BP_CFG_INT && value.find_first_not_of("-0123456789") != std::string::npos) {
    Usage("`" + key + "` must be an integer");
  }
  if (k->type == BP_CFG_SIZE && !ParseSize(value, &ignored)) Usage("`" + key + "` must be a size");
  if (k->type == BP_CFG_BOOL && value != "true" && value != "false") {
    Usage("`" + key + "` must be true or false");
  }
  config->scalars[key] = value;
}

void FillDefaults(const bp_config_key* keys, HarnessConfig* config) {
  for (const bp_config_key* k = keys; k && k->name; ++k) {
    if (!k->default_value || HostConfigHas(reinterpret_cast<bp_config*>(config), k->name)) continue;
    if (k->type == BP_CFG_LIST) {
      config->lists[k->name].push_back(k->default_value);
    } else {
      config->scalars[k->name] = k->default_value;
    }
  }
}

void AddVolume(const std::string& spec) {
  size_t c1 = spec.find(':');
  if (c1 == std::string::npos) Usage("--volume expects NAME:SIZE[:ro]");
  auto v = std::make_unique<RamVolume>();
  v->name = spec.substr(0, c1);
  std::string rest = spec.substr(c1 + 1);
  size_t c2 = rest.find(':');
  std::string size = rest.substr(0, c2);
  if (c2 != std::string::npos) {
    if (rest.substr(c2 + 1) != "ro") Usage("--volume flag must be ro");
    v->read_only = true;
  }
  if (!ParseSize(size, &v->size) || v->size > (4ull << 30)) Usage("bad volume size " + size);
  v->data.assign(v->size, 0);
  g_volumes.push_back(std::move(v));
}

}  // namespace

int main(int argc, char** argv) {
  std::string plugin_path, pidfile;
  std::vector<std::string> sets;
  uint32_t delay_us = 0;
  char cwd[4096];
  HarnessConfig config;
  config.dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--plugin") plugin_path = next();
    else if (arg == "--set") sets.push_back(next());
    else if (arg == "--volume") AddVolume(next());
    else if (arg == "--delay-us") delay_us = static_cast<uint32_t>(std::stoul(next()));
    else if (arg == "--pidfile") pidfile = next();
    else if (arg == "--config-dir") config.dir = next();
    else Usage("unknown argument " + arg);
  }
  if (plugin_path.empty()) Usage("--plugin is required");
  if (g_volumes.empty()) {
    AddVolume("default:64MiB");
    AddVolume("other:1MiB");
  }

  void* so = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!so) Usage(std::string("cannot load plugin: ") + dlerror());
  auto entry = reinterpret_cast<bp_plugin_entry_fn>(dlsym(so, BP_ENTRY_SYMBOL));
  if (!entry) Usage(plugin_path + ": no " BP_ENTRY_SYMBOL " symbol");

  static bp_host_api host{};
  host.struct_size = sizeof host;
  host.abi_minor = BP_ABI_MINOR;
  host.log = HostLog;
  host.set_error = HostSetError;
  host.config_has = HostConfigHas;
  host.config_string = HostConfigString;
  host.config_int = HostConfigInt;
  host.config_bool = HostConfigBool;
  host.config_list_count = HostConfigListCount;
  host.config_list_item = HostConfigListItem;
  host.config_dir = HostConfigDir;
  host.metric_add = HostMetricAdd;

  const bp_plugin_header* header = entry(&host);
  if (!header || header->abi_major != BP_ABI_MAJOR || header->kind != BP_KIND_FRONTEND) {
    Usage(plugin_path + ": not a frontend plugin of ABI major " + std::to_string(BP_ABI_MAJOR));
  }
  bp_frontend_plugin plugin{};
  std::memcpy(&plugin, header, std::min<size_t>(header->struct_size, sizeof plugin));
  if (!plugin.open || !plugin.start || !plugin.stop || !plugin.close) {
    Usage(plugin_path + ": frontend lacks open/start/stop/close");
  }

  for (const std::string& s : sets) SetKey(plugin.config_keys, &config, s);
  FillDefaults(plugin.config_keys, &config);
  if (delay_us) g_delayer = std::make_unique<Delayer>(delay_us);

  static bp_volume_api volumes{};
  volumes.struct_size = sizeof volumes;
  volumes.list = VolList;
  volumes.open = VolOpen;
  volumes.close = VolClose;
  volumes.info = VolInfo;
  volumes.submit = VolSubmit;

  // Threads the plugin starts inherit this mask, so only sigwait below sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  void* handle = nullptr;
  if (plugin.open(reinterpret_cast<bp_config*>(&config), &volumes, &handle) != BP_OK) {
    std::fprintf(stderr, "nbd_host_harness: open failed: %s\n", g_last_error.c_str());
    return 3;
  }
  if (plugin.start(handle) != BP_OK) {
    std::fprintf(stderr, "nbd_host_harness: start failed: %s\n", g_last_error.c_str());
    plugin.close(handle);
    return 3;
  }
  if (!pidfile.empty()) {
    std::ofstream(pidfile) << getpid() << "\n";
  }
  std::printf("ready\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  plugin.stop(handle);
  g_stopped = true;
  plugin.close(handle);
  g_delayer.reset();

  int exit_code = 0;
  for (auto& v : g_volumes) {
    if (v->references != 0) {
      Violation("volume " + v->name + " still has " + std::to_string(v->references.load()) +
                " reference(s) after stop");
    }
  }
  if (g_outstanding != 0) {
    Violation(std::to_string(g_outstanding.load()) + " request(s) never completed");
  }
  if (g_contract_violations) exit_code = 1;
  {
    std::lock_guard<std::mutex> lock(g_metrics_mutex);
    for (auto& [name, value] : g_metrics) {
      std::fprintf(stderr, "harness: metric %s = %lld\n", name.c_str(),
                   static_cast<long long>(value));
    }
  }
  if (!pidfile.empty()) unlink(pidfile.c_str());
  std::fprintf(stderr, "harness: stopped (%s)\n", exit_code ? "contract violated" : "clean");
  return exit_code;
}
