// FileStore open, reads, writes and deletes; see file_store.h for the protocol of each
// operation. Listing lives in object_list.cpp, temp-file naming/cleanup in temp_files.cpp and
// compare-and-swap in conditional_put.cpp.
//
// The durability argument for put: the data is fsynced before the name exists, the name is
// created atomically (rename or link), and the directory is fsynced before put returns, so after
// a crash the key holds either the old object, nothing, or the complete new one.
#include "file_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "object_key.h"
#include "posix_io.h"

namespace filebackend {

FileStore::FileStore(const StoreOptions& options)
    : options_(options), fd_cache_(options.read_fd_cache), recycled_(options.recycle) {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) std::strcpy(name, "unknown");
  hostname_ = name;
}

int FileStore::Open(const StoreOptions& options, std::unique_ptr<FileStore>* out) {
  out->reset();
  std::unique_ptr<FileStore> store(new FileStore(options));

  // mkdir -p of the root itself, from the filesystem root down.
  const std::string& root = options.root;
  for (size_t pos = 1; pos <= root.size(); ++pos) {
    if (pos != root.size() && root[pos] != '/') continue;
    std::string dir = root.substr(0, pos);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (options.fsync) FsyncDir(ParentOf(dir).empty() ? "/" : ParentOf(dir));
      continue;
    }
    if (errno == EEXIST) continue;
    return FailErrno(errno, "cannot create directory", dir);
  }
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return FailErrno(errno, "cannot access", root);
  if (!S_ISDIR(st.st_mode)) {
    return Fail(BP_ERR_PERMANENT, "file backend: " + root + " exists and is not a directory");
  }
  if (::access(root.c_str(), R_OK | W_OK | X_OK) != 0) {
    return Fail(BP_ERR_PERMANENT, "file backend: cannot read and write objects in " + root + ": " +
                                      std::strerror(errno));
  }
  int rc = store->ProbeExclusiveMode();
  if (rc != BP_OK) return rc;
  store->RemoveStaleTempFiles("", 0);
  *out = std::move(store);
  return BP_OK;
}

uint64_t FileStore::Capabilities() const {
  // Conditional put rests on flock(2) and rename(2), which every local filesystem provides.
  // Reads are local: what was just written is still in the kernel's page cache.
  // Deferred durability: an fsync per object costs a write-back at the disk's speed while the
  // host is still filling the page cache; the host syncs when a FLUSH asks for it instead.
  uint64_t caps = BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_DELETE_MANY |
                  BP_BACKEND_CAP_LIST_PAGES | BP_BACKEND_CAP_CONDITIONAL_PUT |
                  BP_BACKEND_CAP_LOCAL_READS | BP_BACKEND_CAP_DEFER_SYNC;
  if (exclusive_mode_ != ExclusiveMode::kNone) caps |= BP_BACKEND_CAP_PUT_IF_ABSENT;
  if (options_.fsync) caps |= BP_BACKEND_CAP_DURABLE_PUT;
  return caps;
}

int FileStore::CheckedKey(const std::string& key) const {
  std::string problem = CheckKey(key);
  if (problem.empty()) return BP_OK;
  return Fail(BP_ERR_INVALID, "file backend: key `" + key + "` " + problem);
}

int FileStore::OpenObject(const std::string& path, UniqueFd* fd) const {
  *fd = UniqueFd(OpenRetry(path, O_RDONLY));
  if (!fd->valid()) return FailErrno(errno, "cannot open object", path);
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return FailErrno(errno, "cannot stat object", path);
  if (!S_ISREG(st.st_mode)) {
    return Fail(BP_ERR_NOT_FOUND, "file backend: " + path + " is not an object (not a file)");
  }
  return BP_OK;
}

int FileStore::Get(const std::string& key, struct bp_buf* out) {
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  ReadInFlight reading(&reads_in_flight_);
  std::string path = PathOf(key);
  UniqueFd fd;
  rc = OpenObject(path, &fd);
  if (rc != BP_OK) return rc;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "cannot stat object", path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return BP_OK;
  void* dest = bp_host->buf_reserve(out, size);
  if (dest == nullptr) return Fail(BP_ERR_PERMANENT, "file backend: out of memory reading " + path);
  uint64_t got = 0;
  int err = PreadFull(fd.get(), dest, size, 0, &got);
  if (err != 0) return FailErrno(err, "cannot read object", path);
  bp_host->buf_commit(out, got);
  return BP_OK;
}

