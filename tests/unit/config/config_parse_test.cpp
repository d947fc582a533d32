// ParseConfig / LoadConfig: defaults, every host-owned section, paths, ${VAR}, and each error
// path with the exact FILE:LINE in its message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "config/config.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

const char* kFile = "/etc/bp/blockpipe.toml";
const std::string kMinimal =
    "[backend]\n"                      // 1
    "url = \"file:///srv/objects\"\n"  // 2
    "\n"                               // 3
    "[[frontend]]\n"                   // 4
    "plugin = \"nbd\"\n";              // 5

Config MustParse(const std::string& text) {
  Config c;
  Status st = ParseConfig(text, kFile, &c);
  EXPECT_OK(st);
  return c;
}

std::string ErrorOf(const std::string& text) {
  Config c;
  Status st = ParseConfig(text, kFile, &c);
  EXPECT_FALSE(st.ok()) << "accepted:\n" << text;
  EXPECT_EQ(st.code(), Status::Code::kInvalid);
  return st.message();
}

TEST(Config, MinimalGetsDefaults) {
  Config c = MustParse(kMinimal);
  EXPECT_EQ(c.file, "/etc/bp/blockpipe.toml");
  EXPECT_EQ(c.dir, "/etc/bp");
  EXPECT_EQ(c.host.data_dir, "/etc/bp");
  EXPECT_EQ(c.host.control_socket, "/etc/bp/control.sock");
  EXPECT_TRUE(c.host.plugin_dirs.empty());
  EXPECT_EQ(c.host.log_level, "info");
  EngineOptions d;
  EXPECT_EQ(c.engine.segment_size, d.segment_size);
  EXPECT_EQ(c.engine.unit_size, d.unit_size);
  EXPECT_EQ(c.engine.retry_deadline_ms, d.retry_deadline_ms);
  EXPECT_TRUE(c.backend.plugin.empty());
  EXPECT_EQ(c.backend.table, "backend");
  EXPECT_EQ(c.backend.line, 1);
  ASSERT_EQ(c.backend.values.count("url"), 1u);
  EXPECT_EQ(c.backend.values.at("url").text, "file:///srv/objects");
  EXPECT_EQ(c.backend.values.at("url").line, 2);
  EXPECT_TRUE(c.codecs.empty());
  ASSERT_EQ(c.frontends.size(), 1u);
  EXPECT_EQ(c.frontends[0].plugin, "nbd");
  EXPECT_EQ(c.frontends[0].table, "frontend[0]");
  EXPECT_EQ(c.frontends[0].line, 4);
  EXPECT_TRUE(c.volumes.empty());
}

TEST(Config, HostSectionAndRelativePaths) {
  Config c = MustParse(
      "[host]\n"
      "data_dir = \"data\"\n"
      "plugin_dirs = [\"plugins\", \"/opt/bp/plugins\", \"../shared\"]\n"
      "log_level = \"debug\"\n" +
      kMinimal);
  EXPECT_EQ(c.host.data_dir, "/etc/bp/data");
  EXPECT_EQ(c.host.control_socket, "/etc/bp/data/control.sock") << "default follows data_dir";
  EXPECT_EQ(c.host.plugin_dirs, (std::vector<std::filesystem::path>{
                                    "/etc/bp/plugins", "/opt/bp/plugins", "/etc/shared"}));
  EXPECT_EQ(c.host.log_level, "debug");

  c = MustParse("[host]\ncontrol_socket = \"run/ctl.sock\"\n" + kMinimal);
  EXPECT_EQ(c.host.control_socket, "/etc/bp/run/ctl.sock") << "relative to the config file";
}

