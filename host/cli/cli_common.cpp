// Shared helpers of the subcommands: default config location and error reporting.
#include <cstdlib>
#include <iostream>

#include "cli/cli.h"

namespace bp::cli {

std::filesystem::path DefaultDataDir() {
  return std::filesystem::absolute("blockpipe-data").lexically_normal();
}

std::filesystem::path DefaultConfigPath() {
  if (const char* env = std::getenv("BLOCKPIPE_CONFIG"); env != nullptr && *env != '\0') {
    return std::filesystem::absolute(env).lexically_normal();
  }
  return DefaultDataDir() / "blockpipe.toml";
}

std::filesystem::path ResolveConfigPath(const std::string& flag) {
  if (flag.empty()) return DefaultConfigPath();
  return std::filesystem::absolute(flag).lexically_normal();
}

int ReportError(const Status& status) {
  std::cerr << "blockpipe: " << status.message() << std::endl;
  return 1;
}

}  // namespace bp::cli
