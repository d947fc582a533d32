// Internal helpers of the config loader: typed, located access to a parsed TOML table, and the
// ${VAR} expansion applied to every string before anything reads it. Every error produced here
// starts with "FILE:LINE:" and names the table and key, so the loader's messages stay uniform.
// Not part of the config interface (config.h); only config/*.cpp include it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <toml.hpp>

#include "util/status.h"

namespace bp::config_detail {

// "FILE:LINE".
std::string Where(const std::filesystem::path& file, int line);
// Line of a parsed value (its first line), 0 if unknown.
int LineOf(const toml::value& value);
// "string", "integer", "array", … for "got X" in messages.
std::string TypeName(const toml::value& value);
// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

// Expand ${VAR} in `text` from the environment; "$${" stands for a literal "${". On failure the
// message has no location (the caller adds it).
Status ExpandVariables(const std::string& text, std::string* out);
// Apply ExpandVariables to every string in the document, arrays and nested tables included.
// Errors: "FILE:LINE: key `password`: environment variable X is not set".
Status SubstituteEnvironment(toml::value* root, const std::filesystem::path& file);

// Read access to one host-owned table ([host], [engine], one [[volume]]). Getters leave the
// output untouched when the key is absent, so callers pre-fill defaults.
class TableReader {
 public:
  TableReader(std::filesystem::path file, std::string table_name, const toml::value& table);

  // Refuse any key not in `known`, at the line of the first offending key, listing the known.
  Status CheckKeys(const std::vector<std::string>& known) const;
  bool Has(const std::string& key) const;
  // Line of the key's value, or of the table header when absent.
  int Line(const std::string& key) const;
  int line() const { return line_; }

  Status GetString(const std::string& key, std::string* out) const;
  Status GetBool(const std::string& key, bool* out) const;
  Status GetInt(const std::string& key, int64_t min, int64_t max, int64_t* out) const;
  // A number (integer or float) in [min, max].
  Status GetDouble(const std::string& key, double min, double max, double* out) const;
  // Integer bytes or a size string ("16MiB").
  Status GetSize(const std::string& key, uint64_t* out) const;
  // A string path, made absolute against `base` and normalized.
  Status GetPath(const std::string& key, const std::filesystem::path& base,
                 std::filesystem::path* out) const;
  Status GetPathList(const std::string& key, const std::filesystem::path& base,
                     std::vector<std::filesystem::path>* out) const;

  // "FILE:LINE: [table] key `key` <message>" at the key's line.
  Status Error(const std::string& key, const std::string& message) const;

 private:
  const toml::value* Find(const std::string& key) const;
  Status WrongType(const std::string& key, const std::string& expected) const;

  std::filesystem::path file_;
  std::string table_name_;
  const toml::value& table_;
  int line_;
};

// Absolute, normalized: `path` if absolute, else base/path.
std::filesystem::path MakeAbsolute(const std::filesystem::path& base,
                                   const std::filesystem::path& path);

}  // namespace bp::config_detail
