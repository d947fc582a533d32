// ASCII text helpers shared by the HTTP layer and the backends' signers and settings parsers:
// header names and canonical forms are ASCII and case-insensitive, and values from headers,
// credential files and connection strings arrive with stray whitespace.
#pragma once

#include <string>
#include <string_view>

namespace bphttp {

// Lower-case ASCII letters; other bytes unchanged.
std::string AsciiLower(std::string_view text);

// Without leading and trailing whitespace (space, tab, CR, LF, VT, FF).
std::string TrimSpace(std::string_view text);

}  // namespace bphttp