TEST(Config, ControlSocketPathMustFitSunPath) {
  const std::string deep(110, 'd');
  EXPECT_THAT(ErrorOf("[host]\ndata_dir = \"/" + deep + "\"\n" + kMinimal),
              HasSubstr("/etc/bp/blockpipe.toml:2: [host] key `data_dir` gives a control socket "
                        "path of 124 bytes; "
                        "Unix socket paths are limited to 107"));
  EXPECT_THAT(ErrorOf("[host]\ncontrol_socket = \"/" + deep + "\"\n" + kMinimal),
              HasSubstr("blockpipe.toml:2: [host] key `control_socket` gives a control socket path "
                        "of 111 bytes"));
  Config c;
  Status st = ParseConfig(kMinimal, "/" + deep + "/bp.toml", &c);
  EXPECT_THAT(st.message(), HasSubstr("the default control socket"));
  EXPECT_THAT(st.message(), HasSubstr("set [host] control_socket"));
}

TEST(Config, RelativeConfigFileIsMadeAbsolute) {
  Config c;
  ASSERT_OK(ParseConfig(kMinimal, "conf/bp.toml", &c));
  EXPECT_TRUE(c.file.is_absolute());
  EXPECT_EQ(c.file, (std::filesystem::current_path() / "conf/bp.toml").lexically_normal());
  EXPECT_EQ(c.host.data_dir, c.file.parent_path());
}

TEST(Config, EngineSection) {
  Config c = MustParse(
      "[engine]\n"
      "segment_size = \"32MiB\"\n"
      "unit_size = \"128KiB\"\n"
      "flush_interval_ms = 250\n"
      "checkpoint_every_segments = 8\n"
      "write_buffer_limit = 268435456\n"
      "cache_memory = \"1GiB\"\n"
      "io_threads = 4\n"
      "retry_deadline_ms = 0\n"
      "allow_unfenced = true\n" +
      kMinimal);
  EXPECT_EQ(c.engine.segment_size, 32u << 20);
  EXPECT_EQ(c.engine.unit_size, 128u << 10);
  EXPECT_EQ(c.engine.flush_interval_ms, 250u);
  EXPECT_EQ(c.engine.checkpoint_every_segments, 8u);
  EXPECT_EQ(c.engine.write_buffer_limit, 256u << 20);
  EXPECT_EQ(c.engine.cache_memory, 1u << 30);
  EXPECT_EQ(c.engine.io_threads, 4u);
  EXPECT_EQ(c.engine.retry_deadline_ms, 0u);
  EXPECT_TRUE(c.engine.allow_unfenced);
}

TEST(Config, EngineRangeErrors) {
  EXPECT_EQ(
      ErrorOf("[engine]\nunit_size = \"12KiB\"\n" + kMinimal),
      "/etc/bp/blockpipe.toml:2: [engine] key `unit_size` must be a power of two, a multiple of "
      "4096 and at most 1MiB (got 12288)");
  EXPECT_THAT(ErrorOf("[engine]\nunit_size = 2048\n" + kMinimal),
              HasSubstr("blockpipe.toml:2: [engine] key `unit_size`"));
  EXPECT_THAT(ErrorOf("[engine]\nunit_size = \"2MiB\"\n" + kMinimal), HasSubstr("(got 2097152)"));
  EXPECT_THAT(
      ErrorOf("[engine]\n\nsegment_size = \"16KiB\"\n" + kMinimal),
      HasSubstr(
          "blockpipe.toml:3: [engine] key `segment_size` must be at least unit_size (65536)"));
  EXPECT_THAT(ErrorOf("[engine]\nsegment_size = \"256MiB\"\n" + kMinimal),
              HasSubstr("blockpipe.toml:2: [engine] key `segment_size` is larger than the default "
                        "write_buffer_limit"));
  EXPECT_THAT(
      ErrorOf("[engine]\nwrite_buffer_limit = \"1MiB\"\n" + kMinimal),
      HasSubstr(
          "blockpipe.toml:2: [engine] key `write_buffer_limit` must be at least segment_size"));
  EXPECT_EQ(
      ErrorOf("[engine]\nio_threads = 0\n" + kMinimal),
      "/etc/bp/blockpipe.toml:2: [engine] key `io_threads` must be between 1 and 1024 (got 0)");
  EXPECT_THAT(ErrorOf("[engine]\nflush_interval_ms = -5\n" + kMinimal),
              HasSubstr(":2: [engine] key `flush_interval_ms` must be between 1"));
  EXPECT_THAT(ErrorOf("[engine]\ncache_memory = \"4KiB\"\n" + kMinimal),
              HasSubstr(":2: [engine] key `cache_memory` must hold at least one unit"));
  EXPECT_THAT(
      ErrorOf("[engine]\nsegment_size = \"lots\"\n" + kMinimal),
      HasSubstr(
          ":2: [engine] key `segment_size` must be a size like \"16MiB\": `lots` is not a size"));
}

