// Small helpers for the control socket: bind with a given mode, replacing a stale socket file
// but refusing one a live process still listens on; connect with a path-length check.
#pragma once

#include <filesystem>

#include "util/status.h"

namespace bp {

// Listening Unix socket at path (backlog 16, close-on-exec). *fd receives it.
Status BindUnixSocket(const std::filesystem::path& path, unsigned mode, int* fd);
// Connected Unix socket to path. NotFound when nothing listens there.
Status ConnectUnixSocket(const std::filesystem::path& path, int* fd);
// Write all bytes; read until '\n' or EOF (bounded by max_bytes) with a deadline in ms.
Status WriteAll(int fd, const std::string& data);
Status ReadLine(int fd, size_t max_bytes, int timeout_ms, std::string* line);

}  // namespace bp
