// Reading a new password for `blockpipe change-password`: from a file (the whole file, one
// trailing newline dropped — the same rule as the encrypt codec's password_file), or from
// standard input. On a terminal it prompts twice with echo off and insists both entries match;
// from a pipe it reads everything up to end of input (again dropping one trailing newline), so
// scripts can do `printf %s "$NEW" | blockpipe change-password`. The text is wiped from memory
// by the holder's destructor.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace bp::cli {

// A password that wipes itself.
class SecretText {
 public:
  SecretText() = default;
  ~SecretText();
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  std::string& value() { return value_; }
  const std::string& value() const { return value_; }

 private:
  std::string value_;
};

// Largest password accepted from a file or stdin.
constexpr size_t kMaxPasswordBytes = 64 << 10;

Status ReadPasswordFile(const std::filesystem::path& path, SecretText* out);
// Standard input: prompts on the terminal (stderr) when stdin is one.
Status ReadPasswordFromStdin(SecretText* out);

}  // namespace bp::cli
