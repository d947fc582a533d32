// Helpers shared by the loader tests: where the test plugins (tests/plugins) were built, and a
// config text → Config shortcut whose plugin_dirs point there.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/config.h"
#include "support/status_assert.h"

#ifndef BLOCKPIPE_TEST_PLUGIN_DIR
#error "BLOCKPIPE_TEST_PLUGIN_DIR must be defined by tests/plugins/CMakeLists.txt"
#endif

namespace bp::testing {

inline std::filesystem::path PluginDir() { return BLOCKPIPE_TEST_PLUGIN_DIR; }

inline std::filesystem::path PluginPath(const std::string& file) { return PluginDir() / file; }

// The config file name used in messages.
inline const char* ConfigFile() { return "/etc/bp/test.toml"; }

// Parse `body` (everything after the [host] table) with plugin_dirs = [PluginDir()].
// Line 1 is [host], line 2 plugin_dirs, so body starts at line 3.
inline Config MakeConfig(const std::string& body) {
  Config c;
  const std::string text = "[host]\nplugin_dirs = [\"" + PluginDir().string() + "\"]\n" + body;
  Status st = ParseConfig(text, ConfigFile(), &c);
  EXPECT_OK(st) << text;
  return c;
}

}  // namespace bp::testing
