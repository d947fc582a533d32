// The simulated host's local journal and its crash (see sim_journal.h).
#include "sim_journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>

namespace bp::sim {
namespace {

// The journal's files a crash must preserve ("-shm" is only an index SQLite rebuilds).
const char* const kFiles[] = {"", "-wal"};

std::string TempRoot() {
  struct stat st {};
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

SimJournal::~SimJournal() {
  journal_.reset();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status SimJournal::Open() {
  if (dir_.empty()) {
    std::string pattern = TempRoot() + "/blockpipe-sim-journal.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::Permanent("cannot create a temp directory for the simulated journal");
    }
    dir_ = pattern;
  }
  journal_.reset();
  return LocalJournal::Open(dir_, max_bytes_, &journal_);
}

void SimJournal::Crash() {
  if (!journal_) return;
  const std::string db = dir_ + "/" + kJournalFileName;
  std::optional<std::string> kept[2];
  for (int i = 0; i < 2; ++i) kept[i] = ReadWhole(db + kFiles[i]);
  journal_.reset();
  for (int i = 0; i < 2; ++i) {
    const std::string path = db + kFiles[i];
    if (!kept[i]) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
      continue;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(kept[i]->data(), static_cast<std::streamsize>(kept[i]->size()));
  }
  std::error_code ignored;
  std::filesystem::remove(db + "-shm", ignored);
}

}  // namespace bp::sim
