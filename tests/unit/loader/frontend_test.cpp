// PluginRegistry::OpenFrontends and the volume API, end to end through real plugins: the
// testmem backend and testpack codec under a real VolumeManager, driven by the testfront
// frontend through bp_volume_api (list, open, info, FUA write, read back), and how submit
// reads a struct bp_io by the frontend's ABI minor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "engine/volume_manager.h"
#include "loader/frontend_adapter.h"
#include "loader/plugin_registry.h"
#include "support/status_assert.h"
#include "test_plugins.h"
#include "util/metrics.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;

const std::string kBase =
    "[engine]\nretry_deadline_ms = 1000\n"  // 3-4
    "[backend]\nurl = \"testmem://b\"\n"    // 5-6
    "[[codec]]\nplugin = \"testpack\"\n";   // 7-8

struct Pipeline {
  Config config;
  PluginRegistry registry{{PluginDir()}};
  std::shared_ptr<ObjectStore> store;
  std::unique_ptr<CodecFactory> codecs;
  std::unique_ptr<VolumeManager> volumes;

  explicit Pipeline(const std::string& frontends) : config(MakeConfig(kBase + frontends)) {
    Status st = registry.OpenBackend(config, &store);
    EXPECT_OK(st);
    st = registry.OpenCodecs(config, &codecs);
    EXPECT_OK(st);
    EngineOptions options = config.engine;
    options.io_threads = 2;
    options.cache_memory = 4u << 20;
    options.write_buffer_limit = options.segment_size = 1u << 20;
    volumes = std::make_unique<VolumeManager>(store, codecs.get(), options);
    st = volumes->OpenAll();
    EXPECT_OK(st);
  }
  ~Pipeline() { IgnoreError(volumes->Shutdown(), "a test that cares checks Shutdown itself"); }
};

TEST(Frontends, VolumeApiRoundTripThroughRealPlugins) {
  Pipeline p("[[frontend]]\nplugin = \"testfront\"\nlisten = [\"127.0.0.1:1\"]\n");
  ASSERT_OK(p.volumes->Create("alpha", 1u << 20));
  ASSERT_OK(p.volumes->Create("beta", 8u << 20));
  auto& m = Metrics::Global();
  const int64_t listed = m.Value("testfront_volumes_listed");
  const int64_t ok = m.Value("testfront_roundtrips_ok");
  const int64_t failed = m.Value("testfront_roundtrips_failed");

  std::vector<std::unique_ptr<FrontendInstance>> frontends;
  Status st = p.registry.OpenFrontends(p.config, p.volumes.get(), &frontends);
  ASSERT_OK(st);
  ASSERT_EQ(frontends.size(), 1u);
  EXPECT_EQ(frontends[0]->name(), "testfront (frontend[0])");
  st = frontends[0]->Start();
  ASSERT_OK(st);
  frontends[0]->Stop();
  frontends[0]->Stop();  // idempotent
  EXPECT_EQ(m.Value("testfront_volumes_listed") - listed, 2);
  EXPECT_EQ(m.Value("testfront_roundtrips_ok") - ok, 2);
  EXPECT_EQ(m.Value("testfront_roundtrips_failed") - failed, 0);
  frontends.clear();
}

TEST(Frontends, OpenFailureCarriesPluginMessageAndTheLineOfTheKeyItNames) {
  Pipeline p(
      "\n[[frontend]]\nplugin = \"testfront\"\nlisten = [\"127.0.0.1:1\"]\nfail_open = true\n");
  std::vector<std::unique_ptr<FrontendInstance>> frontends;
  Status st = p.registry.OpenFrontends(p.config, p.volumes.get(), &frontends);
  EXPECT_EQ(st.message(),
            "/etc/bp/test.toml:13: [frontend[0]] key `fail_open`: testfront (frontend[0]): cannot "
            "listen on 127.0.0.1:1: address already in use (`fail_open` = true)");
  EXPECT_TRUE(frontends.empty());
}

TEST(Frontends, StartFailureAndKeyValidation) {
  Pipeline p("[[frontend]]\nplugin = \"testfront\"\nlisten = [\"a\"]\nfail_start = true\n");
  std::vector<std::unique_ptr<FrontendInstance>> frontends;
  ASSERT_OK(p.registry.OpenFrontends(p.config, p.volumes.get(), &frontends));
  EXPECT_EQ(frontends[0]->Start().message(),
            "testfront (frontend[0]): start: start refused (fail_start = true)");

  Pipeline q("[[frontend]]\nplugin = \"testfront\"\n");
  EXPECT_EQ(q.registry.OpenFrontends(q.config, q.volumes.get(), &frontends).message(),
            "/etc/bp/test.toml:9: [frontend[0]] plugin testfront requires key `listen` (an array "
            "of strings): "
            "Addresses (only echoed in messages).");
  Pipeline r("[[frontend]]\nplugin = \"testmem\"\n");
  EXPECT_THAT(r.registry.OpenFrontends(r.config, r.volumes.get(), &frontends).message(),
              HasSubstr("/etc/bp/test.toml:9: [frontend[0]] plugin \"testmem\": no plugin "
                        "blockpipe-frontend-testmem.so was found"));
}

