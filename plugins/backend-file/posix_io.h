// POSIX helpers for the file backend: whole-buffer writes and reads that survive EINTR and short
// transfers, directory fsync, and the mapping from errno to the SDK's error classes. Every
// function that can fail returns a BP_* code after recording a message through the host's
// set_error, so callers just propagate the int.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

struct bp_span;

namespace filebackend {

// Record `message` with the host and return `code`.
int Fail(int code, const std::string& message);

// Classify an errno value: ENOENT/ENOTDIR → NOT_FOUND, EIO/ENOSPC/EACCES… → PERMANENT,
// EMFILE/ENOMEM/EAGAIN… → TRANSIENT (the condition may clear on its own).
int ClassifyErrno(int err);

// Fail with the class of `err` and "<what> <path>: <strerror>".
int FailErrno(int err, const std::string& what, const std::string& path);

// RAII owner of a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC, retried on EINTR. Returns -1 with errno set on failure.
int OpenRetry(const std::string& path, int flags, mode_t mode = 0);

// Write the pieces one after another at the current position, with as few writev(2) calls as
// the kernel allows. 0 or an errno value.
int WriteAllParts(int fd, const struct bp_span* parts, size_t count);

// pread until `length` bytes or end of file. 0 or an errno value; *got receives the count.
int PreadFull(int fd, void* buf, uint64_t length, uint64_t offset, uint64_t* got);

// fsync(2), retried on EINTR. 0 or an errno value.
int FsyncFd(int fd);

// Open `dir` read-only and fsync it, making entry creations/renames/unlinks in it durable.
// 0 or an errno value.
int FsyncDir(const std::string& dir);

// "a/b/c" → "a/b"; "c" → "".
std::string ParentOf(const std::string& path);

}  // namespace filebackend
