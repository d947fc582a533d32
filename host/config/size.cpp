// ParseSize: human sizes for the config and the CLI. Binary units (KiB…EiB, and the short K…E
// that qemu and nbdkit users type) are powers of 1024; SI units (kB, MB, GB, TB, PB, EB) are
// powers of 1000. A fraction is allowed when the result is a whole number of bytes
// ("1.5GiB", "0.5KiB"); anything else, overflow included, is refused with the accepted forms.
#include <cctype>
#include <string>

#include "config/config.h"

namespace bp {
namespace {

struct Unit {
  const char* name;
  uint64_t multiplier;
};

constexpr uint64_t kKi = 1024;
constexpr Unit kUnits[] = {
    {"", 1},
    {"b", 1},
    {"k", kKi},
    {"kib", kKi},
    {"m", kKi* kKi},
    {"mib", kKi* kKi},
    {"g", kKi* kKi* kKi},
    {"gib", kKi* kKi* kKi},
    {"t", kKi* kKi* kKi* kKi},
    {"tib", kKi* kKi* kKi* kKi},
    {"p", kKi* kKi* kKi* kKi* kKi},
    {"pib", kKi* kKi* kKi* kKi* kKi},
    {"e", kKi* kKi* kKi* kKi* kKi* kKi},
    {"eib", kKi* kKi* kKi* kKi* kKi* kKi},
    {"kb", 1000ull},
    {"mb", 1000ull * 1000},
    {"gb", 1000ull * 1000 * 1000},
    {"tb", 1000ull * 1000 * 1000 * 1000},
    {"pb", 1000ull * 1000 * 1000 * 1000 * 1000},
    {"eb", 1000ull * 1000 * 1000 * 1000 * 1000 * 1000},
};

Status Bad(const std::string& text, const std::string& why) {
  return Status::Invalid("`" + text + "` is not a size (" + why +
                         "; use bytes or a number with KiB, MiB, GiB, TiB, or kB, MB, GB, TB)");
}

}  // namespace

Status ParseSize(const std::string& text, uint64_t* bytes) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string whole, fraction;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) whole += text[i++];
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
      fraction += text[i++];
    if (fraction.empty()) return Bad(text, "a digit must follow the decimal point");
  }
  if (whole.empty() && fraction.empty()) return Bad(text, "no number");
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit;
  while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i != text.size()) return Bad(text, "unexpected text after the unit");

  uint64_t multiplier = 0;
  for (const auto& u : kUnits) {
    if (unit == u.name) multiplier = u.multiplier;
  }
  if (multiplier == 0) return Bad(text, "unknown unit `" + unit + "`");
  if (whole.size() > 20 || fraction.size() > 18) return Bad(text, "too many digits");

  // Exact arithmetic in 128 bits: value = (whole * 10^f + fraction) * multiplier / 10^f.
  unsigned __int128 scale = 1;
  for (size_t k = 0; k < fraction.size(); ++k) scale *= 10;
  unsigned __int128 numerator = 0;
  for (char c : whole) numerator = numerator * 10 + static_cast<unsigned>(c - '0');
  for (char c : fraction) numerator = numerator * 10 + static_cast<unsigned>(c - '0');
  // Once the whole part times the multiplier is known to fit in 64 bits, the product is below
  // 2^64 * 10^18, well inside 128 bits.
  if (numerator / scale > UINT64_MAX / multiplier) return Bad(text, "too large");
  const unsigned __int128 product = numerator * multiplier;
  if (product % scale != 0) return Bad(text, "not a whole number of bytes");
  const unsigned __int128 value = product / scale;
  if (value > UINT64_MAX) return Bad(text, "too large");
  *bytes = static_cast<uint64_t>(value);
  return Status::Ok();
}

}  // namespace bp
