// Declared config keys of the NBD frontend and their parsing into FrontendSettings. Every value
// is range-checked here so that the rest of the plugin can trust it; error messages name the key
// and the offending value because they end up in front of the operator at startup.
#include "frontend_config.h"

#include <sys/un.h>

#include <cctype>
#include <charconv>

namespace bpnbd {

const bp_config_key kConfigKeys[] = {
    {"listen", BP_CFG_LIST, "127.0.0.1:10809", 0,
     "Addresses to serve on: \"HOST:PORT\", \"[IPV6]:PORT\", \"*:PORT\" or \"unix:PATH\" "
     "(relative paths are relative to the config file), each optionally followed by "
     "\" tls=off|on|require\", that listener's own TLS mode instead of `tls`."},
    {"socket_mode", BP_CFG_STRING, "0660", 0,
     "Octal permissions of unix socket files created by `listen`."},
    {"exports", BP_CFG_LIST, nullptr, 0,
     "Volume names this frontend may export; empty or absent exports every volume."},
    {"max_connections", BP_CFG_INT, "1024", 0,
     "Connections served at once; further clients are disconnected at once. 0 is unlimited."},
    {"threads", BP_CFG_INT, "2", 0, "Event-loop threads serving the connections."},
    {"busy_poll_us", BP_CFG_INT, "100", 0,
     "Longest time (microseconds) an event-loop thread polls its sockets before sleeping, "
     "adapted to the traffic: requests arriving closer together than this are picked up "
     "without a wake-up, at the price of CPU while polling. 0 sleeps at once."},
    {"read_only", BP_CFG_BOOL, "false", 0, "Export every volume read-only."},
    {"max_inflight", BP_CFG_INT, "128", 0,
     "Requests one connection may have in flight; the server stops reading from a client at "
     "this bound."},
    {"max_inflight_bytes", BP_CFG_SIZE, "64MiB", 0,
     "READ/WRITE payload bytes one connection may have in flight (one larger request is still "
     "admitted when the connection is otherwise idle)."},
    {"handshake_timeout", BP_CFG_INT, "30", 0,
     "Seconds a client may take to finish option negotiation before it is disconnected."},
    {"shutdown_timeout", BP_CFG_INT, "30", 0,
     "Seconds stop waits for in-flight requests and replies before closing connections."},
    {"tls", BP_CFG_STRING, "off", 0,
     "TLS on this section's listeners (those whose `listen` entry names no tls= of its own): "
     "\"off\" (STARTTLS refused), \"on\" (clients may upgrade; exports with "
     "tls_allowed_clients need it) or \"require\" (every option but STARTTLS is refused until "
     "TLS is up, so nothing is revealed in the clear)."},
    {"tls_certificate", BP_CFG_STRING, nullptr, 0,
     "PEM certificate chain of the server (X.509); relative to the config file."},
    {"tls_key", BP_CFG_STRING, nullptr, 0,
     "PEM private key of tls_certificate; must not be readable by group or others."},
    {"tls_ca", BP_CFG_STRING, nullptr, 0,
     "PEM CA bundle that client certificates are verified against."},
    {"tls_verify_clients", BP_CFG_BOOL, "false", 0,
     "Require every X.509 client to present a certificate signed by tls_ca."},
    {"tls_psk_file", BP_CFG_STRING, nullptr, 0,
     "Pre-shared keys, one \"identity:hexkey\" per line (nbdkit's format); must not be readable "
     "by group or others."},
    {"tls_min_version", BP_CFG_STRING, "1.2", 0,
     "Oldest TLS version accepted: \"1.2\" or \"1.3\"."},
    {"tls_allowed_clients", BP_CFG_LIST, nullptr, 0,
     "Entries \"VOLUME:IDENTITY\": a volume named here is served only over TLS and only to the "
     "listed identities (PSK identity, certificate subject in RFC 2253 form, or its CN)."},
    {nullptr, 0, nullptr, 0, nullptr},
};

namespace {

bool ParsePort(const std::string& text, uint16_t* port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// An integer key with an inclusive range; absent keys keep the current value.
bool ReadInt(const bp_host_api* host, const bp_config* config, const char* key, int64_t min,
             int64_t max, int64_t* value, std::string* error) {
  if (!host->config_has(config, key)) return true;
  int64_t v = host->config_int(config, key);
  if (v < min || v > max) {
    *error = std::string("`") + key + "` must be between " + std::to_string(min) + " and " +
             std::to_string(max) + " (got " + std::to_string(v) + ")";
    return false;
  }
  *value = v;
  return true;
}

}  // namespace

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// "name=value" with a name of lowercase letters and '_': the form of a listen option.
bool IsOptionWord(const std::string& word) {
  const size_t eq = word.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    if (!std::islower(static_cast<unsigned char>(word[i])) && word[i] != '_') return false;
  }
  return true;
}

// Splits a listen entry into its address and the option words after it. Options are taken from
// the end while the last word has the NAME=VALUE form, so "unix:/srv/my disk.sock" keeps its
// space, and an entry without options (even one ending in a blank) is left exactly as written.
void SplitListenOptions(const std::string& entry, std::string* address,
                        std::vector<std::string>* options) {
  size_t end = entry.size();
  while (end > 0) {
    size_t start = end;
    while (start > 0 && !IsBlank(entry[start - 1])) --start;
    if (start == 0 || start == end) break;  // the first word is the address; "" is no option
    std::string word = entry.substr(start, end - start);
    if (!IsOptionWord(word)) break;
    options->insert(options->begin(), std::move(word));
    end = start;
    while (end > 0 && IsBlank(entry[end - 1])) --end;
  }
  *address = entry.substr(0, end);
}

bool ApplyListenOption(const std::string& entry, const std::string& option, ListenAddress* out,
                       std::string* error) {
  const size_t eq = option.find('=');
  const std::string name = option.substr(0, eq), value = option.substr(eq + 1);
  if (name != "tls") {
    *error = "`listen` entry \"" + entry + "\": unknown option \"" + name + "\" (known: tls)";
    return false;
  }
  if (out->tls_option) {
    *error = "`listen` entry \"" + entry + "\": tls= is given twice";
    return false;
  }
  TlsMode mode;
  if (!ParseTlsMode(value, &mode)) {
    *error = "`listen` entry \"" + entry + "\": tls=" + value +
             ": must be \"off\", \"on\" or \"require\"";
    return false;
  }
  out->tls_option = mode;
  return true;
}

}  // namespace

