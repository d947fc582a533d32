// RenderDefaultConfig: what `blockpipe init` writes parses back into the documented layout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

TEST(DefaultConfig, RoundTripsThroughParseConfig) {
  InitOptions init;
  init.data_dir = "/var/lib/blockpipe";
  init.port = 10809;
  const std::string text = RenderDefaultConfig(init);
  Config c;
  Status st = ParseConfig(text, "/var/lib/blockpipe/blockpipe.toml", &c);
  ASSERT_OK(st) << text;

  EXPECT_EQ(c.host.data_dir, "/var/lib/blockpipe");
  EXPECT_EQ(c.host.control_socket, "/var/lib/blockpipe/control.sock");
  EXPECT_EQ(c.host.log_level, "info");
  EXPECT_EQ(c.backend.values.at("url").text, "file:///var/lib/blockpipe/objects");
  ASSERT_EQ(c.codecs.size(), 1u);
  EXPECT_EQ(c.codecs[0].plugin, "lz4");
  ASSERT_EQ(c.frontends.size(), 1u);
  EXPECT_EQ(c.frontends[0].plugin, "nbd");
  EXPECT_EQ(c.frontends[0].values.at("listen").items,
            (std::vector<std::string>{"127.0.0.1:10809", "unix:/var/lib/blockpipe/nbd.sock"}));
  ASSERT_EQ(c.volumes.size(), 1u);
  EXPECT_EQ(c.volumes[0].name, "default");
  EXPECT_EQ(c.volumes[0].size, 1ull << 30);

  const EngineOptions d;
  EXPECT_EQ(c.engine.segment_size, d.segment_size);
  EXPECT_EQ(c.engine.unit_size, d.unit_size);
  EXPECT_EQ(c.engine.flush_interval_ms, d.flush_interval_ms);
  EXPECT_EQ(c.engine.checkpoint_every_segments, d.checkpoint_every_segments);
  EXPECT_EQ(c.engine.write_buffer_limit, d.write_buffer_limit);
  EXPECT_EQ(c.engine.cache_memory, d.cache_memory);
  EXPECT_EQ(c.engine.io_threads, 0u);  // left to the daemon: by the backend
  EXPECT_NE(text.find("\n# io_threads = 16\n"), std::string::npos);
  EXPECT_EQ(c.engine.retry_deadline_ms, d.retry_deadline_ms);
  EXPECT_EQ(c.engine.allow_unfenced, d.allow_unfenced);
  EXPECT_EQ(c.engine.disk_cache_size, 0u);  // shown commented out
  EXPECT_NE(text.find("# [disk_cache]"), std::string::npos);
}

TEST(DefaultConfig, DiskCacheFromInit) {
  InitOptions init;
  init.data_dir = "/var/lib/blockpipe";
  init.disk_cache_size = 4ull << 30;
  const std::string text = RenderDefaultConfig(init);
  Config c;
  ASSERT_OK(ParseConfig(text, "/var/lib/blockpipe/blockpipe.toml", &c)) << text;
  EXPECT_EQ(c.engine.disk_cache_size, 4ull << 30);
  EXPECT_EQ(c.engine.disk_cache_dir, "/var/lib/blockpipe/cache");
  EXPECT_NE(text.find("\n[disk_cache]\n"), std::string::npos);
}

TEST(DefaultConfig, ExplainsKeysAndDurability) {
  InitOptions init;
  init.data_dir = "/d";
  const std::string text = RenderDefaultConfig(init);
  // Every host-owned key is preceded by a comment line.
  for (const char* key :
       {"data_dir =", "control_socket =", "plugin_dirs =", "log_level =", "segment_size =",
        "unit_size =", "flush_interval_ms =", "checkpoint_every_segments =", "write_buffer_limit =",
        "cache_memory =", "# io_threads =", "retry_deadline_ms =", "allow_unfenced =", "url =",
        "listen ="}) {
    const size_t at = text.find(std::string("\n") + key);
    ASSERT_NE(at, std::string::npos) << key;
    const size_t prev_line = text.rfind('\n', at - 1);
    ASSERT_NE(prev_line, std::string::npos);
    EXPECT_EQ(text[prev_line + 1], '#') << "no comment above " << key;
  }
  EXPECT_THAT(text, HasSubstr("FLUSH"));
  EXPECT_THAT(text, HasSubstr("crash"));
}

TEST(DefaultConfig, CustomUrlPortEndpointAndAwkwardPaths) {
  InitOptions init;
  init.data_dir = "/tmp/we\"ird ${HOME} dir";
  init.url = "s3://bucket/prefix";
  init.endpoint = "http://127.0.0.1:7480";
  init.port = 20000;
  const std::string text = RenderDefaultConfig(init);
  Config c;
  Status st = ParseConfig(text, init.data_dir / "blockpipe.toml", &c);
  ASSERT_OK(st) << text;
  EXPECT_EQ(c.host.data_dir, "/tmp/we\"ird ${HOME} dir") << "quotes escaped, ${ not expanded";
  EXPECT_EQ(c.backend.values.at("url").text, "s3://bucket/prefix");
  EXPECT_EQ(c.backend.values.at("endpoint").text, "http://127.0.0.1:7480");
  EXPECT_EQ(c.frontends[0].values.at("listen").items[0], "127.0.0.1:20000");
}

}  // namespace
}  // namespace bp
