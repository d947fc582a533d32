// Fuzz target: configuration text. ParseConfig on any input must return a Status — never throw,
// crash or hang — and an error must say where it is. For every [[frontend]] section the text
// declares, the section is then validated against the NBD frontend's declared keys exactly as
// the loader does, and a section that validates is read through the host's config services by
// the frontend's own LoadSettings, whose result must respect the documented ranges.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "config/config.h"
#include "frontend_config.h"
#include "loader/host_services.h"
#include "support/fuzz_check.h"

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
  if (!st.ok()) {
    FUZZ_CHECK(st.message().find("/etc/blockpipe/fuzz.toml") != std::string::npos,
               "error does not name the file: " + st.message());
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
    for (const bpnbd::ListenAddress& address : settings.listen) {
      if (address.kind == bpnbd::ListenAddress::Kind::kUnix) {
        FUZZ_CHECK(!address.path.empty() && address.path[0] == '/', "relative unix socket path");
        FUZZ_CHECK(address.path.size() < 108, "unix socket path too long for sockaddr_un");
      } else {
        FUZZ_CHECK(!address.host.empty(), "TCP address without a host");
      }
    }
  }
  return 0;
}