bool ParseTlsMode(const std::string& text, TlsMode* mode) {
  if (text == "off") {
    *mode = TlsMode::kOff;
  } else if (text == "on") {
    *mode = TlsMode::kOn;
  } else if (text == "require") {
    *mode = TlsMode::kRequire;
  } else {
    return false;
  }
  return true;
}

const char* TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kOff: return "off";
    case TlsMode::kOn: return "on";
    case TlsMode::kRequire: return "require";
  }
  return "?";
}

bool ParseListenAddress(const std::string& entry, const std::string& base_dir, ListenAddress* out,
                        std::string* error) {
  *out = ListenAddress{};
  out->entry = entry;
  std::string text;
  std::vector<std::string> options;
  SplitListenOptions(entry, &text, &options);
  for (const std::string& option : options) {
    if (!ApplyListenOption(entry, option, out, error)) return false;
  }
  out->text = text;
  const std::string where = "`listen` entry \"" + entry + "\": ";
  if (text.rfind("unix:", 0) == 0) {
    std::string path = text.substr(5);
    if (path.empty()) {
      *error = where + "empty unix socket path";
      return false;
    }
    if (path[0] != '/') path = (base_dir.empty() ? std::string(".") : base_dir) + "/" + path;
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      *error = where + "unix socket path is longer than " +
               std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes";
      return false;
    }
    out->kind = ListenAddress::Kind::kUnix;
    out->path = path;
    return true;
  }
  // Host names and ports never contain blanks: a word left over here is neither part of the
  // address nor an option.
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsBlank(text[i])) continue;
    size_t start = i;
    while (start < text.size() && IsBlank(text[start])) ++start;
    *error = where + "unexpected \"" + text.substr(start) +
             "\" after the address (options are NAME=VALUE, such as tls=require)";
    return false;
  }
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = where + "expected \"[IPV6]:PORT\"";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      *error = where + "expected \"HOST:PORT\", \"[IPV6]:PORT\" or \"unix:PATH\"";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      *error = where + "put IPv6 addresses in brackets, as [::1]:10809";
      return false;
    }
  }
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (!ParsePort(port, &out->port)) {
    *error = where + "bad port \"" + port + "\" (0-65535)";
    return false;
  }
  out->kind = ListenAddress::Kind::kTcp;
  out->host = host;
  return true;
}