TEST(Config, GcSection) {
  Config c = MustParse(kMinimal);
  EXPECT_TRUE(c.engine.gc_enabled);
  EXPECT_DOUBLE_EQ(c.engine.gc_min_dead_ratio, EngineOptions{}.gc_min_dead_ratio);
  c = MustParse(
      kMinimal +
      "[gc]\nenabled = false\nmin_dead_ratio = 0.5\nrate = \"8MiB\"\ninterval_ms = 250\n");
  EXPECT_FALSE(c.engine.gc_enabled);
  EXPECT_DOUBLE_EQ(c.engine.gc_min_dead_ratio, 0.5);
  EXPECT_EQ(c.engine.gc_rate, 8u << 20);
  EXPECT_EQ(c.engine.gc_interval_ms, 250u);
  EXPECT_DOUBLE_EQ(MustParse(kMinimal + "[gc]\nmin_dead_ratio = 1\n").engine.gc_min_dead_ratio,
                   1.0);
  EXPECT_EQ(
      ErrorOf(kMinimal + "[gc]\nmin_dead_ratio = 0\n"),
      "/etc/bp/blockpipe.toml:7: [gc] key `min_dead_ratio` must be between 0.01 and 1 (got 0)");
  EXPECT_THAT(ErrorOf(kMinimal + "[gc]\nmin_dead_ratio = \"half\"\n"), HasSubstr("a number"));
  EXPECT_THAT(ErrorOf(kMinimal + "[gc]\nrate = \"1KiB\"\n"), HasSubstr("at least 64KiB"));
  EXPECT_THAT(
      ErrorOf(kMinimal + "[gc]\nratio = 0.5\n"),
      HasSubstr("[gc] unknown key `ratio` (known: enabled, min_dead_ratio, rate, interval_ms)"));
}

TEST(Config, WrongTypesNameTheExpectedType) {
  EXPECT_EQ(ErrorOf("[engine]\nallow_unfenced = \"yes\"\n" + kMinimal),
            "/etc/bp/blockpipe.toml:2: [engine] key `allow_unfenced` must be a boolean (true or "
            "false) (got string)");
  EXPECT_EQ(ErrorOf("[engine]\nio_threads = \"4\"\n" + kMinimal),
            "/etc/bp/blockpipe.toml:2: [engine] key `io_threads` must be an integer (got string)");
  EXPECT_EQ(ErrorOf("[engine]\nunit_size = true\n" + kMinimal),
            "/etc/bp/blockpipe.toml:2: [engine] key `unit_size` must be a size like \"16MiB\" or "
            "an integer (got boolean)");
  EXPECT_EQ(ErrorOf("[host]\ndata_dir = 5\n" + kMinimal),
            "/etc/bp/blockpipe.toml:2: [host] key `data_dir` must be a path string (got integer)");
  EXPECT_THAT(
      ErrorOf("[host]\nplugin_dirs = \"/opt\"\n" + kMinimal),
      HasSubstr(":2: [host] key `plugin_dirs` must be an array of path strings (got string)"));
  EXPECT_THAT(ErrorOf("[host]\nplugin_dirs = [\"/opt\", 3]\n" + kMinimal),
              HasSubstr(":2: [host] key `plugin_dirs` must be an array of non-empty path strings "
                        "(an item is integer)"));
  EXPECT_THAT(
      ErrorOf("[host]\nlog_level = \"loud\"\n" + kMinimal),
      HasSubstr(
          ":2: [host] key `log_level` must be one of debug, info, warn, error (got \"loud\")"));
  EXPECT_THAT(ErrorOf("host = 3\n" + kMinimal),
              HasSubstr(":1: `host` must be a table written [host] (got integer)"));
}

