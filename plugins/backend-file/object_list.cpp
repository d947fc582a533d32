// FileStore::List: keys under a prefix in ascending byte order, one page at a time.
//
// Directory order is not key order ("a-b" sorts before "a/c" because '-' < '/'), so the walk
// cannot simply emit entries as it meets them. Instead it keeps the page_size+1 smallest keys
// greater than the cursor in a max-heap, pruning every subtree whose keys all fall at or below
// the cursor or above the heap's largest key. Only the keys that make the page are stat()ed
// for their size. A page costs one walk of the directories that can still contribute, which
// for the engine's layout (one directory of segments per volume) is one readdir pass.
#include <blockpipe/bp_backend.h>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "file_store.h"
#include "object_key.h"
#include "posix_io.h"

namespace filebackend {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

class PageCollector {
 public:
  PageCollector(std::string root, std::string prefix, std::string cursor, size_t limit)
      : root_(std::move(root)),
        prefix_(std::move(prefix)),
        cursor_(std::move(cursor)),
        limit_(limit) {}

  // Walk ROOT/<relative_dir> (relative_dir "" is the root). 0 or an errno value.
  int Walk(const std::string& relative_dir, int depth) {
    // Keys are at most 512 bytes, so a legitimate tree is never deeper than 256 levels.
    if (depth > 256) return ELOOP;
    std::string dir_path = relative_dir.empty() ? root_ : root_ + "/" + relative_dir;
    std::unique_ptr<DIR, DirCloser> dir(::opendir(dir_path.c_str()));
    if (!dir) {
      // The prefix names a directory that does not exist (yet), or it vanished under a
      // concurrent delete: nothing to list there.
      if (errno == ENOENT || errno == ENOTDIR) return 0;
      failed_path_ = dir_path;
      return errno;
    }
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir.get());
      if (entry == nullptr) {
        if (errno != 0) {
          failed_path_ = dir_path;
          return errno;
        }
        return 0;
      }
      const char* name = entry->d_name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      std::string key = relative_dir.empty() ? name : relative_dir + "/" + name;
      // Temp files of in-flight or crashed puts, and names no key can have, are not objects.
      if (!CheckKey(key).empty()) continue;
      unsigned char type = entry->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (::lstat((root_ + "/" + key).c_str(), &st) != 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
      if (type == DT_REG) {
        Offer(key);
      } else if (type == DT_DIR && SubtreeMayContribute(key)) {
        int err = Walk(key, depth + 1);
        if (err != 0) return err;
      }
    }
  }

  // The collected keys, ascending.
  std::vector<std::string> TakeSorted() {
    std::vector<std::string> keys;
    keys.reserve(heap_.size());
    while (!heap_.empty()) {
      keys.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(keys.begin(), keys.end());
    return keys;
  }

  const std::string& failed_path() const { return failed_path_; }

 private:
  void Offer(const std::string& key) {
    if (key.compare(0, prefix_.size(), prefix_) != 0) return;
    if (!cursor_.empty() && key <= cursor_) return;
    if (heap_.size() == limit_) {
      if (key >= heap_.top()) return;
      heap_.pop();
    }
    heap_.push(key);
  }

  // Keys below directory `dir` all lie in [dir + "/", dir + "0"), since '0' follows '/'.
  bool SubtreeMayContribute(const std::string& dir) const {
    std::string low = dir + "/";
    std::string high = dir + "0";
    bool prefix_compatible = low.compare(0, std::min(low.size(), prefix_.size()), prefix_, 0,
                                         std::min(low.size(), prefix_.size())) == 0;
    if (!prefix_compatible) return false;
    if (!cursor_.empty() && high <= cursor_) return false;
    if (heap_.size() == limit_ && heap_.top() < low) return false;
    return true;
  }

  const std::string root_, prefix_, cursor_;
  const size_t limit_;
  std::priority_queue<std::string> heap_;  // max-heap: top is the largest kept key
  std::string failed_path_;
};

}  // namespace

int FileStore::List(const std::string& prefix, const char* cursor, struct bp_list* out) {
  std::string problem = CheckPrefix(prefix);
  if (!problem.empty()) {
    return Fail(BP_ERR_INVALID, "file backend: list prefix `" + prefix + "` " + problem);
  }
  std::string after = cursor != nullptr ? cursor : "";
  if (!after.empty() && !CheckKey(after).empty()) {
    return Fail(BP_ERR_INVALID, "file backend: list cursor `" + after + "` is not a key");
  }
  // Start at the deepest directory the prefix names completely: "vol/a/seg-0" → "vol/a".
  std::string start = ParentOf(prefix);
  if (!prefix.empty() && prefix.back() == '/') start = prefix.substr(0, prefix.size() - 1);

  PageCollector collector(options_.root, prefix, after, kListPageSize + 1);
  int err = collector.Walk(start, 0);
  if (err != 0) return FailErrno(err, "cannot list", collector.failed_path());

  std::vector<std::string> keys = collector.TakeSorted();
  bool more = keys.size() > kListPageSize;
  if (more) keys.resize(kListPageSize);
  for (const std::string& key : keys) {
    struct stat st;
    // Deleted since the walk saw it: leave it out, as a listing taken a moment later would.
    if (::stat(PathOf(key).c_str(), &st) != 0) continue;
    int rc = bp_host->list_add(out, key.c_str(), static_cast<uint64_t>(st.st_size));
    if (rc != BP_OK) return Fail(rc, "file backend: the host refused a list entry");
  }
  if (more) bp_host->list_set_next(out, keys.back().c_str());
  return BP_OK;
}

}  // namespace filebackend
