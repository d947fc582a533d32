// The NBD frontend's configuration: the declared key table (what `blockpipe plugins` prints and
// the host validates against), the parsed settings, and the parser for listen addresses.
// Reading happens once in open(); afterwards the settings are plain values shared read-only by
// every thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <blockpipe/bp_common.h>

#include "tls_context.h"

namespace bpnbd {

// The [[frontend]] keys of plugin "nbd", terminated by a NULL name.
extern const bp_config_key kConfigKeys[];

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // kTcp: address or host name without brackets
  uint16_t port = 0;
  std::string path;   // kUnix: absolute path of the socket file
  std::string text;   // the address as written in the config (without options), for messages
  std::string entry;  // the whole `listen` entry, options included, for messages
  // The entry's own `tls=MODE` option, if it has one; otherwise the section's `tls` applies.
  std::optional<TlsMode> tls_option;
  // The mode this listener serves with (tls_option, else the section's `tls`); set by
  // LoadSettings.
  TlsMode tls = TlsMode::kOff;
};

// Parses one `listen` entry: an address — "HOST:PORT", "[V6ADDR]:PORT", "*:PORT" (all IPv4
// addresses) or "unix:PATH" — optionally followed by whitespace-separated options NAME=VALUE
// (today only tls=off|on|require). Options are the trailing words that have the NAME=VALUE form;
// a unix path may still contain spaces. A relative unix path is resolved against base_dir.
// Returns false with a message naming the entry.
bool ParseListenAddress(const std::string& text, const std::string& base_dir, ListenAddress* out,
                        std::string* error);

// "off", "on", "require" → the mode; false for anything else.
bool ParseTlsMode(const std::string& text, TlsMode* mode);
const char* TlsModeName(TlsMode mode);

struct FrontendSettings {
  std::vector<ListenAddress> listen;
  mode_t socket_mode = 0660;
  std::vector<std::string> exports;  // empty: every volume
  uint32_t max_connections = 1024;   // 0: unlimited
  uint32_t threads = 2;
  uint32_t busy_poll_us = 100;  // 0: event-loop threads sleep at once (poll_window.h)
  bool read_only = false;
  uint32_t max_inflight = 128;                // requests per connection
  uint64_t max_inflight_bytes = 64ull << 20;  // READ/WRITE payload bytes per connection
  uint32_t handshake_timeout_ms = 30000;
  uint32_t shutdown_timeout_ms = 30000;
  // tls.mode is the section's `tls`, the default of listen entries without a tls= option; each
  // ListenAddress carries the mode it actually serves with.
  TlsSettings tls;
  // tls_allowed_clients: volume → identities (PSK identity, certificate subject or CN).
  std::map<std::string, std::vector<std::string>> allowed_clients;
};

// Reads every key through the host services. Returns false with a message on a bad value.
bool LoadSettings(const bp_host_api* host, const bp_config* config, FrontendSettings* out,
                  std::string* error);

// The tls* keys (called by LoadSettings, after `listen`): fills in each listener's mode and
// checks that the TLS material fits the listeners; relative paths resolve against base_dir.
bool LoadTlsSettings(const bp_host_api* host, const bp_config* config, const std::string& base_dir,
                     FrontendSettings* out, std::string* error);

// Parses an octal permission string such as "0660" or "660".
bool ParseSocketMode(const std::string& text, mode_t* mode);

// True when some listener serves with TLS "on" or "require".
bool AnyListenerUsesTls(const FrontendSettings& settings);

}  // namespace bpnbd