TEST(Config, UnknownKeysAndTables) {
  EXPECT_EQ(
      ErrorOf("[engine]\nio_threads = 2\nsegmnet_size = 1\n" + kMinimal),
      "/etc/bp/blockpipe.toml:3: [engine] unknown key `segmnet_size` (known: segment_size, "
      "unit_size, "
      "flush_interval_ms, checkpoint_every_segments, write_buffer_limit, cache_memory, io_threads, "
      "retry_deadline_ms, allow_unfenced, uploads_in_flight, durability, read_ahead_max, "
      "read_coalesce_max)");
  EXPECT_EQ(
      ErrorOf("[host]\ndatadir = \"x\"\n" + kMinimal),
      "/etc/bp/blockpipe.toml:2: [host] unknown key `datadir` (known: data_dir, control_socket, "
      "plugin_dirs, log_level)");
  EXPECT_EQ(ErrorOf(kMinimal + "\n[hots]\nx = 1\n"),
            "/etc/bp/blockpipe.toml:7: unknown table `hots` (known tables: host, engine, backend, "
            "filter, codec, frontend, volume, journal, disk_cache, gc)");
  EXPECT_THAT(ErrorOf("verbose = true\n" + kMinimal),
              HasSubstr("blockpipe.toml:1: unknown top-level key `verbose`"));
  EXPECT_THAT(ErrorOf("[host.extra]\nx = 1\n" + kMinimal),
              HasSubstr("blockpipe.toml:1: [host] unknown table `extra`"));
  EXPECT_THAT(
      ErrorOf(kMinimal + "[[volume]]\nname = \"a\"\nsize = \"1GiB\"\nsnapshot = 1\n"),
      HasSubstr("blockpipe.toml:9: [volume[0]] unknown key `snapshot` (known: name, size)"));
}

TEST(Config, DiskCacheAndReadKeys) {
  // Off by default, under the data dir when on.
  Config c = MustParse(kMinimal);
  EXPECT_EQ(c.engine.disk_cache_size, 0u);
  EXPECT_EQ(c.engine.disk_cache_dir, "/etc/bp/cache");
  EXPECT_EQ(c.engine.read_ahead_max, 32u << 20);
  EXPECT_EQ(c.engine.read_coalesce_max, 4u << 20);
  c = MustParse(
      "[host]\ndata_dir = \"/srv/bp\"\n[disk_cache]\nsize = \"4GiB\"\n"
      "[engine]\nread_ahead_max = 0\nread_coalesce_max = \"1MiB\"\n" +
      kMinimal);
  EXPECT_EQ(c.engine.disk_cache_size, 4ull << 30);
  EXPECT_EQ(c.engine.disk_cache_dir, "/srv/bp/cache");
  EXPECT_EQ(c.engine.read_ahead_max, 0u);
  EXPECT_EQ(c.engine.read_coalesce_max, 1u << 20);
  c = MustParse("[disk_cache]\ndir = \"cachedir\"\nsize = \"64MiB\"\n" + kMinimal);
  EXPECT_EQ(c.engine.disk_cache_dir, "/etc/bp/cachedir");

  EXPECT_THAT(ErrorOf("[disk_cache]\nsize = \"1MiB\"\n" + kMinimal),
              HasSubstr(":2: [disk_cache] key `size` must be 0 (no disk cache) or at least 64MiB"));
  EXPECT_THAT(ErrorOf("[disk_cache]\nsise = 1\n" + kMinimal),
              HasSubstr(":2: [disk_cache] unknown key `sise` (known: dir, size)"));
  EXPECT_THAT(ErrorOf("[engine]\nread_coalesce_max = \"4KiB\"\n" + kMinimal),
              HasSubstr("[engine] key `read_coalesce_max` must be at least unit_size"));
  EXPECT_THAT(ErrorOf("[engine]\nread_ahead_max = \"2GiB\"\n" + kMinimal),
              HasSubstr("[engine] key `read_ahead_max` must be at most 1GiB"));
}

