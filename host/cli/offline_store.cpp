// Shared setup of the offline maintenance commands (see offline_store.h).
#include "cli/offline_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "control/unix_socket.h"
#include "util/log.h"

namespace bp::cli {

Status LoadOfflineConfig(const std::filesystem::path& config_file, OfflineStore* out) {
  BP_RETURN_IF_ERROR(LoadConfig(config_file, &out->config));
  // Info lines of plugin loading and store probing would bury the command's own report.
  const std::string& level = out->config.host.log_level;
  SetupLogging(level == "debug" ? "debug" : level == "info" ? "warn" : level);
  return Status::Ok();
}

Status OpenOfflinePlugins(OfflineStore* out) {
  out->plugins = std::make_unique<PluginRegistry>(out->config.host.plugin_dirs);
  BP_RETURN_IF_ERROR(out->plugins->OpenBackend(out->config, &out->store));
  BP_RETURN_IF_ERROR(out->plugins->OpenCodecs(out->config, &out->codecs));
  return Status::Ok();
}

DataDirLockGuard::~DataDirLockGuard() {
  if (fd_ >= 0) ::close(fd_);
}

Status DataDirLockGuard::TryAcquire(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Status::Permanent("cannot create data dir " + data_dir.string() + ": " + ec.message());
  const auto path = data_dir / "blockpipe.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::Permanent("cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // The daemon writes its pid into the file after locking it.
    char text[32] = {};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    std::string pid = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
    pid.erase(std::remove_if(pid.begin(), pid.end(), [](char c) { return c < '0' || c > '9'; }),
              pid.end());
    ::close(fd);
    return Status::Precondition("a blockpipe daemon" + (pid.empty() ? "" : " (pid " + pid + ")") +
                                " is running with data dir " + data_dir.string() + " (it holds " +
                                path.string() + "); stop it first");
  }
  fd_ = fd;
  return Status::Ok();
}

bool ControlSocketAnswers(const std::filesystem::path& socket) {
  int fd = -1;
  if (!ConnectUnixSocket(socket, &fd).ok()) return false;
  ::close(fd);
  return true;
}

}  // namespace bp::cli