int FileStore::Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                    uint64_t* nread) {
  *nread = 0;
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  if (offset > static_cast<uint64_t>(INT64_MAX) ||
      length > static_cast<uint64_t>(INT64_MAX) - offset) {
    return Fail(BP_ERR_INVALID, "file backend: read of `" + key + "` past the largest file offset");
  }
  ReadInFlight reading(&reads_in_flight_);
  std::shared_ptr<UniqueFd> fd = fd_cache_.Find(key);
  if (!fd) {
    uint64_t epoch = fd_cache_.Epoch();
    std::string path = PathOf(key);
    fd = std::make_shared<UniqueFd>(OpenRetry(path, O_RDONLY));
    if (!fd->valid()) return FailErrno(errno, "cannot open object", path);
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return FailErrno(errno, "cannot stat object", path);
    if (!S_ISREG(st.st_mode)) {
      return Fail(BP_ERR_NOT_FOUND, "file backend: " + path + " is not an object (not a file)");
    }
    fd_cache_.Insert(key, fd, epoch);
  }
  int err = PreadFull(fd->get(), buf, length, offset, nread);
  if (err != 0) return FailErrno(err, "cannot read object", PathOf(key));
  return BP_OK;
}

int FileStore::EnsureDirectories(const std::string& relative_dir) {
  if (relative_dir.empty()) return BP_OK;
  // Fast path: the directory usually exists already (segments share one directory).
  std::string full = options_.root + "/" + relative_dir;
  struct stat st;
  if (::stat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return BP_OK;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = relative_dir.find('/', pos + 1);
    std::string rel = relative_dir.substr(0, pos);
    std::string dir = options_.root + "/" + rel;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (options_.fsync) {
        int err = FsyncDir(ParentOf(dir));
        if (err != 0) return FailErrno(err, "cannot fsync directory", ParentOf(dir));
      }
      continue;
    }
    if (errno == EEXIST) {
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      return Fail(BP_ERR_PERMANENT,
                  "file backend: " + dir + " is an object, so no key can continue below it");
    }
    return FailErrno(errno, "cannot create directory", dir);
  }
  return BP_OK;
}

int FileStore::OpenTempFile(const std::string& dir, std::string* temp_path, UniqueFd* fd) {
  // A recycled file lies in the root; link and rename reach the target directory from there.
  while (recycled_.Take(temp_path)) {
    *fd = UniqueFd(OpenRetry(*temp_path, O_WRONLY));
    if (fd->valid()) return BP_OK;
    ::unlink(temp_path->c_str());  // removed meanwhile (another process's sweep): use the next
  }
  *temp_path = dir + "/" + NewTempName();
  *fd = UniqueFd(OpenRetry(*temp_path, O_WRONLY | O_CREAT | O_EXCL, 0644));
  return fd->valid() ? BP_OK : errno;
}

int FileStore::WriteTempFile(const std::string& relative_dir, const bp_span* parts, size_t count,
                             bool durable, std::string* temp_path) {
  std::string dir = relative_dir.empty() ? options_.root : options_.root + "/" + relative_dir;
  uint64_t length = 0;
  for (size_t i = 0; i < count; ++i) length += parts[i].length;
  // A concurrent delete may remove the (empty) parent between mkdir and create: recreate and
  // retry a few times before calling it a failure.
  for (int attempt = 0;; ++attempt) {
    int rc = EnsureDirectories(relative_dir);
    if (rc != BP_OK) return rc;
    UniqueFd fd;
    int open_err = OpenTempFile(dir, temp_path, &fd);
    if (open_err != 0) {
      if (open_err == ENOENT && attempt < 5) continue;
      return FailErrno(open_err, "cannot create temp file", *temp_path);
    }
    int err = WriteAllParts(fd.get(), parts, count);
    // A recycled file may be longer than the new object: cut what is left of the old one.
    if (err == 0 && ::ftruncate(fd.get(), static_cast<off_t>(length)) != 0) err = errno;
    if (err == 0 && durable) err = FsyncFd(fd.get());
    if (err != 0) {
      ::unlink(temp_path->c_str());
      return FailErrno(err, "cannot write", *temp_path);
    }
    return BP_OK;
  }
}

