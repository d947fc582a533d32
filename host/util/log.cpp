// Logging setup and the plugin log bridge (see log.h). Plugin lines go through the same default
// logger as the host's so one level setting and one sink govern everything.
#include "util/log.h"

#include <blockpipe/bp_common.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace bp {

Status ParseLogLevel(const std::string& name, spdlog::level::level_enum* level) {
  if (name == "debug") {
    *level = spdlog::level::debug;
  } else if (name == "info") {
    *level = spdlog::level::info;
  } else if (name == "warn") {
    *level = spdlog::level::warn;
  } else if (name == "error") {
    *level = spdlog::level::err;
  } else {
    return Status::Invalid("log level `" + name + "` is not one of debug, info, warn, error");
  }
  return Status::Ok();
}

void SetupLogging(const std::string& level) {
  // Replace the default logger once so every later spdlog::info() goes to stderr with the
  // pattern below; repeated calls only change the level.
  static const bool installed = [] {
    auto logger = spdlog::stderr_color_mt("blockpipe");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)installed;
  spdlog::level::level_enum parsed = spdlog::level::info;
  Status st = ParseLogLevel(level, &parsed);
  spdlog::set_level(parsed);
  if (!st.ok()) spdlog::warn("{}; using info", st.message());
}

void PluginLog(int level, const char* plugin_name, const char* message) {
  const char* name = plugin_name != nullptr ? plugin_name : "plugin";
  const char* text = message != nullptr ? message : "";
  spdlog::level::level_enum lvl = spdlog::level::warn;
  switch (level) {
    case BP_LOG_DEBUG: lvl = spdlog::level::debug; break;
    case BP_LOG_INFO: lvl = spdlog::level::info; break;
    case BP_LOG_WARN: lvl = spdlog::level::warn; break;
    case BP_LOG_ERROR: lvl = spdlog::level::err; break;
    default: break;
  }
  spdlog::log(lvl, "[{}] {}", name, text);
}

}  // namespace bp
