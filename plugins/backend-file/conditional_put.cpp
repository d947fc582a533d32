// FileStore's compare-and-swap (ABI 1.2): get_tagged and put_if_match. The version tag of an
// object is "sha256:" + the SHA-256 of its bytes, so a tag says exactly which contents the
// caller saw, survives restarts, and is the same for every process using the directory.
//
// put_if_match must be atomic against other processes too (two daemons on one shared
// directory). It takes an exclusive flock(2) on the object file it is about to replace, then
// checks that the name still refers to the inode it locked (a replace that finished while we
// waited has renamed a new inode into place: start again on that one), compares the locked
// file's hash with the expected tag, and only then writes the temp file and renames it over the
// name, still holding the lock. A second replacer blocks on the same inode and, once it gets
// the lock, finds the name moved on to a new inode whose hash differs: precondition.
//
// Plain put() and delete() take no lock; the host replaces its shared records only through
// put_if_match, and deletes them only with the volume.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "file_store.h"
#include "posix_io.h"

namespace filebackend {
namespace {

// A name replaced again and again while we wait for its lock: give up as transient after this
// many inodes rather than loop forever.
constexpr int kMaxLockRounds = 64;

std::string TagOf(const void* data, size_t length) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(data, length, digest, &digest_length, EVP_sha256(), nullptr) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string tag = "sha256:";
  for (unsigned int i = 0; i < digest_length; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 15];
  }
  return tag;
}

int CopyTag(const std::string& tag, char* out) {
  if (tag.empty()) return Fail(BP_ERR_PERMANENT, "file backend: SHA-256 failed (OpenSSL)");
  std::memcpy(out, tag.c_str(), tag.size() + 1);  // far below BP_VERSION_TAG_MAX
  return BP_OK;
}

int LockExclusive(int fd) {
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// The whole file behind fd (a regular file) into *bytes.
int ReadWhole(int fd, const std::string& path, std::vector<unsigned char>* bytes) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FailErrno(errno, "cannot stat object", path);
  bytes->resize(static_cast<size_t>(st.st_size));
  uint64_t got = 0;
  int err = PreadFull(fd, bytes->data(), bytes->size(), 0, &got);
  if (err != 0) return FailErrno(err, "cannot read object", path);
  bytes->resize(static_cast<size_t>(got));
  return BP_OK;
}

}  // namespace

int FileStore::GetTagged(const std::string& key, struct bp_buf* out, char* tag) {
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  ReadInFlight reading(&reads_in_flight_);
  const std::string path = PathOf(key);
  UniqueFd fd;
  rc = OpenObject(path, &fd);
  if (rc != BP_OK) return rc;
  // One descriptor for bytes and hash: a concurrent replace renames a new inode into place and
  // leaves this one intact, so the tag always describes exactly the bytes returned.
  std::vector<unsigned char> bytes;
  rc = ReadWhole(fd.get(), path, &bytes);
  if (rc != BP_OK) return rc;
  if (!bytes.empty() && bp_host->buf_append(out, bytes.data(), bytes.size()) != 0) {
    return Fail(BP_ERR_PERMANENT, "file backend: out of memory reading " + path);
  }
  return CopyTag(TagOf(bytes.data(), bytes.size()), tag);
}

int FileStore::PutIfMatch(const std::string& key, const void* data, uint64_t length,
                          const std::string& expected_tag, char* new_tag) {
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  if (length > SIZE_MAX) return Fail(BP_ERR_INVALID, "file backend: object too large");
  const std::string path = PathOf(key);
  ReadInFlight reading(&reads_in_flight_);
  for (int round = 0; round < kMaxLockRounds; ++round) {
    UniqueFd fd(OpenRetry(path, O_RDONLY));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        return Fail(BP_ERR_PRECONDITION, "file backend: object " + path + " does not exist");
      }
      return FailErrno(errno, "cannot open object", path);
    }
    int err = LockExclusive(fd.get());
    if (err != 0) return FailErrno(err, "cannot lock object", path);
    struct stat locked, current;
    if (::fstat(fd.get(), &locked) != 0) return FailErrno(errno, "cannot stat object", path);
    if (::stat(path.c_str(), &current) != 0) {
      if (errno == ENOENT) {
        return Fail(BP_ERR_PRECONDITION, "file backend: object " + path + " was deleted");
      }
      return FailErrno(errno, "cannot stat object", path);
    }
    if (locked.st_ino != current.st_ino || locked.st_dev != current.st_dev) continue;
    if (!S_ISREG(locked.st_mode)) {
      return Fail(BP_ERR_PRECONDITION, "file backend: " + path + " is not an object (not a file)");
    }
    std::vector<unsigned char> bytes;
    rc = ReadWhole(fd.get(), path, &bytes);
    if (rc != BP_OK) return rc;
    const std::string tag = TagOf(bytes.data(), bytes.size());
    if (tag != expected_tag) {
      return Fail(BP_ERR_PRECONDITION, "file backend: object " + path +
                                           " changed since it was read (version " + tag + ")");
    }
    std::string temp_path;
    const bp_span whole{data, length};
    rc = WriteTempFile(ParentOf(key), &whole, 1, options_.fsync, &temp_path);
    if (rc != BP_OK) return rc;
    rc = Publish(temp_path, path, /*exclusive=*/false);
    if (rc != BP_OK) return rc;
    ForgetSyncFailure(key);
    fd_cache_.Invalidate(key);
    if (options_.fsync) {
      const std::string dir = ParentOf(path);
      err = FsyncDir(dir);
      if (err != 0) return FailErrno(err, "cannot fsync directory", dir);
    }
    return CopyTag(TagOf(data, static_cast<size_t>(length)), new_tag);
  }
  return Fail(BP_ERR_TRANSIENT, "file backend: object " + path +
                                    " kept being replaced while "
                                    "waiting for its lock");
}

}  // namespace filebackend