int FileStore::Publish(const std::string& temp_path, const std::string& final_path,
                       bool exclusive) {
  if (!exclusive) {
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      int err = errno;
      ::unlink(temp_path.c_str());
      return FailErrno(err, "cannot rename temp file to", final_path);
    }
    return BP_OK;
  }
  if (exclusive_mode_ == ExclusiveMode::kNone) {
    ::unlink(temp_path.c_str());
    return Fail(BP_ERR_UNSUPPORTED, "file backend: the filesystem under " + options_.root +
                                        " supports neither link(2) nor RENAME_NOREPLACE, so "
                                        "put-if-absent cannot be atomic");
  }
  int rc = 0;
  if (exclusive_mode_ == ExclusiveMode::kLink) {
    // link(2) fails with EEXIST if the name exists, atomically against any other creator.
    rc = ::link(temp_path.c_str(), final_path.c_str());
  } else {
    rc = ::renameat2(AT_FDCWD, temp_path.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE);
  }
  int err = rc == 0 ? 0 : errno;
  // After a successful link the temp name is a second link to the same inode; after a
  // successful rename it no longer exists (ENOENT is harmless).
  ::unlink(temp_path.c_str());
  if (err == EEXIST) {
    return Fail(BP_ERR_PRECONDITION, "file backend: object " + final_path + " already exists");
  }
  if (err != 0) return FailErrno(err, "cannot create", final_path);
  return BP_OK;
}

int FileStore::Put(const std::string& key, const void* data, uint64_t length, uint32_t flags) {
  const bp_span whole{data, length};
  return PutParts(key, &whole, 1, flags);
}

int FileStore::PutParts(const std::string& key, const bp_span* parts, size_t count,
                        uint32_t flags) {
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  if ((flags & ~static_cast<uint32_t>(BP_PUT_IF_ABSENT | BP_PUT_DEFER_SYNC)) != 0) {
    return Fail(BP_ERR_UNSUPPORTED, "file backend: unknown put flags");
  }
  for (size_t i = 0; i < count; ++i) {
    if (parts[i].length > SIZE_MAX) return Fail(BP_ERR_INVALID, "file backend: object too large");
    if (parts[i].data == nullptr && parts[i].length != 0) {
      return Fail(BP_ERR_INVALID, "file backend: put of a part without data");
    }
  }
  const bool exclusive = (flags & BP_PUT_IF_ABSENT) != 0;
  const bool durable = options_.fsync && (flags & BP_PUT_DEFER_SYNC) == 0;
  std::string relative_dir = ParentOf(key);
  std::string temp_path;
  rc = WriteTempFile(relative_dir, parts, count, durable, &temp_path);
  if (rc != BP_OK) return rc;
  rc = Publish(temp_path, PathOf(key), exclusive);
  if (rc != BP_OK) return rc;
  ForgetSyncFailure(key);  // a new object: what its predecessor lost is no longer asked for
  // A replaced object must not be read through a descriptor of its predecessor. A created one
  // cannot be cached (a failed open caches nothing).
  if (!exclusive) fd_cache_.Invalidate(key);
  if (durable) {
    std::string dir = ParentOf(PathOf(key));
    int err = FsyncDir(dir);
    if (err != 0) return FailErrno(err, "cannot fsync directory", dir);
  }
  return BP_OK;
}

int FileStore::DeleteOne(const std::string& key, bool sync_directory) {
  int rc = CheckedKey(key);
  if (rc != BP_OK) return rc;
  ForgetSyncFailure(key);
  std::string path = PathOf(key);
  struct stat st;
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    return Fail(BP_ERR_NOT_FOUND, "file backend: " + path + " is not an object (not a file)");
  }
  if (!exists || !Recycle(key, path, static_cast<uint64_t>(st.st_size))) {
    if (::unlink(path.c_str()) != 0) return FailErrno(errno, "cannot delete object", path);
    fd_cache_.Invalidate(key);
  }
  if (sync_directory && options_.fsync) {
    int err = FsyncDir(ParentOf(path));
    if (err != 0) return FailErrno(err, "cannot fsync directory", ParentOf(path));
  }
  RemoveEmptyParents(key);
  return BP_OK;
}

