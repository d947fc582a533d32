// UTF-8, nesting and binary integer checks on config text before it is parsed (toml_text.h).
#include "config/toml_text.h"

#include <cstdio>
#include <string>

namespace bp::config_detail {
namespace {

bool IsContinuation(int byte) { return byte >= 0x80 && byte <= 0xBF; }

// "FILE:LINE:COLUMN" of text[pos]. Everything before pos is valid UTF-8 when this is called, so
// counting the bytes that start a character counts characters.
std::string WhereInText(std::string_view text, size_t pos, const std::filesystem::path& file) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < pos; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      ++line;
      column = 1;
    } else if (!IsContinuation(byte)) {
      ++column;
    }
  }
  return file.string() + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Status CheckUtf8(std::string_view text, const std::filesystem::path& file) {
  for (size_t pos = 0; pos < text.size();) {
    const char* why = nullptr;
    const size_t length = Utf8SequenceLength(text, pos, &why);
    if (length == 0) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[pos]));
      return Status::Invalid(WhereInText(text, pos, file) + ": not UTF-8 (byte " + byte + ", " +
                             why + "); a TOML file must be UTF-8 text");
    }
    pos += length;
  }
  return Status::Ok();
}

bool IsBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Digits (underscores not counted) of the binary integer `0b…` at text[pos].
size_t BinaryDigits(std::string_view text, size_t pos) {
  size_t digits = 0;
  for (pos += 2; pos < text.size(); ++pos) {
    if (text[pos] == '0' || text[pos] == '1') {
      ++digits;
    } else if (text[pos] != '_') {
      break;
    }
  }
  return digits;
}

// Tracks strings and comments only as far as needed to know which brackets, braces and `0b`
// are TOML's. Malformed text (an unterminated string) may be tracked loosely; toml11 refuses it
// afterwards anyway, and a count that is too high only refuses text toml11 would refuse too.
Status CheckStructure(std::string_view text, const std::filesystem::path& file) {
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kCode;
  int depth = 0;
  const auto starts = [&](size_t pos, std::string_view what) {
    return text.compare(pos, what.size(), what) == 0;
  };
  // After a multi-line string's closing delimiter, one or two more quotes still belong to it.
  const auto skip_extra_quotes = [&](size_t pos, char quote) {
    for (int extra = 0; extra < 2 && pos + 1 < text.size() && text[pos + 1] == quote; ++extra) {
      ++pos;
    }
    return pos;
  };
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const char c = text[pos];
    switch (state) {
      case State::kCode:
        if (c == '#') {
          state = State::kComment;
        } else if (c == '"') {
          state = starts(pos, "\"\"\"") ? State::kMultiBasic : State::kBasic;
          if (state == State::kMultiBasic) pos += 2;
        } else if (c == '\'') {
          state = starts(pos, "'''") ? State::kMultiLiteral : State::kLiteral;
          if (state == State::kMultiLiteral) pos += 2;
        } else if (c == '[' || c == '{') {
          if (++depth > kMaxTomlNesting) {
            return Status::Invalid(WhereInText(text, pos, file) +
                                   ": arrays and inline tables nested more than " +
                                   std::to_string(kMaxTomlNesting) + " deep");
          }
        } else if ((c == ']' || c == '}') && depth > 0) {
          --depth;
        } else if (c == '0' && starts(pos, "0b") && (pos == 0 || !IsBareKeyChar(text[pos - 1])) &&
                   BinaryDigits(text, pos) > kMaxTomlBinaryDigits) {
          return Status::Invalid(WhereInText(text, pos, file) + ": binary integer of more than " +
                                 std::to_string(kMaxTomlBinaryDigits) + " digits");
        }
        break;
      case State::kComment:
        if (c == '\n') state = State::kCode;
        break;
      case State::kBasic:
        if (c == '\\') {
          ++pos;  // the escaped character, a quote included
        } else if (c == '"' || c == '\n') {
          state = State::kCode;
        }
        break;
      case State::kLiteral:
        if (c == '\'' || c == '\n') state = State::kCode;
        break;
      case State::kMultiBasic:
        if (c == '\\') {
          ++pos;
        } else if (starts(pos, "\"\"\"")) {
          pos = skip_extra_quotes(pos + 2, '"');
          state = State::kCode;
        }
        break;
      case State::kMultiLiteral:
        if (starts(pos, "'''")) {
          pos = skip_extra_quotes(pos + 2, '\'');
          state = State::kCode;
        }
        break;
    }
  }
  return Status::Ok();
}

}  // namespace

size_t Utf8SequenceLength(std::string_view text, size_t pos, const char** why) {
  const auto byte = [&](size_t k) -> int {
    return pos + k < text.size() ? static_cast<unsigned char>(text[pos + k]) : -1;
  };
  const int lead = byte(0);
  if (lead < 0x80) return 1;
  // The range the second byte must fall in narrows for four leads (table 3-7): E0 and F0 would
  // otherwise allow overlong forms, ED the UTF-16 surrogates, F4 code points above U+10FFFF.
  size_t length = 0;
  int low = 0x80;
  int high = 0xBF;
  if (lead <= 0xBF) {
    *why = "a continuation byte where a character should start";
    return 0;
  } else if (lead <= 0xC1) {
    *why = "an overlong encoding";
    return 0;
  } else if (lead <= 0xDF) {
    length = 2;
  } else if (lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    *why = lead <= 0xF7 ? "a code point above U+10FFFF" : "a byte that never occurs in UTF-8";
    return 0;
  }
  const int second = byte(1);
  if (!IsContinuation(second)) {
    *why = "a truncated sequence";
    return 0;
  }
  if (second < low) {
    *why = "an overlong encoding";
    return 0;
  }
  if (second > high) {
    *why = lead == 0xED ? "a UTF-16 surrogate" : "a code point above U+10FFFF";
    return 0;
  }
  for (size_t k = 2; k < length; ++k) {
    if (!IsContinuation(byte(k))) {
      *why = "a truncated sequence";
      return 0;
    }
  }
  return length;
}

Status CheckTomlText(std::string_view text, const std::filesystem::path& file) {
  BP_RETURN_IF_ERROR(CheckUtf8(text, file));
  return CheckStructure(text, file);
}

}  // namespace bp::config_detail
