// Logging setup for the daemon and the CLI: one spdlog logger writing to stderr, its level taken
// from the config ([host] log_level), and the entry point through which plugins log (their lines
// carry the plugin name). Nothing here ever formats config values, so secrets cannot leak
// through it; callers must not pass secret values either.
#pragma once

#include <string>

#include <spdlog/common.h>

#include "util/status.h"

namespace bp {

// "debug", "info", "warn", "error" → spdlog level. Invalid names the accepted values.
Status ParseLogLevel(const std::string& name, spdlog::level::level_enum* level);

// Configure the default logger: stderr, timestamped, at `level` (falls back to info, with a
// warning, on an invalid name — the config loader has already rejected those).
void SetupLogging(const std::string& level);

// A plugin's log line (host->log): level is BP_LOG_*, unknown values log as warnings.
// Output: "[plugin-name] message".
void PluginLog(int level, const char* plugin_name, const char* message);

}  // namespace bp
