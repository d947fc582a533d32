// The checks config text passes before toml11 sees it. toml11 3.7 (Debian 12's) is not safe on
// every input: a byte sequence that is not UTF-8 inside a literal string makes it read past its
// buffer (its error path rewinds one string's iterator into another), and it recurses once per
// nested array or inline table without a limit, so a few thousand `[` overflow the stack; and
// it overflows a signed 64-bit value (undefined behaviour) reading a binary integer of 63 or
// more digits, leading zeros included. TOML is UTF-8 by definition, no blockpipe config nests
// deeper than an array of strings or needs such a number, so that text is refused here with
// FILE:LINE:COLUMN, and toml11 only ever parses what it handles.
// ${VAR} values are substituted into the already parsed strings (SubstituteEnvironment) and never
// reach toml11's parser, so they are not checked here.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "util/status.h"

namespace bp::config_detail {

// Arrays and inline tables, counted together, may nest this deep (a table header's brackets
// count too: `[[frontend]]` is 2). blockpipe's own keys need 1; toml11 in the ASan build
// overflows an 8 MiB stack at about 1000.
inline constexpr int kMaxTomlNesting = 32;

// Binary integers (`0b…`) may have this many digits, underscores not counted: toml11 doubles its
// place value once per digit, past 2^62 on the 63rd.
inline constexpr size_t kMaxTomlBinaryDigits = 62;

// Ok when `text` is well-formed UTF-8 (no overlong forms, surrogates, code points above
// U+10FFFF or truncated sequences), nests arrays and inline tables at most kMaxTomlNesting deep
// and has no binary integer longer than kMaxTomlBinaryDigits. Otherwise Invalid:
// "FILE:LINE:COLUMN: …", the column counted in characters from 1.
Status CheckTomlText(std::string_view text, const std::filesystem::path& file);

// Length of the well-formed UTF-8 sequence that starts at text[pos] (1 to 4), or 0 with *why
// saying what is wrong with it. Unicode's table 3-7, exactly what toml11's lexer accepts.
size_t Utf8SequenceLength(std::string_view text, size_t pos, const char** why);

}  // namespace bp::config_detail
