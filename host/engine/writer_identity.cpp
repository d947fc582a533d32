// DATA_DIR/writer-id (see writer_identity.h): read it, or create it with a random id through a
// temporary file linked into place, so a crash never leaves a partial id behind.
#include "engine/writer_identity.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace bp {
namespace {

Status ReadId(const std::filesystem::path& file, std::string* id) {
  std::ifstream in(file);
  if (!in) return Status::Permanent("cannot read " + file.string() + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  if (!IsValidWriterId(value)) {
    return Status::Corrupt(file.string() +
                           " does not hold a writer id (32 lower-case hex digits). "
                           "Restore it, or remove it to make a new one: volumes whose ownership "
                           "record names the old id then need `blockpipe run --take-over`");
  }
  *id = value;
  return Status::Ok();
}

}  // namespace

std::string NewWriterId() {
  static const char* digits = "0123456789abcdef";
  std::random_device rd;
  std::string id;
  while (id.size() < 32) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k, v >>= 4) id.push_back(digits[v & 15]);
  }
  return id;
}

bool IsValidWriterId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status LoadOrCreateWriterId(const std::filesystem::path& data_dir, std::string* id) {
  const auto file = data_dir / "writer-id";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return ReadId(file, id);

  const std::string fresh = NewWriterId();
  const auto temp = data_dir / ("writer-id.tmp." + std::to_string(::getpid()));
  const std::string text = fresh + "\n";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Permanent("cannot create " + temp.string() + ": " + std::strerror(errno));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) {
    ::unlink(temp.c_str());
    return Status::Permanent("cannot write " + temp.string() + ": " + std::strerror(saved));
  }
  // link() never replaces an existing id, whatever else happened meanwhile.
  const int linked = ::link(temp.c_str(), file.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return ReadId(file, id);
    return Status::Permanent("cannot create " + file.string() + ": " + std::strerror(link_errno));
  }
  int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  *id = fresh;
  return Status::Ok();
}

}  // namespace bp
