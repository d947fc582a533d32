// Temp files of the file backend: their names, the startup sweep that removes those left by a
// crashed put, and the probe that decides how put-if-absent is made atomic.
//
// A temp file is named ".bp-tmp-<pid>-<counter>-<hostname>". The sweep at open removes one
// immediately when it was made on this host by a process that no longer exists, and otherwise
// only after an hour: another live blockpipe (here, or on another machine sharing the
// directory) may be in the middle of a put, and deleting its temp file would fail that put.
#include <blockpipe/bp_backend.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "file_store.h"
#include "object_key.h"
#include "posix_io.h"

namespace filebackend {
namespace {

constexpr time_t kForeignTempMaxAgeSeconds = 3600;

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

struct TempName {
  long pid = 0;
  std::string hostname;
};

bool ParseTempName(const std::string& name, TempName* out) {
  size_t prefix_len = std::strlen(kTempPrefix);
  if (name.compare(0, prefix_len, kTempPrefix) != 0) return false;
  size_t dash1 = name.find('-', prefix_len);
  if (dash1 == std::string::npos) return false;
  size_t dash2 = name.find('-', dash1 + 1);
  if (dash2 == std::string::npos) return false;
  std::string pid_text = name.substr(prefix_len, dash1 - prefix_len);
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
      pid_text.size() > 9) {
    return false;
  }
  out->pid = std::stol(pid_text);
  out->hostname = name.substr(dash2 + 1);
  return true;
}

}  // namespace

std::string FileStore::NewTempName() {
  return std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
         std::to_string(temp_counter_.fetch_add(1, std::memory_order_relaxed)) + "-" + hostname_;
}

void FileStore::RemoveStaleTempFiles(const std::string& relative_dir, int depth) {
  if (depth > 256) return;
  std::string dir_path = relative_dir.empty() ? options_.root : options_.root + "/" + relative_dir;
  std::unique_ptr<DIR, DirCloser> dir(::opendir(dir_path.c_str()));
  if (!dir) return;
  const time_t now = ::time(nullptr);
  while (struct dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir_path + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      RemoveStaleTempFiles(relative_dir.empty() ? name : relative_dir + "/" + name, depth + 1);
      continue;
    }
    TempName temp;
    if (!S_ISREG(st.st_mode) || !ParseTempName(name, &temp)) continue;
    bool ours = temp.hostname == hostname_;
    bool writer_gone = ours && temp.pid != ::getpid() &&
                       ::kill(static_cast<pid_t>(temp.pid), 0) != 0 && errno == ESRCH;
    bool old = now - st.st_mtime > kForeignTempMaxAgeSeconds;
    if (writer_gone || old) ::unlink(path.c_str());
  }
}

int FileStore::ProbeExclusiveMode() {
  // Try both atomic no-replace primitives on two scratch names in the root. Filesystems without
  // hard links (vfat, some FUSE mounts) may still offer RENAME_NOREPLACE.
  std::string a = options_.root + "/" + NewTempName();
  std::string b = options_.root + "/" + NewTempName();
  UniqueFd fd(OpenRetry(a, O_WRONLY | O_CREAT | O_EXCL, 0644));
  if (!fd.valid()) {
    return Fail(BP_ERR_PERMANENT, "file backend: cannot create files in " + options_.root + ": " +
                                      std::strerror(errno));
  }
  fd = UniqueFd();
  if (::link(a.c_str(), b.c_str()) == 0) {
    exclusive_mode_ = ExclusiveMode::kLink;
  } else if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_NOREPLACE) == 0) {
    exclusive_mode_ = ExclusiveMode::kRenameNoReplace;
  } else {
    exclusive_mode_ = ExclusiveMode::kNone;
    if (bp_host != nullptr && bp_host->log != nullptr) {
      bp_host->log(BP_LOG_WARN, "file",
                   ("the filesystem under " + options_.root +
                    " supports neither hard links nor RENAME_NOREPLACE: put-if-absent (fencing) "
                    "is unavailable")
                       .c_str());
    }
  }
  ::unlink(a.c_str());
  ::unlink(b.c_str());
  return BP_OK;
}

}  // namespace filebackend