TEST(VolumeApi, OpenUnknownVolumeAndInfoOnOlderStruct) {
  Pipeline p("[[frontend]]\nplugin = \"testfront\"\nlisten = [\"a\"]\n");
  ASSERT_OK(p.volumes->Create("v", 1u << 20));
  bp_volume_api api = MakeVolumeApi(p.volumes.get());
  bp_volume* vol = reinterpret_cast<bp_volume*>(0x1);
  EXPECT_EQ(api.open(api.ctx, "missing", 0, &vol), BP_ERR_NOT_FOUND);
  EXPECT_EQ(vol, nullptr);
  ASSERT_EQ(api.open(api.ctx, "v", 1, &vol), BP_OK);
  // A frontend built when bp_volume_info ended after `size` passes that smaller struct.
  struct {
    bp_volume_info info;
    uint32_t canary;
  } small{};
  small.info.struct_size = offsetof(bp_volume_info, min_block);
  small.info.min_block = 0xdeadbeef;
  ASSERT_EQ(api.info(vol, &small.info), BP_OK);
  EXPECT_EQ(small.info.size, 1u << 20);
  EXPECT_EQ(small.info.struct_size, offsetof(bp_volume_info, min_block));
  EXPECT_EQ(small.info.min_block, 0xdeadbeefu) << "nothing written past the caller's struct_size";
  api.close(vol);
}

// Submits one FLUSH through `api` with the given struct_size and flags and waits for done.
int Flush(const bp_volume_api& api, bp_volume* vol, uint32_t struct_size, uint32_t flags = 0) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int error = 0;
  } w;
  bp_io io{};
  io.op = BP_IO_OP_FLUSH;
  io.flags = flags;
  io.struct_size = struct_size;
  io.user = &w;
  io.done = [](bp_io* r, int error) {
    auto* wait = static_cast<Wait*>(r->user);
    std::lock_guard<std::mutex> lock(wait->mu);
    wait->done = true;
    wait->error = error;
    wait->cv.notify_all();
  };
  api.submit(vol, &io);
  std::unique_lock<std::mutex> lock(w.mu);
  w.cv.wait(lock, [&] { return w.done; });
  return w.error;
}

TEST(VolumeApi, RequestLayoutFollowsTheFrontendsMinor) {
  Pipeline p("[[frontend]]\nplugin = \"testfront\"\nlisten = [\"a\"]\n");
  ASSERT_TRUE(p.volumes->Create("v", 1u << 20).ok());
  const bp_volume_api api14 = MakeVolumeApi(p.volumes.get(), 4);
  const bp_volume_api api15 = MakeVolumeApi(p.volumes.get(), 5);
  bp_volume* vol = nullptr;
  ASSERT_EQ(api15.open(api15.ctx, "v", 0, &vol), BP_OK);

  // Before 1.5 a bp_io ends after `user`: what lies where struct_size is now is not the
  // frontend's request, and the host must not read it.
  EXPECT_EQ(Flush(api14, vol, 7), 0);
  // From 1.5 on, struct_size says it: 0 for the 1.0 layout, else at least the 1.5 layout; a
  // newer frontend's larger request is fine (its newer fields are ignored).
  EXPECT_EQ(Flush(api15, vol, 0), 0);
  EXPECT_EQ(Flush(api15, vol, sizeof(bp_io)), 0);
  EXPECT_EQ(Flush(api15, vol, 4096), 0);
  EXPECT_EQ(Flush(api15, vol, 7), EINVAL);
  EXPECT_EQ(Flush(api15, vol, offsetof(bp_io, struct_size)), EINVAL) << "does not cover itself";
  // A flag the host does not know is refused, not ignored, whatever the minor.
  EXPECT_EQ(Flush(api15, vol, sizeof(bp_io), 1u << 9), EINVAL);
  EXPECT_EQ(Flush(api14, vol, 0, 1u << 9), EINVAL);
  EXPECT_EQ(Flush(api15, vol, sizeof(bp_io), BP_IO_FLAG_FUA), 0);
  api15.close(vol);
}

TEST(VolumeApi, HasMacroChecksSizeAndSlot) {
  Pipeline p("[[frontend]]\nplugin = \"testfront\"\nlisten = [\"a\"]\n");
  bp_volume_api api = MakeVolumeApi(p.volumes.get());
  EXPECT_EQ(api.struct_size, sizeof(bp_volume_api));
  EXPECT_TRUE(BP_VOLUME_API_HAS(&api, submit));
  api.struct_size = offsetof(bp_volume_api, submit);
  EXPECT_FALSE(BP_VOLUME_API_HAS(&api, submit)) << "a table that ends before the slot";
  api.struct_size = sizeof(bp_volume_api);
  api.submit = nullptr;
  EXPECT_FALSE(BP_VOLUME_API_HAS(&api, submit));
  const bp_volume_api* none = nullptr;
  EXPECT_FALSE(BP_VOLUME_API_HAS(none, submit));
}

}  // namespace
}  // namespace bp
