// Checks around store plugin calls (see plugin_call_checks.h).
#include "loader/plugin_call_checks.h"

#include <algorithm>
#include <cstring>

namespace bp {

Status CheckKeyLength(const std::string& plugin, const char* op, const std::string& key,
                      const char* takers) {
  if (key.size() <= BP_KEY_MAX_LENGTH) return Status::Ok();
  return Status::Invalid(plugin + ": " + op + " of a " + std::to_string(key.size()) +
                         "-byte key (" + key.substr(0, 64) + "…); " + takers +
                         " take keys of at most " + std::to_string(BP_KEY_MAX_LENGTH) + " bytes");
}

Status CheckedVersionTag(const char (&buf)[BP_VERSION_TAG_MAX], const std::string& context,
                         const char* who, bool may_be_empty, std::string* tag) {
  const size_t n = strnlen(buf, BP_VERSION_TAG_MAX);
  bool printable = n < BP_VERSION_TAG_MAX && (may_be_empty || n > 0);
  for (size_t i = 0; printable && i < n; ++i) printable = buf[i] >= 0x20 && buf[i] < 0x7f;
  if (!printable) {
    return Status::Permanent(context + ": " + who + " returned an invalid version tag");
  }
  tag->assign(buf, n);
  return Status::Ok();
}

void CopySlice(const Bytes& whole, uint64_t offset, uint64_t length, void* buf, uint64_t* nread) {
  if (offset >= whole.size()) return;
  const uint64_t n = std::min<uint64_t>(length, whole.size() - offset);
  std::memcpy(buf, whole.data() + offset, n);
  *nread = n;
}

}  // namespace bp