TEST(Config, BackendSection) {
  Config c = MustParse(
      "[backend]\n"
      "plugin = \"s3\"\n"
      "url = \"s3://bucket/prefix\"\n"
      "region = \"eu-west-1\"\n"
      "max_connections = 16\n"
      "verify_tls = false\n"
      "[[frontend]]\nplugin = \"nbd\"\n");
  EXPECT_EQ(c.backend.plugin, "s3");
  EXPECT_EQ(c.backend.values.count("plugin"), 0u);
  EXPECT_EQ(c.backend.values.at("region").kind, RawValue::Kind::kString);
  EXPECT_EQ(c.backend.values.at("region").line, 4);
  EXPECT_EQ(c.backend.values.at("max_connections").kind, RawValue::Kind::kInteger);
  EXPECT_EQ(c.backend.values.at("max_connections").text, "16");
  EXPECT_EQ(c.backend.values.at("verify_tls").kind, RawValue::Kind::kBoolean);
  EXPECT_EQ(c.backend.values.at("verify_tls").text, "false");
}

TEST(Config, RelativeFileUrlsAndPluginPaths) {
  Config c = MustParse(
      "[backend]\nurl = \"file://./objects\"\n"
      "[[codec]]\nplugin = \"./plugins/blockpipe-codec-x.so\"\n"
      "[[frontend]]\nplugin = \"nbd\"\n");
  EXPECT_EQ(c.backend.values.at("url").text, "file:///etc/bp/objects");
  EXPECT_EQ(c.codecs[0].plugin, "/etc/bp/plugins/blockpipe-codec-x.so");
  EXPECT_EQ(c.frontends[0].plugin, "nbd") << "short names stay short names";
}

TEST(Config, BackendErrors) {
  EXPECT_EQ(ErrorOf("[[frontend]]\nplugin = \"nbd\"\n"),
            "/etc/bp/blockpipe.toml: a [backend] table is required, e.g.\n  [backend]\n  url = "
            "\"file:///var/lib/blockpipe/objects\"");
  EXPECT_THAT(ErrorOf("[[frontend]]\nplugin = \"nbd\"\n[backend]\nplugin = \"file\"\n"),
              HasSubstr("blockpipe.toml:3: [backend] key `url` is required"));
  EXPECT_THAT(ErrorOf("[backend]\nurl = \"/srv/objects\"\n[[frontend]]\nplugin = \"nbd\"\n"),
              HasSubstr("blockpipe.toml:2: [backend] key `url` must look like scheme://location"));
  EXPECT_THAT(ErrorOf("[backend]\nurl = 7\n[[frontend]]\nplugin = \"nbd\"\n"),
              HasSubstr("blockpipe.toml:2: [backend] key `url` must be a string (got integer)"));
  EXPECT_THAT(
      ErrorOf("[backend]\nurl = \"file:///x\"\nplugin = 3\n[[frontend]]\nplugin = \"nbd\"\n"),
      HasSubstr("blockpipe.toml:3: [backend] key `plugin` must be a non-empty string"));
}

TEST(Config, CodecAndFrontendArrays) {
  Config c = MustParse(
      "[backend]\nurl = \"file:///x\"\n"           // 1-2
      "[[codec]]\nplugin = \"zstd\"\nlevel = 3\n"  // 3-5
      "[[codec]]\nplugin = \"encrypt\"\n"          // 6-7
      "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"127.0.0.1:10809\", "
      "\"unix:/run/nbd.sock\"]\n"                 // 8-10
      "[[frontend]]\nplugin = \"/opt/f.so\"\n");  // 11-12
  ASSERT_EQ(c.codecs.size(), 2u);
  EXPECT_EQ(c.codecs[0].plugin, "zstd");
  EXPECT_EQ(c.codecs[0].table, "codec[0]");
  EXPECT_EQ(c.codecs[0].line, 3);
  EXPECT_EQ(c.codecs[0].values.at("level").text, "3");
  EXPECT_EQ(c.codecs[0].values.at("level").line, 5);
  EXPECT_EQ(c.codecs[1].table, "codec[1]");
  EXPECT_EQ(c.codecs[1].line, 6);
  ASSERT_EQ(c.frontends.size(), 2u);
  EXPECT_EQ(c.frontends[0].values.at("listen").kind, RawValue::Kind::kStringArray);
  EXPECT_EQ(c.frontends[0].values.at("listen").items,
            (std::vector<std::string>{"127.0.0.1:10809", "unix:/run/nbd.sock"}));
  EXPECT_EQ(c.frontends[1].line, 11);
}

