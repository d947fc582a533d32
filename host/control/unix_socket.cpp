// Unix-socket plumbing for the control endpoint (see unix_socket.h).
#include "control/unix_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace bp {
namespace {

Status FillAddress(const std::filesystem::path& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  const std::string s = path.string();
  if (s.size() >= sizeof(addr->sun_path)) {
    return Status::Invalid("socket path too long (max " +
                           std::to_string(sizeof(addr->sun_path) - 1) + " bytes): " + s);
  }
  std::memcpy(addr->sun_path, s.c_str(), s.size() + 1);
  return Status::Ok();
}

std::string ErrnoText(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

Status ConnectUnixSocket(const std::filesystem::path& path, int* fd) {
  sockaddr_un addr;
  BP_RETURN_IF_ERROR(FillAddress(path, &addr));
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Status::Permanent(ErrnoText("socket for", path));
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(s);
    errno = err;
    if (err == ENOENT || err == ECONNREFUSED) {
      return Status::NotFound("no daemon listening on " + path.string());
    }
    return Status::Permanent(ErrnoText("connecting to", path));
  }
  *fd = s;
  return Status::Ok();
}

Status BindUnixSocket(const std::filesystem::path& path, unsigned mode, int* fd) {
  sockaddr_un addr;
  BP_RETURN_IF_ERROR(FillAddress(path, &addr));
  // A socket file may be left by a daemon that died; replace it only if nobody answers on it.
  if (std::filesystem::exists(std::filesystem::symlink_status(path))) {
    int probe = -1;
    Status live = ConnectUnixSocket(path, &probe);
    if (live.ok()) {
      ::close(probe);
      return Status::Precondition("another process is listening on " + path.string() +
                                  " (is a blockpipe daemon already running with this data dir?)");
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
      return Status::Invalid(path.string() + " exists and is not a socket");
    }
    ::unlink(path.c_str());
  }
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Status::Permanent(ErrnoText("socket for", path));
  // The umask applies to bind(); tighten first so there is no window with a wider mode.
  mode_t old = ::umask(0177);
  int rc = ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0 || ::chmod(path.c_str(), mode) != 0 || ::listen(s, 16) != 0) {
    Status st = Status::Permanent(ErrnoText("binding", path));
    ::close(s);
    return st;
  }
  *fd = s;
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Transient(std::string("control socket write: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status ReadLine(int fd, size_t max_bytes, int timeout_ms, std::string* line) {
  line->clear();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return Status::Transient("timed out waiting on the control socket");
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (pr < 0 && errno != EINTR) return Status::Transient(std::strerror(errno));
    if (pr <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Transient(std::string("control socket read: ") + std::strerror(errno));
    }
    if (n == 0) {
      if (line->empty()) return Status::Transient("control connection closed without a reply");
      return Status::Ok();
    }
    line->append(buf, static_cast<size_t>(n));
    auto nl = line->find('\n');
    if (nl != std::string::npos) {
      line->resize(nl);
      return Status::Ok();
    }
    if (line->size() > max_bytes) return Status::Invalid("control message too large");
  }
}

}  // namespace bp
