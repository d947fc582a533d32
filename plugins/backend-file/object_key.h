// Object keys and the root location of the file backend. Keys arrive from the host and become
// relative paths under the root, so they are validated strictly before touching the filesystem:
// a key that could escape the root ("..", absolute, empty segments) or collide with the
// backend's own temporary files is refused instead of being interpreted.
#pragma once

#include <string>

namespace filebackend {

// Name prefix of in-flight put() temp files. Keys may not use it for any segment, and list()
// skips it, so a crashed put never shows up as an object.
inline constexpr const char kTempPrefix[] = ".bp-tmp-";

// Longest key the host may pass (bp_backend.h).
inline constexpr size_t kMaxKeyLength = 512;

// Empty string when `key` is acceptable, otherwise the reason it is not.
std::string CheckKey(const std::string& key);

// Empty string when `prefix` is an acceptable list prefix (may be empty and may end inside a
// segment or with '/'), otherwise the reason.
std::string CheckPrefix(const std::string& prefix);

// Turn the configured url into an absolute directory. Accepted forms:
//   file:///abs/path        (also file://localhost/abs/path)
//   file:relative/path      relative to config_dir
// Percent-escapes (%20) are decoded. Returns an empty string and sets *error on failure.
std::string RootFromUrl(const std::string& url, const std::string& config_dir, std::string* error);

}  // namespace filebackend