TEST(Config, CodecAndFrontendErrors) {
  const std::string backend = "[backend]\nurl = \"file:///x\"\n";
  EXPECT_EQ(ErrorOf(backend),
            "/etc/bp/blockpipe.toml: at least one [[frontend]] table is required, e.g.\n  "
            "[[frontend]]\n  plugin = \"nbd\"");
  EXPECT_EQ(ErrorOf(backend + "[[frontend]]\nplugin = \"nbd\"\n[[codec]]\nlevel = 3\n"),
            "/etc/bp/blockpipe.toml:5: [codec[0]] key `plugin` is required: the codec plugin's "
            "short name or a "
            "path to its .so");
  EXPECT_THAT(
      ErrorOf(backend + "[codec]\nplugin = \"lz4\"\n[[frontend]]\nplugin = \"nbd\"\n"),
      HasSubstr(
          "blockpipe.toml:3: `codec` must be written [[codec]] (an array of tables; got table)"));
  EXPECT_THAT(ErrorOf(backend + "[[frontend]]\nplugin = \"\"\n"),
              HasSubstr("blockpipe.toml:4: [frontend[0]] key `plugin` must be a non-empty string"));
}

TEST(Config, Volumes) {
  Config c = MustParse(kMinimal +
                       "[[volume]]\nname = \"default\"\nsize = \"1GiB\"\n"  // 6-8
                       "[[volume]]\nname = \"db.0\"\nsize = 1048576\n");    // 9-11
  ASSERT_EQ(c.volumes.size(), 2u);
  EXPECT_EQ(c.volumes[0].name, "default");
  EXPECT_EQ(c.volumes[0].size, 1ull << 30);
  EXPECT_EQ(c.volumes[0].line, 6);
  EXPECT_EQ(c.volumes[1].size, 1u << 20);
}

TEST(Config, VolumeErrors) {
  EXPECT_EQ(ErrorOf(kMinimal + "[[volume]]\nsize = \"1GiB\"\n"),
            "/etc/bp/blockpipe.toml:6: [volume[0]] key `name` is required");
  EXPECT_THAT(ErrorOf(kMinimal + "[[volume]]\nname = \"a\"\n"),
              HasSubstr("blockpipe.toml:6: [volume[0]] key `size` is required"));
  EXPECT_THAT(
      ErrorOf(kMinimal + "[[volume]]\nname = \"-bad\"\nsize = \"1GiB\"\n"),
      HasSubstr("blockpipe.toml:7: [volume[0]] key `name` \"-bad\" is not a valid volume name"));
  EXPECT_THAT(ErrorOf(kMinimal + "[[volume]]\nname = \"a\"\nsize = \"1000\"\n"),
              HasSubstr("blockpipe.toml:8: [volume[0]] key `size` must be a positive multiple of "
                        "4096 bytes (got 1000)"));
  EXPECT_EQ(
      ErrorOf(
          kMinimal +
          "[[volume]]\nname = \"a\"\nsize = \"1GiB\"\n[[volume]]\nname = \"a\"\nsize = \"2GiB\"\n"),
      "/etc/bp/blockpipe.toml:10: [volume[1]] key `name` \"a\" is already used by the volume at "
      "line 7");
}

