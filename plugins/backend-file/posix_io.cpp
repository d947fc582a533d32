// POSIX helpers for the file backend; see posix_io.h. Everything here retries EINTR itself so the
// store code never has to think about signals, and turns errno into the SDK's error classes in
// one place so the classification is consistent across put, get, list and delete.
#include "posix_io.h"

#include <blockpipe/bp_backend.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace filebackend {

int Fail(int code, const std::string& message) {
  if (bp_host != nullptr && bp_host->set_error != nullptr) bp_host->set_error(message.c_str());
  return code;
}

int ClassifyErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: return BP_ERR_NOT_FOUND;
    // Resource exhaustion and interruptions can clear without operator action: retry.
    case EAGAIN:
    case EINTR:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EBUSY:
    case ETIMEDOUT: return BP_ERR_TRANSIENT;
    case EINVAL:
    case ENAMETOOLONG: return BP_ERR_INVALID;
    // EIO, ENOSPC, EDQUOT, EROFS, EACCES, EPERM and anything unexpected need an operator.
    default: return BP_ERR_PERMANENT;
  }
}

int FailErrno(int err, const std::string& what, const std::string& path) {
  return Fail(ClassifyErrno(err), "file backend: " + what + " " + path + ": " + std::strerror(err));
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

int OpenRetry(const std::string& path, int flags, mode_t mode) {
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

int WriteAllParts(int fd, const struct bp_span* parts, size_t count) {
  constexpr size_t kMaxIov = 1024;  // Linux's IOV_MAX
  struct iovec iov[kMaxIov];
  size_t next = 0;  // first part not yet written completely
  size_t skip = 0;  // bytes of parts[next] already written
  while (next < count) {
    size_t n = 0;
    for (size_t i = next; i < count && n < kMaxIov; ++i) {
      const size_t offset = i == next ? skip : 0;
      if (parts[i].length == offset) continue;
      iov[n].iov_base = const_cast<uint8_t*>(static_cast<const uint8_t*>(parts[i].data) + offset);
      iov[n].iov_len = static_cast<size_t>(parts[i].length - offset);
      ++n;
    }
    if (n == 0) return 0;
    ssize_t w = ::writev(fd, iov, static_cast<int>(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;  // a regular file that accepts nothing is out of space or broken
    // Advance past what the kernel took, which may end inside a part.
    auto left = static_cast<uint64_t>(w);
    while (next < count && left >= parts[next].length - skip) {
      left -= parts[next].length - skip;
      skip = 0;
      ++next;
    }
    skip += static_cast<size_t>(left);
  }
  return 0;
}

int PreadFull(int fd, void* buf, uint64_t length, uint64_t offset, uint64_t* got) {
  auto* p = static_cast<uint8_t*>(buf);
  uint64_t done = 0;
  while (done < length) {
    // pread takes a size_t and returns ssize_t: keep each call well inside both.
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(length - done, 1u << 30));
    ssize_t r = ::pread(fd, p + done, chunk, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = done;
      return errno;
    }
    if (r == 0) break;  // end of file
    done += static_cast<uint64_t>(r);
  }
  *got = done;
  return 0;
}

int FsyncFd(int fd) {
  for (;;) {
    if (::fsync(fd) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int FsyncDir(const std::string& dir) {
  UniqueFd fd(OpenRetry(dir, O_RDONLY | O_DIRECTORY));
  if (!fd.valid()) return errno;
  return FsyncFd(fd.get());
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace filebackend
