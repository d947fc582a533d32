// FileStore: one open file backend instance — objects as regular files under a root directory,
// key "a/b/c" at ROOT/a/b/c. It implements the operations of bp_backend.h with POSIX calls:
//
//   put            temp file in the target directory, write, fsync, then rename (replace) or
//                  link (put-if-absent, atomic: a second writer gets EEXIST), then fsync the
//                  directory. New parent directories are created and their parents fsynced.
//                  With BP_PUT_DEFER_SYNC neither the file nor its directory is fsynced: the
//                  bytes wait in the page cache (where a crash of the process cannot lose them)
//                  until sync.
//   sync           fdatasync of each named object file, then fsync of each directory holding
//                  one; a key that failed to sync keeps failing until its object is replaced
//                  or deleted, since a later fsync may report success for data already lost.
//   get / read     read(2) / pread(2); ranged reads reuse descriptors from a bounded cache.
//   get_tagged /   compare-and-swap by content hash under an flock of the object file
//   put_if_match   (conditional_put.cpp).
//   del            unlink (or, for a large object nobody in this process is reading, rename
//                  it into the recycled-files pool: recycled_files.h), fsync the directory,
//                  remove parent directories left empty.
//   list           recursive walk, keys in ascending byte order, pages of kListPageSize with
//                  the last returned key as the cursor.
//
// Every method is thread-safe (the plugin declares BP_THREAD_PARALLEL) and returns a BP_* code,
// recording the message through the host on failure.
#pragma once

#include <blockpipe/bp_backend.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fd_cache.h"
#include "posix_io.h"
#include "recycled_files.h"

namespace filebackend {

struct StoreOptions {
  std::string root;               // absolute directory holding the objects
  bool fsync = true;              // false voids the durability contract (tests, scratch volumes)
  size_t read_fd_cache = 64;      // descriptors kept open for ranged reads; 0 disables
  uint64_t recycle = 1ull << 30;  // bytes of deleted objects' files kept for reuse; 0 disables
};

// How put-if-absent is made atomic on this filesystem, probed at open.
enum class ExclusiveMode { kLink, kRenameNoReplace, kNone };

class FileStore {
 public:
  static constexpr size_t kListPageSize = 1000;

  // Create the root if needed, check it is a writable directory, probe put-if-absent support
  // and remove temp files left by crashed puts. On failure *out stays null.
  static int Open(const StoreOptions& options, std::unique_ptr<FileStore>* out);

  uint64_t Capabilities() const;
  int Get(const std::string& key, struct bp_buf* out);
  int Read(const std::string& key, uint64_t offset, uint64_t length, void* buf, uint64_t* nread);
  int Put(const std::string& key, const void* data, uint64_t length, uint32_t flags);
  // Put of the concatenation of parts[0, count), written with writev from where they lie.
  int PutParts(const std::string& key, const struct bp_span* parts, size_t count, uint32_t flags);
  int GetTagged(const std::string& key, struct bp_buf* out, char* tag);
  int PutIfMatch(const std::string& key, const void* data, uint64_t length,
                 const std::string& expected_tag, char* new_tag);
  int Delete(const std::string& key);
  int DeleteMany(const char* const* keys, size_t count, int* results);
  int Sync(const char* const* keys, size_t count);
  int List(const std::string& prefix, const char* cursor, struct bp_list* out);

 private:
  explicit FileStore(const StoreOptions& options);

  std::string PathOf(const std::string& key) const { return options_.root + "/" + key; }
  int CheckedKey(const std::string& key) const;
  // Open the object file at path for reading: NOT_FOUND when missing or not a regular file.
  int OpenObject(const std::string& path, UniqueFd* fd) const;
  // mkdir -p of ROOT/<relative_dir>, fsyncing the parent of every directory it creates.
  int EnsureDirectories(const std::string& relative_dir);
  // Write the parts to a new temp file in ROOT/<relative_dir>, fsynced when `durable`; *temp_path
  // receives its path.
  int WriteTempFile(const std::string& relative_dir, const struct bp_span* parts, size_t count,
                    bool durable, std::string* temp_path);
  // Keys whose sync failed (an I/O error writing them back): their syncs keep failing.
  bool SyncFailed(const std::string& key);
  void ForgetSyncFailure(const std::string& key);
  // Move the fsynced temp file to its final name. Precondition if exclusive and it exists.
  int Publish(const std::string& temp_path, const std::string& final_path, bool exclusive);
  int DeleteOne(const std::string& key, bool sync_directory);
  // Delete object `key` (its file at `path`, `size` bytes) by moving the file into the
  // recycled-files pool. False when it did not move (too small, pool disabled, rename failed):
  // the caller deletes it with unlink.
  bool Recycle(const std::string& key, const std::string& path, uint64_t size);
  // A temp file for a put: a recycled one opened for writing over, else a new one.
  int OpenTempFile(const std::string& dir, std::string* temp_path, UniqueFd* fd);

  // Counts reads that may hold a descriptor of an object file. A deleted object's file is
  // recycled (written over later) only while none is in flight: a read that started before the
  // delete must keep seeing the old bytes, as it would after unlink.
  class ReadInFlight {
   public:
    explicit ReadInFlight(std::atomic<uint32_t>* count) : count_(count) { count_->fetch_add(1); }
    ~ReadInFlight() { count_->fetch_sub(1); }
    ReadInFlight(const ReadInFlight&) = delete;
    ReadInFlight& operator=(const ReadInFlight&) = delete;

   private:
    std::atomic<uint32_t>* count_;
  };
  void RemoveEmptyParents(const std::string& key);
  std::string NewTempName();
  int ProbeExclusiveMode();
  void RemoveStaleTempFiles(const std::string& relative_dir, int depth);

  const StoreOptions options_;
  ExclusiveMode exclusive_mode_ = ExclusiveMode::kNone;
  FdCache fd_cache_;
  RecycledFiles recycled_;
  std::atomic<uint32_t> reads_in_flight_{0};
  std::atomic<uint64_t> temp_counter_{0};
  std::string hostname_;
  std::mutex sync_failed_mu_;
  std::set<std::string> sync_failed_;  // guarded by sync_failed_mu_
};

}  // namespace filebackend
