// `blockpipe run` (see daemon.h). Signals are blocked in every thread and taken synchronously by
// the main thread with sigwait, so shutdown runs in a normal context, never in a handler.
// Startup is all or nothing: every volume in the store must open before anything is served.
#include "cli/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cli/volume_preflight.h"
#include "config/config.h"
#include "control/control_server.h"
#include "engine/store_layout.h"
#include "engine/volume_manager.h"
#include "engine/writer_identity.h"
#include "loader/plugin_registry.h"
#include "util/log.h"
#include "util/memory_trim.h"
#include "util/metrics.h"

namespace bp {
namespace {

// Why a failed start ignores the Shutdown that undoes it: Shutdown logs every volume it cannot
// close, and the error that stopped the start is the one to return.
// malloc arenas for the whole process (glibc's default is 8 per core).
constexpr int kMallocArenas = 8;
constexpr char kStartupErrorFirst[] = "Shutdown logs its own failures; the start error is returned";

// One daemon per data directory: its sockets and caches are not shareable.
class DataDirLock {
 public:
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Acquire(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return Status::Permanent("cannot create data dir " + dir.string() + ": " + ec.message());
    const auto path = dir / "blockpipe.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status::Permanent("cannot open " + path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::Precondition("another blockpipe daemon is running with data dir " +
                                  dir.string());
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
      [[maybe_unused]] auto n = ::pwrite(fd_, pid.data(), pid.size(), 0);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

int WaitForTerminationSignal(const sigset_t& set) {
  for (;;) {
    int sig = 0;
    if (::sigwait(&set, &sig) == 0) return sig;
  }
}

}  // namespace

Status RunDaemon(const std::filesystem::path& config_file, const RunOptions& options) {
  // Block before any thread exists so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Config config;
  BP_RETURN_IF_ERROR(LoadConfig(config_file, &config));
  SetupLogging(config.host.log_level);

  for (const auto& name : options.take_over) {
    if (name != "all" && !IsValidVolumeName(name)) {
      return Status::Invalid("--take-over " + name + ": not a volume name (or `all`)");
    }
  }
  DataDirLock lock;
  BP_RETURN_IF_ERROR(lock.Acquire(config.host.data_dir));
  // Before any worker thread exists: few malloc arenas keep freed memory in few heaps, which
  // the idle trim can give back (util/memory_trim.h, docs/engine.md "Memory").
  IdleTrimmer::LimitArenas(kMallocArenas);
  // Who this daemon is in volume ownership records: the same data dir is the same writer.
  EngineOptions engine = config.engine;
  BP_RETURN_IF_ERROR(LoadOrCreateWriterId(config.host.data_dir, &engine.writer_id));
  engine.take_over = options.take_over;
  engine.take_over_force = options.force;

  PluginRegistry plugins(config.host.plugin_dirs);
  std::shared_ptr<ObjectStore> store;
  BP_RETURN_IF_ERROR(plugins.OpenBackend(config, &store));
  std::unique_ptr<CodecFactory> codecs;
  BP_RETURN_IF_ERROR(plugins.OpenCodecs(config, &codecs));
  spdlog::info("object store {}", store->Describe());

  // Fail fast: a volume that cannot be opened (wrong password, missing codec plugin, unreadable
  // metadata) stops startup before anything is served or written. Serving the others would
  // hide the problem until a client missed its disk, and a half-started daemon would go on to
  // create configured volumes and write checkpoints. The check only reads.
  PreopenedCodecs preopened(codecs.get());
  if (Status st = preopened.OpenEveryVolume(*store); !st.ok()) {
    return st.WithContext("not starting: cannot open every volume in " + store->Describe() +
                          " (nothing was served or written)");
  }

  VolumeManager volumes(store, &preopened, engine);
  if (Status opened = volumes.OpenAll(); !opened.ok()) {
    IgnoreError(volumes.Shutdown(), kStartupErrorFirst);
    return opened.WithContext("not starting: cannot open every volume in " + store->Describe());
  }
  for (const auto& name : options.take_over) {
    if (name != "all" && !volumes.Exists(name)) {
      spdlog::warn("--take-over {}: there is no volume of that name in {}", name,
                   store->Describe());
    }
  }
  for (const auto& spec : config.volumes) {
    if (volumes.Exists(spec.name)) continue;
    Status st = volumes.Create(spec.name, spec.size);
    if (!st.ok()) {
      IgnoreError(volumes.Shutdown(), kStartupErrorFirst);
      return st.WithContext(config.file.string() + ":" + std::to_string(spec.line) +
                            ": creating volume `" + spec.name + "`");
    }
    spdlog::info("created volume {} ({} bytes)", spec.name, spec.size);
  }

  ControlServer control(config.host.control_socket, &volumes, [] { return RenderMetrics(); });
  if (Status st = control.Start(); !st.ok()) {
    IgnoreError(volumes.Shutdown(), kStartupErrorFirst);
    return st;
  }

  std::vector<std::unique_ptr<FrontendInstance>> frontends;
  Status st = plugins.OpenFrontends(config, &volumes, &frontends);
  for (size_t i = 0; st.ok() && i < frontends.size(); ++i) st = frontends[i]->Start();
  if (!st.ok()) {
    for (auto& f : frontends) f->Stop();
    control.Stop();
    IgnoreError(volumes.Shutdown(), kStartupErrorFirst);
    return st;
  }
  spdlog::info("blockpipe serving {} volume(s); control socket {}", volumes.List().size(),
               config.host.control_socket.string());

  int sig = WaitForTerminationSignal(set);
  spdlog::info("received {}, draining", strsignal(sig));
  for (auto& f : frontends) f->Stop();
  control.Stop();
  Status closed = volumes.Shutdown();
  frontends.clear();
  if (!closed.ok()) return closed.WithContext("final flush");
  spdlog::info("clean shutdown");
  return Status::Ok();
}

}  // namespace bp
