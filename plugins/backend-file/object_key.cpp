// Key and URL validation for the file backend; see object_key.h. The checks are deliberately
// stricter than the filesystem needs: anything the host's key alphabet does not contain is
// refused, so a bug elsewhere shows up as a clear error and never as a file outside the root.
#include "object_key.h"

#include <cstring>
#include <string_view>

namespace filebackend {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}

// Checks every complete segment of `text` (split on '/'); the last one is complete only when
// `last_is_complete`. A list prefix may end in the middle of a segment ("segments/00"), so its
// last piece is only checked for characters, not for being "." or "..".
std::string CheckSegments(const std::string& text, bool last_is_complete) {
  if (text.size() > kMaxKeyLength) return "longer than 512 bytes";
  for (char c : text) {
    if (!IsKeyChar(c)) return "contains a character outside [A-Za-z0-9._/-]";
  }
  if (!text.empty() && text[0] == '/') return "is absolute (starts with '/')";
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    bool complete = end != std::string::npos || last_is_complete;
    if (end == std::string::npos) end = text.size();
    // A view, not a copy: every read of a unit checks its key.
    const std::string_view segment(text.data() + start, end - start);
    if (complete) {
      if (segment.empty()) return "has an empty path segment";
      if (segment == "." || segment == "..") return "has a '.' or '..' segment";
    }
    if (segment.substr(0, std::strlen(kTempPrefix)) == kTempPrefix) {
      return std::string("has a segment starting with the reserved prefix ") + kTempPrefix;
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char decoded = static_cast<char>(hi * 16 + lo);
    if (decoded == '\0') return false;
    out->push_back(decoded);
    i += 2;
  }
  return true;
}

// "/a/./b//c/" → "/a/b/c"; ".." is refused rather than resolved, because resolving it lexically
// can disagree with the filesystem when symlinks are involved.
bool NormalizeAbsolute(const std::string& path, std::string* out) {
  out->clear();
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string segment = path.substr(start, end - start);
    if (segment == "..") return false;
    if (!segment.empty() && segment != ".") *out += "/" + segment;
    start = end + 1;
  }
  if (out->empty()) out->push_back('/');
  return true;
}

}  // namespace

std::string CheckKey(const std::string& key) {
  if (key.empty()) return "is empty";
  return CheckSegments(key, /*last_is_complete=*/true);
}

std::string CheckPrefix(const std::string& prefix) {
  if (prefix.empty()) return {};
  return CheckSegments(prefix, /*last_is_complete=*/false);
}

std::string RootFromUrl(const std::string& url, const std::string& config_dir, std::string* error) {
  static const char kScheme[] = "file:";
  if (url.compare(0, std::strlen(kScheme), kScheme) != 0) {
    *error = "url `" + url + "` does not start with file:";
    return {};
  }
  std::string rest = url.substr(std::strlen(kScheme));
  std::string raw_path;
  if (rest.compare(0, 2, "//") == 0) {
    // file://host/path: only an empty host or localhost names this machine.
    size_t path_start = rest.find('/', 2);
    std::string host =
        rest.substr(2, path_start == std::string::npos ? std::string::npos : path_start - 2);
    if (!host.empty() && host != "localhost") {
      *error = "url `" + url + "` names host `" + host +
               "`; the file backend only serves local paths (file:///path)";
      return {};
    }
    if (path_start == std::string::npos) {
      *error = "url `" + url + "` has no path (expected file:///absolute/path)";
      return {};
    }
    raw_path = rest.substr(path_start);
  } else {
    if (rest.empty()) {
      *error = "url `" + url + "` has no path";
      return {};
    }
    raw_path = rest[0] == '/' ? rest : config_dir + "/" + rest;
  }
  if (raw_path.find_first_of("?#") != std::string::npos) {
    *error = "url `" + url + "` has a query or fragment, which the file backend does not use";
    return {};
  }
  std::string decoded;
  if (!PercentDecode(raw_path, &decoded)) {
    *error = "url `" + url + "` has an invalid %-escape";
    return {};
  }
  if (decoded.empty() || decoded[0] != '/') {
    *error = "url `" + url + "` does not resolve to an absolute path (config directory unknown)";
    return {};
  }
  std::string normalized;
  if (!NormalizeAbsolute(decoded, &normalized)) {
    *error = "url `" + url + "` contains a '..' segment; write the directory without it";
    return {};
  }
  if (normalized == "/") {
    *error = "url `" + url + "` names the filesystem root; choose a dedicated directory";
    return {};
  }
  return normalized;
}

}  // namespace filebackend
