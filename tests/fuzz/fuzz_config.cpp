// Fuzz target: configuration text. ParseConfig on any input must return a Status — never throw,
// crash or hang — and an error must say where it is. For every [[frontend]] section the text
// declares, the section is then validated against the NBD frontend's declared keys exactly as
// the loader does, and a section that validates is read through the host's config services by
// the frontend's own LoadSettings, whose result must respect the documented ranges. Text that
// is not UTF-8 must be refused before toml11 sees it (toml11 3.7 overflows a buffer on some of
// it), at the line and column an independent decoder here finds.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "config/config.h"
#include "frontend_config.h"
#include "loader/host_services.h"
#include "support/fuzz_check.h"

namespace {

// "LINE:COLUMN" (column in characters) of the first byte of `text` that does not start a
// well-formed UTF-8 character, or "" when the text is UTF-8. Written as a decoder, unlike the
// table-driven check it judges: decode the value, then refuse what is too long for it, a
// surrogate, or beyond U+10FFFF.
std::string FirstNonUtf8(std::string_view text) {
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<uint8_t>(text[i]);
    size_t length = 1;
    bool ok = true;
    if (lead >= 0x80) {
      length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
      ok = length != 0 && lead < 0xF8 && i + length <= text.size();
      uint32_t value = ok ? lead & (0x7Fu >> length) : 0;
      for (size_t k = 1; ok && k < length; ++k) {
        const auto next = static_cast<uint8_t>(text[i + k]);
        ok = (next & 0xC0) == 0x80;
        value = (value << 6) | (next & 0x3Fu);
      }
      ok = ok && value >= kSmallest[length] && value <= 0x10FFFF &&
           !(value >= 0xD800 && value <= 0xDFFF);
    }
    if (!ok) return std::to_string(line) + ":" + std::to_string(column);
    if (lead == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return "";
}

// Whether `message` is the UTF-8 refusal: "FILE:LINE:COLUMN: not UTF-8 (…".
bool IsUtf8Refusal(const std::string& message, const std::string& file) {
  if (message.rfind(file + ":", 0) != 0) return false;
  size_t pos = file.size() + 1;
  for (int number = 0; number < 2; ++number) {  // LINE: and COLUMN:
    const size_t end = message.find_first_not_of("0123456789", pos);
    if (end == pos || end == std::string::npos || message[end] != ':') return false;
    pos = end + 1;
  }
  const std::string_view refusal = " not UTF-8 (";
  return message.compare(pos, refusal.size(), refusal) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bp::Config config;
  bp::Status st;
  try {
    st = bp::ParseConfig(text, "/etc/blockpipe/fuzz.toml", &config);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("ParseConfig threw: ") + e.what());
  } catch (...) {
    FUZZ_CHECK(false, "ParseConfig threw a non-standard exception");
  }
  const std::string bad_at = FirstNonUtf8(text);
  if (!bad_at.empty()) {
    const std::string expected = "/etc/blockpipe/fuzz.toml:" + bad_at + ": not UTF-8 (";
    FUZZ_CHECK(!st.ok() && st.message().rfind(expected, 0) == 0,
               "text that is not UTF-8 (at " + bad_at + ") got: " + st.message());
  }
  if (!st.ok()) {
    FUZZ_CHECK(st.message().find("/etc/blockpipe/fuzz.toml") != std::string::npos,
               "error does not name the file: " + st.message());
    FUZZ_CHECK(!bad_at.empty() || !IsUtf8Refusal(st.message(), "/etc/blockpipe/fuzz.toml"),
               "UTF-8 text refused as not UTF-8: " + st.message());
    return 0;
  }
  FUZZ_CHECK(config.file == "/etc/blockpipe/fuzz.toml", "config file path changed");
  for (const bp::VolumeSpec& volume : config.volumes) {
    FUZZ_CHECK(volume.size > 0 && volume.size % 4096 == 0, "unusable volume size accepted");
  }

  for (const bp::PluginSection& section : config.frontends) {
    bp::ResolvedConfig resolved;
    bp::Status valid;
    try {
      valid = bp::ValidatePluginSection(config, section, "nbd", bpnbd::kConfigKeys, &resolved);
    } catch (...) {
      FUZZ_CHECK(false, "ValidatePluginSection threw");
    }
    if (!valid.ok()) continue;
    bp_config instance = bp::MakePluginConfig(std::move(resolved));
    bpnbd::FrontendSettings settings;
    std::string error;
    if (!bpnbd::LoadSettings(bp::HostApi(), &instance, &settings, &error)) {
      FUZZ_CHECK(!error.empty(), "settings refused without a message");
      continue;
    }
    FUZZ_CHECK(!settings.listen.empty(), "no listen address");
    FUZZ_CHECK(settings.threads >= 1 && settings.threads <= 64, "threads out of range");
    FUZZ_CHECK(settings.max_inflight >= 1, "max_inflight of zero");
    FUZZ_CHECK(settings.socket_mode <= 0777, "socket mode beyond permission bits");
    bool any_tls = false;
    for (const bpnbd::ListenAddress& address : settings.listen) {
      // Every listener serves its own tls= option, or else the section's mode.
      FUZZ_CHECK(address.tls == address.tls_option.value_or(settings.tls.mode),
                 "listener TLS mode is neither its option nor the section's");
      any_tls = any_tls || address.tls != bpnbd::TlsMode::kOff;
      if (address.kind == bpnbd::ListenAddress::Kind::kUnix) {
        FUZZ_CHECK(!address.path.empty() && address.path[0] == '/', "relative unix socket path");
        FUZZ_CHECK(address.path.size() < 108, "unix socket path too long for sockaddr_un");
      } else {
        FUZZ_CHECK(!address.host.empty(), "TCP address without a host");
        FUZZ_CHECK(address.text.find_first_of(" \t") == std::string::npos,
                   "a blank in a TCP listen address");
      }
    }
    // TLS material is accepted only where some listener uses it, and a TLS listener has keys.
    FUZZ_CHECK(any_tls == bpnbd::AnyListenerUsesTls(settings), "AnyListenerUsesTls disagrees");
    if (!any_tls) {
      FUZZ_CHECK(settings.tls.psk_file.empty() && settings.tls.certificate.empty() &&
                     settings.allowed_clients.empty(),
                 "TLS material accepted with no TLS listener");
    } else {
      FUZZ_CHECK(!settings.tls.psk_file.empty() || !settings.tls.certificate.empty(),
                 "a TLS listener without keys accepted");
    }
  }
  return 0;
}
