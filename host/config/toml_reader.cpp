// Typed, located access to parsed TOML and ${VAR} expansion (see toml_reader.h).
#include "config/toml_reader.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "config/config.h"

namespace bp::config_detail {
namespace {
std::string FormatNumber(double x) {
  std::ostringstream o;
  o << x;
  return o.str();
}

bool IsVarStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsVarChar(char c) { return IsVarStart(c) || (c >= '0' && c <= '9'); }

Status SubstituteIn(toml::value* value, const std::string& key, const std::filesystem::path& file) {
  if (value->is_string()) {
    std::string expanded;
    Status st = ExpandVariables(value->as_string().str, &expanded);
    if (!st.ok()) {
      return Status::Invalid(Where(file, LineOf(*value)) + ": key `" + key + "`: " + st.message());
    }
    value->as_string().str = std::move(expanded);
  } else if (value->is_array()) {
    for (auto& item : value->as_array()) BP_RETURN_IF_ERROR(SubstituteIn(&item, key, file));
  } else if (value->is_table()) {
    for (auto& [child_key, child] : value->as_table()) {
      BP_RETURN_IF_ERROR(SubstituteIn(&child, child_key, file));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string Where(const std::filesystem::path& file, int line) {
  return file.string() + ":" + std::to_string(line);
}

int LineOf(const toml::value& value) {
  const auto line = value.location().line();
  return line > static_cast<uint_least32_t>(std::numeric_limits<int>::max())
             ? 0
             : static_cast<int>(line);
}

std::string TypeName(const toml::value& value) {
  switch (value.type()) {
    case toml::value_t::boolean: return "boolean";
    case toml::value_t::integer: return "integer";
    case toml::value_t::floating: return "float";
    case toml::value_t::string: return "string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time: return "date/time";
    case toml::value_t::array: return "array";
    case toml::value_t::table: return "table";
    case toml::value_t::empty: return "nothing";
  }
  return "unknown";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

Status ExpandVariables(const std::string& text, std::string* out) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {  // escaped: a literal "${"
      result += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      result += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      return Status::Invalid("unterminated `${` (write `$${` for a literal `${`)");
    }
    const std::string name = text.substr(i + 2, close - i - 2);
    const bool valid =
        !name.empty() && IsVarStart(name[0]) && std::all_of(name.begin(), name.end(), IsVarChar);
    if (!valid) {
      return Status::Invalid("`${" + name + "}` is not a valid environment variable reference");
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return Status::Invalid("environment variable " + name + " is not set");
    result += value;
    i = close + 1;
  }
  *out = std::move(result);
  return Status::Ok();
}

Status SubstituteEnvironment(toml::value* root, const std::filesystem::path& file) {
  if (!root->is_table()) return Status::Ok();
  for (auto& [key, value] : root->as_table()) BP_RETURN_IF_ERROR(SubstituteIn(&value, key, file));
  return Status::Ok();
}

std::filesystem::path MakeAbsolute(const std::filesystem::path& base,
                                   const std::filesystem::path& path) {
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

TableReader::TableReader(std::filesystem::path file, std::string table_name,
                         const toml::value& table)
    : file_(std::move(file)),
      table_name_(std::move(table_name)),
      table_(table),
      line_(LineOf(table)) {}

const toml::value* TableReader::Find(const std::string& key) const {
  if (!table_.is_table()) return nullptr;
  const auto& t = table_.as_table();
  auto it = t.find(key);
  return it == t.end() ? nullptr : &it->second;
}

bool TableReader::Has(const std::string& key) const { return Find(key) != nullptr; }

int TableReader::Line(const std::string& key) const {
  const toml::value* v = Find(key);
  return v != nullptr ? LineOf(*v) : line_;
}

Status TableReader::Error(const std::string& key, const std::string& message) const {
  return Status::Invalid(Where(file_, Line(key)) + ": [" + table_name_ + "] key `" + key + "` " +
                         message);
}

Status TableReader::WrongType(const std::string& key, const std::string& expected) const {
  return Error(key, "must be " + expected + " (got " + TypeName(*Find(key)) + ")");
}

Status TableReader::CheckKeys(const std::vector<std::string>& known) const {
  if (!table_.is_table()) return Status::Ok();
  // Report the earliest unknown key in the file, so the message is stable across runs.
  const std::string* first = nullptr;
  int first_line = 0;
  for (const auto& [key, value] : table_.as_table()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const int line = LineOf(value);
    if (first == nullptr || line < first_line || (line == first_line && key < *first)) {
      first = &key;
      first_line = line;
    }
  }
  if (first == nullptr) return Status::Ok();
  const std::string what = Find(*first)->is_table() ? "table" : "key";
  return Status::Invalid(Where(file_, first_line) + ": [" + table_name_ + "] unknown " + what +
                         " `" + *first + "` (known: " + JoinNames(known) + ")");
}

Status TableReader::GetString(const std::string& key, std::string* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return WrongType(key, "a string");
  *out = v->as_string().str;
  return Status::Ok();
}

Status TableReader::GetBool(const std::string& key, bool* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return WrongType(key, "a boolean (true or false)");
  *out = v->as_boolean();
  return Status::Ok();
}

Status TableReader::GetInt(const std::string& key, int64_t min, int64_t max, int64_t* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_integer()) return WrongType(key, "an integer");
  const int64_t n = v->as_integer();
  if (n < min || n > max) {
    return Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          " (got " + std::to_string(n) + ")");
  }
  *out = n;
  return Status::Ok();
}

Status TableReader::GetDouble(const std::string& key, double min, double max, double* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  double x;
  if (v->is_floating()) {
    x = v->as_floating();
  } else if (v->is_integer()) {
    x = static_cast<double>(v->as_integer());
  } else {
    return WrongType(key, "a number");
  }
  if (!(x >= min && x <= max)) {  // also refuses nan
    return Error(key, "must be between " + FormatNumber(min) + " and " + FormatNumber(max) +
                          " (got " + FormatNumber(x) + ")");
  }
  *out = x;
  return Status::Ok();
}

Status TableReader::GetSize(const std::string& key, uint64_t* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (v->is_integer()) {
    if (v->as_integer() < 0) return Error(key, "must not be negative");
    *out = static_cast<uint64_t>(v->as_integer());
    return Status::Ok();
  }
  if (!v->is_string()) return WrongType(key, "a size like \"16MiB\" or an integer");
  Status st = ParseSize(v->as_string().str, out);
  if (!st.ok()) return Error(key, "must be a size like \"16MiB\": " + st.message());
  return Status::Ok();
}

Status TableReader::GetPath(const std::string& key, const std::filesystem::path& base,
                            std::filesystem::path* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return WrongType(key, "a path string");
  if (v->as_string().str.empty()) return Error(key, "must not be empty");
  *out = MakeAbsolute(base, v->as_string().str);
  return Status::Ok();
}

Status TableReader::GetPathList(const std::string& key, const std::filesystem::path& base,
                                std::vector<std::filesystem::path>* out) const {
  const toml::value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) return WrongType(key, "an array of path strings");
  std::vector<std::filesystem::path> paths;
  for (const auto& item : v->as_array()) {
    if (!item.is_string() || item.as_string().str.empty()) {
      return Error(
          key, "must be an array of non-empty path strings (an item is " + TypeName(item) + ")");
    }
    paths.push_back(MakeAbsolute(base, item.as_string().str));
  }
  *out = std::move(paths);
  return Status::Ok();
}

}  // namespace bp::config_detail
