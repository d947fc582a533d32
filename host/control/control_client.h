// ControlClient: one request to a running daemon's control socket. Errors say whether the daemon
// is not running (no socket / connection refused) or answered with an error.
#pragma once

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace bp {

// Send request, wait up to timeout for the response. A response with "ok":false becomes a
// non-ok Status carrying its "error" text.
Status ControlCall(const std::filesystem::path& socket_path, const nlohmann::json& request,
                   nlohmann::json* response,
                   std::chrono::milliseconds timeout = std::chrono::minutes(10));

}  // namespace bp
