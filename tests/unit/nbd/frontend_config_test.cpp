// The NBD frontend's configuration: listen-address and socket-mode parsing, and LoadSettings
// reading a [[frontend]] section the way the daemon hands it over — parsed by ParseConfig,
// validated against kConfigKeys by ValidatePluginSection, read through the host's real config
// services.
#include <gtest/gtest.h>

#include "config/config.h"
#include "frontend_config.h"
#include "loader/host_services.h"
#include "support/status_assert.h"

namespace bpnbd::test {
namespace {

ListenAddress Parse(const std::string& text, const std::string& base = "/srv/bp") {
  ListenAddress address;
  std::string error;
  EXPECT_TRUE(ParseListenAddress(text, base, &address, &error)) << text << ": " << error;
  return address;
}

std::string Refusal(const std::string& text) {
  ListenAddress address;
  std::string error;
  EXPECT_FALSE(ParseListenAddress(text, "/srv/bp", &address, &error)) << text;
  return error;
}

TEST(ListenAddress, TcpForms) {
  ListenAddress a = Parse("127.0.0.1:10809");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 10809);
  EXPECT_EQ(a.text, "127.0.0.1:10809");
  a = Parse("[::1]:0");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(Parse("*:65535").host, "0.0.0.0");
  EXPECT_EQ(Parse(":80").host, "0.0.0.0");
  EXPECT_EQ(Parse("localhost:1").host, "localhost");
}

TEST(ListenAddress, UnixFormsResolveAgainstTheConfigDirectory) {
  ListenAddress a = Parse("unix:nbd.sock");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(a.path, "/srv/bp/nbd.sock");
  EXPECT_EQ(Parse("unix:/run/nbd.sock").path, "/run/nbd.sock");
}

TEST(ListenAddress, RefusalsNameTheEntry) {
  EXPECT_NE(Refusal("unix:").find("empty unix socket path"), std::string::npos);
  EXPECT_NE(Refusal("10809").find("\"10809\""), std::string::npos);
  EXPECT_NE(Refusal("::1:10809").find("brackets"), std::string::npos);
  EXPECT_NE(Refusal("host:65536").find("bad port"), std::string::npos);
  EXPECT_NE(Refusal("host:").find("bad port"), std::string::npos);
  EXPECT_NE(Refusal("host:12a").find("bad port"), std::string::npos);
  EXPECT_NE(Refusal("host:-1").find("bad port"), std::string::npos);
  EXPECT_NE(Refusal("[::1]10809").find("[IPV6]:PORT"), std::string::npos);
  EXPECT_NE(Refusal("[::1").find("[IPV6]:PORT"), std::string::npos);
  EXPECT_NE(Refusal("unix:/" + std::string(107, 'x')).find("longer than 107 bytes"),
            std::string::npos);
}

TEST(ListenAddress, TlsOptionAfterTheAddress) {
  ListenAddress a = Parse("0.0.0.0:10809 tls=require");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 10809);
  EXPECT_EQ(a.text, "0.0.0.0:10809");
  EXPECT_EQ(a.entry, "0.0.0.0:10809 tls=require");
  ASSERT_TRUE(a.tls_option.has_value());
  EXPECT_EQ(*a.tls_option, TlsMode::kRequire);
  a = Parse("unix:nbd.sock\t tls=off");
  EXPECT_EQ(a.path, "/srv/bp/nbd.sock");
  EXPECT_EQ(a.tls_option, TlsMode::kOff);
  EXPECT_EQ(Parse("[::1]:1 tls=on").tls_option, TlsMode::kOn);
  EXPECT_FALSE(Parse("127.0.0.1:1").tls_option.has_value());
}

TEST(ListenAddress, UnixPathsKeepTheirBlanks) {
  // Only trailing NAME=VALUE words are options: blanks inside a path are kept, and an entry
  // without options is taken exactly as written.
  EXPECT_EQ(Parse("unix:/srv/my disk/nbd.sock").path, "/srv/my disk/nbd.sock");
  EXPECT_EQ(Parse("unix:/srv/a=b c").path, "/srv/a=b c");
  EXPECT_EQ(Parse("unix:/srv/x.sock ").path, "/srv/x.sock ");
  ListenAddress a = Parse("unix:/srv/my disk.sock tls=require");
  EXPECT_EQ(a.path, "/srv/my disk.sock");
  EXPECT_EQ(a.tls_option, TlsMode::kRequire);
}