bool ParseSocketMode(const std::string& text, mode_t* mode) {
  if (text.empty() || text.size() > 4) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return false;
    value = value * 8 + static_cast<unsigned>(c - '0');
  }
  if (value > 0777) return false;
  *mode = static_cast<mode_t>(value);
  return true;
}

bool LoadSettings(const bp_host_api* host, const bp_config* config, FrontendSettings* out,
                  std::string* error) {
  *out = FrontendSettings{};
  const char* dir = host->config_dir ? host->config_dir(config) : nullptr;
  std::string base_dir = dir ? dir : "";

  size_t listen_count = host->config_list_count(config, "listen");
  std::vector<std::string> listen;
  for (size_t i = 0; i < listen_count; ++i) {
    const char* item = host->config_list_item(config, "listen", i);
    if (item) listen.emplace_back(item);
  }
  // A host that does not expand LIST defaults hands us nothing: serve the documented default.
  if (listen.empty()) listen.emplace_back("127.0.0.1:10809");
  for (const std::string& entry : listen) {
    ListenAddress address;
    if (!ParseListenAddress(entry, base_dir, &address, error)) return false;
    out->listen.push_back(address);
  }

  if (host->config_has(config, "socket_mode")) {
    const char* mode = host->config_string(config, "socket_mode");
    if (!mode || !ParseSocketMode(mode, &out->socket_mode)) {
      *error = std::string("`socket_mode` must be an octal permission such as \"0660\" (got \"") +
               (mode ? mode : "") + "\")";
      return false;
    }
  }

  size_t export_count = host->config_list_count(config, "exports");
  for (size_t i = 0; i < export_count; ++i) {
    const char* item = host->config_list_item(config, "exports", i);
    if (!item || !*item) {
      *error = "`exports` entries must be non-empty volume names";
      return false;
    }
    out->exports.emplace_back(item);
  }

  int64_t v = out->max_connections;
  if (!ReadInt(host, config, "max_connections", 0, 1000000, &v, error)) return false;
  out->max_connections = static_cast<uint32_t>(v);
  v = out->threads;
  if (!ReadInt(host, config, "threads", 1, 64, &v, error)) return false;
  out->threads = static_cast<uint32_t>(v);
  v = out->busy_poll_us;
  if (!ReadInt(host, config, "busy_poll_us", 0, 10000, &v, error)) return false;
  out->busy_poll_us = static_cast<uint32_t>(v);
  v = out->max_inflight;
  if (!ReadInt(host, config, "max_inflight", 1, 4096, &v, error)) return false;
  out->max_inflight = static_cast<uint32_t>(v);
  v = static_cast<int64_t>(out->max_inflight_bytes);
  if (!ReadInt(host, config, "max_inflight_bytes", 4096, int64_t{16} << 30, &v, error)) {
    return false;
  }
  out->max_inflight_bytes = static_cast<uint64_t>(v);
  v = out->handshake_timeout_ms / 1000;
  if (!ReadInt(host, config, "handshake_timeout", 1, 3600, &v, error)) return false;
  out->handshake_timeout_ms = static_cast<uint32_t>(v * 1000);
  v = out->shutdown_timeout_ms / 1000;
  if (!ReadInt(host, config, "shutdown_timeout", 1, 3600, &v, error)) return false;
  out->shutdown_timeout_ms = static_cast<uint32_t>(v * 1000);
  if (host->config_has(config, "read_only")) {
    out->read_only = host->config_bool(config, "read_only") != 0;
  }
  return LoadTlsSettings(host, config, base_dir, out, error);
}

