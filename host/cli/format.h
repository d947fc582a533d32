// Human-readable sizes for CLI output ("1.5 GiB").
#pragma once

#include <cstdint>
#include <string>

namespace bp::cli {

std::string FormatBytes(uint64_t bytes);

}  // namespace bp::cli