TEST(ListenAddress, BadOptionsAreRefusedNamingTheEntry) {
  EXPECT_NE(Refusal("0.0.0.0:1 tls=maybe").find("tls=maybe: must be \"off\", \"on\" or"),
            std::string::npos);
  EXPECT_NE(Refusal("0.0.0.0:1 tls=").find("tls=: must be"), std::string::npos);
  EXPECT_NE(Refusal("0.0.0.0:1 tsl=on").find("unknown option \"tsl\" (known: tls)"),
            std::string::npos);
  EXPECT_NE(Refusal("unix:x.sock tls=on tls=off").find("tls= is given twice"), std::string::npos);
  std::string e = Refusal("0.0.0.0:1 require");
  EXPECT_NE(e.find("`listen` entry \"0.0.0.0:1 require\""), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected \"require\" after the address"), std::string::npos) << e;
  EXPECT_NE(Refusal("0.0.0.0:1 TLS=on").find("unexpected \"TLS=on\""), std::string::npos);
}

TEST(SocketMode, OctalPermissionsOnly) {
  mode_t mode = 0;
  EXPECT_TRUE(ParseSocketMode("0660", &mode));
  EXPECT_EQ(mode, 0660u);
  EXPECT_TRUE(ParseSocketMode("600", &mode));
  EXPECT_EQ(mode, 0600u);
  for (const char* bad : {"", "0668", "1777", "07777", "rw-", "-1", "0x1ff"}) {
    EXPECT_FALSE(ParseSocketMode(bad, &mode)) << bad;
  }
}

// LoadSettings over the real host services, from the body of a [[frontend]] section.
bool Load(const std::string& body, FrontendSettings* settings, std::string* error) {
  bp::Config config;
  const std::string text =
      "[backend]\nurl = \"file:///x\"\n[[frontend]]\nplugin = \"nbd\"\n" + body;
  bp::Status st = bp::ParseConfig(text, "/srv/bp/blockpipe.toml", &config);
  EXPECT_OK(st);
  if (!st.ok()) return false;
  bp::ResolvedConfig resolved;
  st = bp::ValidatePluginSection(config, config.frontends.at(0), "nbd", kConfigKeys, &resolved);
  EXPECT_OK(st);
  if (!st.ok()) return false;
  bp_config instance = bp::MakePluginConfig(std::move(resolved));
  return LoadSettings(bp::HostApi(), &instance, settings, error);
}

TEST(LoadSettings, DefaultsMatchTheDeclaredKeys) {
  FrontendSettings s;
  std::string error;
  ASSERT_TRUE(Load("", &s, &error)) << error;
  ASSERT_EQ(s.listen.size(), 1u);
  EXPECT_EQ(s.listen[0].host, "127.0.0.1");
  EXPECT_EQ(s.listen[0].port, 10809);
  EXPECT_EQ(s.socket_mode, 0660u);
  EXPECT_TRUE(s.exports.empty());
  EXPECT_EQ(s.max_connections, 1024u);
  EXPECT_EQ(s.threads, 2u);
  EXPECT_EQ(s.busy_poll_us, 100u);
  EXPECT_FALSE(s.read_only);
  EXPECT_EQ(s.max_inflight, 128u);
  EXPECT_EQ(s.max_inflight_bytes, 64ull << 20);
  EXPECT_EQ(s.handshake_timeout_ms, 30000u);
  EXPECT_EQ(s.shutdown_timeout_ms, 30000u);
}

TEST(LoadSettings, EveryKeyIsRead) {
  FrontendSettings s;
  std::string error;
  ASSERT_TRUE(
      Load("listen = [\"[::1]:10810\", \"unix:nbd.sock\"]\nsocket_mode = \"0600\"\n"
           "exports = [\"default\", \"other\"]\nmax_connections = 0\nthreads = 4\n"
           "busy_poll_us = 0\nread_only = true\nmax_inflight = 16\nmax_inflight_bytes = \"1MiB\"\n"
           "handshake_timeout = 5\nshutdown_timeout = 7\n",
           &s, &error))
      << error;
  ASSERT_EQ(s.listen.size(), 2u);
  EXPECT_EQ(s.listen[0].host, "::1");
  EXPECT_EQ(s.listen[1].path, "/srv/bp/nbd.sock");
  EXPECT_EQ(s.socket_mode, 0600u);
  EXPECT_EQ(s.exports, (std::vector<std::string>{"default", "other"}));
  EXPECT_EQ(s.max_connections, 0u);
  EXPECT_EQ(s.threads, 4u);
  EXPECT_EQ(s.busy_poll_us, 0u);
  EXPECT_TRUE(s.read_only);
  EXPECT_EQ(s.max_inflight, 16u);
  EXPECT_EQ(s.max_inflight_bytes, 1u << 20);
  EXPECT_EQ(s.handshake_timeout_ms, 5000u);
  EXPECT_EQ(s.shutdown_timeout_ms, 7000u);
}