TEST(Config, TomlSyntaxErrorsHaveFileAndLine) {
  std::string msg = ErrorOf(kMinimal + "[[volume]]\nname = \"a\nsize = 1\n");
  EXPECT_THAT(msg, ::testing::StartsWith("/etc/bp/blockpipe.toml:7: ")) << msg;
  msg = ErrorOf(
      "[backend]\nurl = \"file:///x\"\nurl = \"file:///y\"\n[[frontend]]\nplugin = \"nbd\"\n");
  EXPECT_THAT(msg, ::testing::StartsWith("/etc/bp/blockpipe.toml:3: ")) << msg;
  EXPECT_THAT(msg, HasSubstr("already exists"));
}

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("BP_TEST_BUCKET", "my-bucket", 1);
    setenv("BP_TEST_DIR", "/var/lib/bp", 1);
    unsetenv("BLOCKPIPE_PASSWORD");
  }
  void TearDown() override {
    unsetenv("BP_TEST_BUCKET");
    unsetenv("BP_TEST_DIR");
  }
};

TEST_F(EnvTest, SubstitutesEveryString) {
  Config c = MustParse(
      "[host]\ndata_dir = \"${BP_TEST_DIR}/data\"\n"
      "[backend]\nurl = \"s3://${BP_TEST_BUCKET}/x-${BP_TEST_BUCKET}\"\n"
      "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"unix:${BP_TEST_DIR}/nbd.sock\", \"cost: $$5\"]\n"
      "note = \"literal $${BP_TEST_DIR} and $HOME\"\n");
  EXPECT_EQ(c.host.data_dir, "/var/lib/bp/data");
  EXPECT_EQ(c.backend.values.at("url").text, "s3://my-bucket/x-my-bucket");
  EXPECT_EQ(c.frontends[0].values.at("listen").items,
            (std::vector<std::string>{"unix:/var/lib/bp/nbd.sock", "cost: $$5"}));
  EXPECT_EQ(c.frontends[0].values.at("note").text, "literal ${BP_TEST_DIR} and $HOME");
}

TEST_F(EnvTest, UnsetVariableNamesKeyAndLine) {
  EXPECT_EQ(ErrorOf(kMinimal +
                    "\n[[codec]]\nplugin = \"encrypt\"\npassword = \"${BLOCKPIPE_PASSWORD}\"\n"),
            "/etc/bp/blockpipe.toml:9: key `password`: environment variable BLOCKPIPE_PASSWORD is "
            "not set");
  EXPECT_EQ(
      ErrorOf("[backend]\nurl = \"file:///x\"\n[[frontend]]\nplugin = \"nbd\"\nlisten = [\"a\",\n  "
              "\"${BLOCKPIPE_PASSWORD}\"]\n"),
      "/etc/bp/blockpipe.toml:6: key `listen`: environment variable BLOCKPIPE_PASSWORD is not set");
  EXPECT_THAT(ErrorOf(kMinimal + "x = \"${BP_TEST_DIR\"\n"),
              HasSubstr("blockpipe.toml:6: key `x`: unterminated `${`"));
  EXPECT_THAT(ErrorOf(kMinimal + "x = \"${1X}\"\n"),
              HasSubstr("blockpipe.toml:6: key `x`: `${1X}` is not a valid"));
}

TEST(Config, LoadConfigReadsFilesAndReportsMissingOnes) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bp-config-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "blockpipe.toml";
  std::ofstream(file) << kMinimal << "[host]\ndata_dir = \"state\"\n";
  Config c;
  Status st = LoadConfig(file, &c);
  ASSERT_OK(st);
  EXPECT_EQ(c.file, file);
  EXPECT_EQ(c.host.data_dir, dir / "state");

  std::ofstream(file) << kMinimal << "[engine]\nio_threads = 0\n";
  st = LoadConfig(file, &c);
  EXPECT_EQ(st.message(),
            file.string() + ":7: [engine] key `io_threads` must be between 1 and 1024 (got 0)");

  st = LoadConfig(dir / "missing.toml", &c);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              HasSubstr("cannot read config file " + (dir / "missing.toml").string()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bp