namespace {

std::string ReadPath(const bp_host_api* host, const bp_config* config, const char* key,
                     const std::string& base_dir) {
  if (!host->config_has(config, key)) return {};
  const char* value = host->config_string(config, key);
  std::string path = value ? value : "";
  if (!path.empty() && path[0] != '/') {
    path = (base_dir.empty() ? std::string(".") : base_dir) + "/" + path;
  }
  return path;
}

}  // namespace

bool AnyListenerUsesTls(const FrontendSettings& settings) {
  for (const ListenAddress& address : settings.listen) {
    if (address.tls != TlsMode::kOff) return true;
  }
  return false;
}

bool LoadTlsSettings(const bp_host_api* host, const bp_config* config, const std::string& base_dir,
                     FrontendSettings* out, std::string* error) {
  TlsSettings& tls = out->tls;
  if (host->config_has(config, "tls")) {
    const char* mode = host->config_string(config, "tls");
    std::string m = mode ? mode : "";
    if (!ParseTlsMode(m, &tls.mode)) {
      *error = "`tls` must be \"off\", \"on\" or \"require\" (got \"" + m + "\")";
      return false;
    }
  }
  // The section's mode is the default of every listen entry that does not name its own.
  for (ListenAddress& address : out->listen) address.tls = address.tls_option.value_or(tls.mode);
  tls.certificate = ReadPath(host, config, "tls_certificate", base_dir);
  tls.key = ReadPath(host, config, "tls_key", base_dir);
  tls.ca = ReadPath(host, config, "tls_ca", base_dir);
  tls.psk_file = ReadPath(host, config, "tls_psk_file", base_dir);
  if (host->config_has(config, "tls_verify_clients")) {
    tls.verify_clients = host->config_bool(config, "tls_verify_clients") != 0;
  }
  if (host->config_has(config, "tls_min_version")) {
    const char* v = host->config_string(config, "tls_min_version");
    tls.min_version = v ? v : "";
    if (tls.min_version != "1.2" && tls.min_version != "1.3") {
      *error = "`tls_min_version` must be \"1.2\" or \"1.3\" (got \"" + tls.min_version + "\")";
      return false;
    }
  }
  size_t count = host->config_list_count(config, "tls_allowed_clients");
  for (size_t i = 0; i < count; ++i) {
    const char* item = host->config_list_item(config, "tls_allowed_clients", i);
    std::string entry = item ? item : "";
    size_t colon = entry.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) {
      *error = "`tls_allowed_clients` entry \"" + entry + "\": expected \"VOLUME:IDENTITY\"";
      return false;
    }
    out->allowed_clients[entry.substr(0, colon)].push_back(entry.substr(colon + 1));
  }
  if (!AnyListenerUsesTls(*out)) {
    const char* given = !tls.certificate.empty()        ? "tls_certificate"
                        : !tls.psk_file.empty()         ? "tls_psk_file"
                        : !out->allowed_clients.empty() ? "tls_allowed_clients"
                                                        : nullptr;
    if (given) {
      *error = std::string("`") + given +
               "` is given but no listener uses TLS: set `tls` to \"on\" or \"require\", or "
               "add tls=on or tls=require to a `listen` entry";
      return false;
    }
    return true;
  }
  if (tls.certificate.empty() && tls.psk_file.empty()) {
    for (const ListenAddress& address : out->listen) {
      if (address.tls == TlsMode::kOff) continue;
      *error = address.tls_option
                   ? "`listen` entry \"" + address.entry + "\" serves TLS, which needs "
                   : std::string("`tls` = \"") + TlsModeName(address.tls) + "\" needs ";
      *error += "`tls_certificate` and `tls_key`, or `tls_psk_file`";
      return false;
    }
  }
  return true;
}

}  // namespace bpnbd