TEST(LoadSettings, ListenersTakeTheSectionTlsModeUnlessTheyNameTheirOwn) {
  FrontendSettings s;
  std::string error;
  // Existing configs: one `tls` for every listener.
  ASSERT_TRUE(
      Load("listen = [\"unix:a.sock\", \"127.0.0.1:1\"]\ntls = \"require\"\n"
           "tls_psk_file = \"k.psk\"\n",
           &s, &error))
      << error;
  EXPECT_EQ(s.listen[0].tls, TlsMode::kRequire);
  EXPECT_EQ(s.listen[1].tls, TlsMode::kRequire);
  EXPECT_TRUE(AnyListenerUsesTls(s));
  // A plaintext unix socket next to a TLS-only TCP port, both ways round.
  ASSERT_TRUE(
      Load("listen = [\"unix:a.sock tls=off\", \"127.0.0.1:1\"]\ntls = \"require\"\n"
           "tls_psk_file = \"k.psk\"\n",
           &s, &error))
      << error;
  EXPECT_EQ(s.listen[0].tls, TlsMode::kOff);
  EXPECT_EQ(s.listen[1].tls, TlsMode::kRequire);
  ASSERT_TRUE(
      Load("listen = [\"unix:a.sock\", \"127.0.0.1:1 tls=require\", \"127.0.0.1:2 tls=on\"]"
           "\ntls_psk_file = \"k.psk\"\n",
           &s, &error))
      << error;
  EXPECT_EQ(s.tls.mode, TlsMode::kOff);
  EXPECT_EQ(s.listen[0].tls, TlsMode::kOff);
  EXPECT_EQ(s.listen[1].tls, TlsMode::kRequire);
  EXPECT_EQ(s.listen[2].tls, TlsMode::kOn);
  EXPECT_EQ(s.tls.psk_file, "/srv/bp/k.psk");
  // No TLS anywhere, no TLS material: fine.
  ASSERT_TRUE(Load("listen = [\"unix:a.sock tls=off\"]\n", &s, &error)) << error;
  EXPECT_FALSE(AnyListenerUsesTls(s));
}

TEST(LoadSettings, TlsMaterialMustFitTheListeners) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"tls = \"sometimes\"\n", "`tls` must be \"off\", \"on\" or \"require\" (got \"sometimes\")"},
      {"tls_psk_file = \"k.psk\"\n", "`tls_psk_file` is given but no listener uses TLS"},
      {"listen = [\"127.0.0.1:1 tls=off\"]\ntls = \"on\"\ntls_psk_file = \"k.psk\"\n",
       "`tls_psk_file` is given but no listener uses TLS"},
      {"tls_certificate = \"c.pem\"\ntls_key = \"k.pem\"\n", "`tls_certificate` is given"},
      {"tls_allowed_clients = [\"v:id\"]\n", "`tls_allowed_clients` is given"},
      {"tls = \"require\"\n", "`tls` = \"require\" needs `tls_certificate` and `tls_key`, or "},
      {"listen = [\"unix:a.sock\", \"127.0.0.1:1 tls=on\"]\n",
       "`listen` entry \"127.0.0.1:1 tls=on\" serves TLS, which needs `tls_certificate`"},
  };
  for (const Case& c : cases) {
    FrontendSettings s;
    std::string error;
    EXPECT_FALSE(Load(c.body, &s, &error)) << c.body;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.body << " → " << error;
  }
}

TEST(LoadSettings, OutOfRangeValuesAreRefusedNamingTheKey) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"threads = 0\n", "`threads` must be between 1 and 64"},
      {"threads = 65\n", "`threads`"},
      {"busy_poll_us = -1\n", "`busy_poll_us` must be between 0 and 10000"},
      {"busy_poll_us = 10001\n", "`busy_poll_us`"},
      {"max_inflight = 5000\n", "`max_inflight`"},
      {"max_inflight_bytes = \"1KiB\"\n", "`max_inflight_bytes`"},
      {"handshake_timeout = 0\n", "`handshake_timeout`"},
      {"shutdown_timeout = 3601\n", "`shutdown_timeout`"},
      {"max_connections = -1\n", "`max_connections`"},
      {"socket_mode = \"999\"\n", "`socket_mode`"},
      {"exports = [\"\"]\n", "`exports`"},
      {"listen = [\"nowhere\"]\n", "`listen` entry \"nowhere\""},
  };
  for (const Case& c : cases) {
    FrontendSettings s;
    std::string error;
    EXPECT_FALSE(Load(c.body, &s, &error)) << c.body;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.body << " → " << error;
  }
}

}  // namespace
}  // namespace bpnbd::test