bool FileStore::Recycle(const std::string& key, const std::string& path, uint64_t size) {
  if (!recycled_.enabled() || size < RecycledFiles::kMinBytes) return false;
  const std::string kept = options_.root + "/" + NewTempName();
  // The rename is the delete: the key is gone as atomically as with unlink. Failing it (the
  // object is gone already, or lies on another filesystem) leaves the unlink to the caller.
  if (::rename(path.c_str(), kept.c_str()) != 0) return false;
  fd_cache_.Invalidate(key);
  // From here no new read can open the file. One already in flight may hold a descriptor of it
  // and must keep reading the old bytes: then it is deleted for real, as unlink would have.
  if (reads_in_flight_.load() != 0 || !recycled_.Offer(kept, size)) ::unlink(kept.c_str());
  return true;
}

void FileStore::RemoveEmptyParents(const std::string& key) {
  // Best effort: rmdir fails with ENOTEMPTY as soon as a directory still holds something, and a
  // put racing with us recreates what it needs (WriteTempFile retries).
  std::string rel = ParentOf(key);
  while (!rel.empty()) {
    std::string dir = options_.root + "/" + rel;
    if (::rmdir(dir.c_str()) != 0) return;
    rel = ParentOf(rel);
  }
}

int FileStore::Delete(const std::string& key) { return DeleteOne(key, /*sync_directory=*/true); }

int FileStore::DeleteMany(const char* const* keys, size_t count, int* results) {
  std::vector<std::string> dirs_to_sync;
  for (size_t i = 0; i < count; ++i) {
    if (keys[i] == nullptr) {
      results[i] = Fail(BP_ERR_INVALID, "file backend: null key in delete_many");
      continue;
    }
    std::string key = keys[i];
    results[i] = DeleteOne(key, /*sync_directory=*/false);
    if (results[i] == BP_OK) dirs_to_sync.push_back(ParentOf(PathOf(key)));
  }
  if (options_.fsync) {
    // One fsync per directory instead of one per key: deletes of a volume's segments share a
    // directory. A directory already removed as empty needs no sync.
    std::sort(dirs_to_sync.begin(), dirs_to_sync.end());
    dirs_to_sync.erase(std::unique(dirs_to_sync.begin(), dirs_to_sync.end()), dirs_to_sync.end());
    for (const std::string& dir : dirs_to_sync) {
      int err = FsyncDir(dir);
      if (err != 0 && err != ENOENT) return FailErrno(err, "cannot fsync directory", dir);
    }
  }
  return BP_OK;
}

bool FileStore::SyncFailed(const std::string& key) {
  std::lock_guard<std::mutex> lock(sync_failed_mu_);
  return sync_failed_.count(key) != 0;
}

void FileStore::ForgetSyncFailure(const std::string& key) {
  std::lock_guard<std::mutex> lock(sync_failed_mu_);
  sync_failed_.erase(key);
}

int FileStore::Sync(const char* const* keys, size_t count) {
  if (!options_.fsync) return BP_OK;  // fsync = false: nothing is ever made durable
  std::vector<std::string> dirs;
  for (size_t i = 0; i < count; ++i) {
    if (keys[i] == nullptr) return Fail(BP_ERR_INVALID, "file backend: null key in sync");
    const std::string key = keys[i];
    int rc = CheckedKey(key);
    if (rc != BP_OK) return rc;
    if (SyncFailed(key)) {
      return Fail(BP_ERR_PERMANENT, "file backend: " + PathOf(key) +
                                        " could not be written back earlier; its data may be "
                                        "lost and it cannot be made durable");
    }
    const std::string path = PathOf(key);
    // The descriptor is opened here, not taken from the read cache: fdatasync through any
    // descriptor of the file writes its dirty pages back, and this one is ours alone.
    UniqueFd fd(OpenRetry(path, O_RDONLY));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;  // deleted since its put: nothing to make durable
      return FailErrno(errno, "cannot open object to sync", path);
    }
    int err = 0;
    while (::fdatasync(fd.get()) != 0) {
      if (errno != EINTR) {
        err = errno;
        break;
      }
    }
    if (err != 0) {
      {
        std::lock_guard<std::mutex> lock(sync_failed_mu_);
        sync_failed_.insert(key);
      }
      return FailErrno(err, "cannot write back object", path);
    }
    dirs.push_back(ParentOf(path));
  }
  // The names: a deferred put created its directory entry without fsyncing the directory.
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  for (const std::string& dir : dirs) {
    int err = FsyncDir(dir);
    if (err != 0 && err != ENOENT) return FailErrno(err, "cannot fsync directory", dir);
  }
  return BP_OK;
}

}  // namespace filebackend
