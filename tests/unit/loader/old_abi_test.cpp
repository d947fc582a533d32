// Real plugins built against the frozen SDK headers of ABI 1.0 to 1.6 (tests/old-abi), loaded
// in today's host: each declares its own minor and struct size, the slots its minor lacks are
// absent however the memory after its struct looks (the plugins put aborting pointers there),
// the backend stores and lists, the codec round-trips and fails closed, rekey exists from 1.1
// on, and the frontend serves volumes kept by the old backend and codec of the same minor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>

#include "engine/volume_manager.h"
#include "loader/backend_adapter.h"
#include "loader/codec_adapter.h"
#include "loader/plugin_registry.h"
#include "test_plugins.h"
#include "util/metrics.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;
using testing::PluginPath;

const uint8_t kUuid[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

// Where each minor's struct ended, from today's header (the layout pins check the numbers).
constexpr size_t kBackendEnd10 = offsetof(bp_backend_plugin, get_tagged);  // 1.0 and 1.1
constexpr size_t kBackendEnd12 = offsetof(bp_backend_plugin, put_parts);
constexpr size_t kBackendEnd13 = offsetof(bp_backend_plugin, put_parts) + sizeof(void*);
constexpr size_t kCodecEnd10 = offsetof(bp_codec_plugin, rekey);
constexpr size_t kCodecEnd11 = offsetof(bp_codec_plugin, rekey) + sizeof(void*);

class OldAbi : public ::testing::TestWithParam<uint32_t> {
 protected:
  uint32_t minor() const { return GetParam(); }
  // The plugins' short name and URL scheme: abi10 … abi14.
  std::string name() const { return "abi1" + std::to_string(minor()); }

  std::shared_ptr<LoadedPlugin> Load(const std::string& kind) const {
    std::shared_ptr<LoadedPlugin> p;
    Status st = LoadedPlugin::Load(PluginPath("blockpipe-" + kind + "-" + name() + ".so"), &p);
    EXPECT_TRUE(st.ok()) << st.message();
    return p;
  }

  std::shared_ptr<ObjectStore> OpenBackend() const {
    auto plugin = Load("backend");
    if (plugin == nullptr) return nullptr;
    std::shared_ptr<ObjectStore> store;
    Status st = OpenPluginBackend(plugin, ResolvedConfig{}, name() + "://b", &store);
    EXPECT_TRUE(st.ok()) << st.message();
    return store;
  }
};

std::shared_ptr<const bp_config> CodecConfig(const std::string& password) {
  ResolvedConfig rc;
  rc.scalars["password"] = password;
  return std::make_shared<const bp_config>(MakePluginConfig(std::move(rc)));
}

TEST_P(OldAbi, EachPluginDeclaresItsMinorAndHasOnlyItsSlots) {
  auto backend = Load("backend");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->abi_minor(), minor());
  const size_t backend_end = minor() < 2    ? kBackendEnd10
                             : minor() == 2 ? kBackendEnd12
                                            : kBackendEnd13;
  EXPECT_EQ(backend->declared_size(), backend_end);
  const bp_backend_plugin* b = &backend->backend();
  EXPECT_EQ(BP_BACKEND_HAS(b, get_tagged), minor() >= 2);
  EXPECT_EQ(BP_BACKEND_HAS(b, put_if_match), minor() >= 2);
  EXPECT_EQ(BP_BACKEND_HAS(b, put_parts), minor() >= 3);
  EXPECT_EQ(b->get_tagged == nullptr, minor() < 2)
      << "past the declared size the host's copy is zero";
  EXPECT_EQ(b->put_parts == nullptr, minor() < 3);
  EXPECT_EQ(b->capabilities == nullptr, minor() == 0) << "the 1.0 plugin leaves capabilities unset";
  EXPECT_NE(b->delete_many, nullptr);

  auto codec = Load("codec");
  ASSERT_NE(codec, nullptr);
  EXPECT_EQ(codec->abi_minor(), minor());
  EXPECT_EQ(codec->declared_size(), minor() == 0 ? kCodecEnd10 : kCodecEnd11);
  EXPECT_EQ(PluginCanRekey(*codec), minor() >= 1);
  EXPECT_EQ(codec->codec().rekey == nullptr, minor() == 0);

  auto frontend = Load("frontend");
  ASSERT_NE(frontend, nullptr);
  EXPECT_EQ(frontend->abi_minor(), minor());
  EXPECT_EQ(frontend->declared_size(), sizeof(bp_frontend_plugin)) << "unchanged since 1.0";
}

TEST_P(OldAbi, BackendStoresAndMissingSlotsAreAbsent) {
  auto store = OpenBackend();
  ASSERT_NE(store, nullptr);
  uint64_t want = 0;
  if (minor() >= 1) {
    want = BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_PUT_IF_ABSENT | BP_BACKEND_CAP_DELETE_MANY |
           BP_BACKEND_CAP_DURABLE_PUT;
  }
  // The 1.1 plugin claims CONDITIONAL_PUT without the slots: the host drops the bit.
  if (minor() >= 2) want |= BP_BACKEND_CAP_CONDITIONAL_PUT;
  if (minor() >= 4) want |= BP_BACKEND_CAP_LOCAL_READS;
  EXPECT_EQ(store->Capabilities(), want) << "1.0: no capabilities() slot, nothing is claimed";

  const std::string a = "bytes of an old plugin";
  ASSERT_TRUE(store->Put("vol/a", a.data(), a.size(), false).ok());
  Bytes got;
  ASSERT_TRUE(store->Get("vol/a", &got).ok());
  EXPECT_EQ(std::string(got.begin(), got.end()), a);
  char slice[5] = {};
  uint64_t nread = 0;
  Status st = store->Read("vol/a", 9, 2, slice, &nread);  // 1.0 has no read(): emulated
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(std::string(slice, nread), "an");
  EXPECT_TRUE(store->Put("vol/a", "x", 1, /*if_absent=*/true).IsPrecondition());

  const ObjectParts parts = {{reinterpret_cast<const uint8_t*>("head-"), 5},
                             {reinterpret_cast<const uint8_t*>("tail"), 4}};
  EXPECT_EQ(store->TakesParts(), minor() >= 3);
  ASSERT_TRUE(store->PutParts("vol/b", parts, false).ok()) << "joined by the host before 1.3";
  ASSERT_TRUE(store->Get("vol/b", &got).ok());
  EXPECT_EQ(std::string(got.begin(), got.end()), "head-tail");

  std::vector<ObjectInfo> listed;
  ASSERT_TRUE(store->List("vol/", &listed).ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, "vol/a");
  EXPECT_EQ(listed[0].size, a.size());
  EXPECT_EQ(listed[1].key, "vol/b");

  std::string tag, new_tag;
  st = store->GetTagged("vol/a", &got, &tag);
  if (minor() < 2) {
    EXPECT_EQ(st.code(), Status::Code::kUnsupported) << "never reaches the slots past the struct";
    EXPECT_EQ(store->PutIfMatch("vol/a", "y", 1, "g1", &new_tag).code(),
              Status::Code::kUnsupported);
  } else {
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(store->PutIfMatch("vol/a", "y", 1, tag, &new_tag).ok());
    EXPECT_NE(new_tag, tag);
    EXPECT_TRUE(store->PutIfMatch("vol/a", "z", 1, tag, &new_tag).IsPrecondition());
  }

  ASSERT_TRUE(store->Delete("vol/a").ok());
  EXPECT_TRUE(store->Get("vol/a", &got).IsNotFound());
}

TEST_P(OldAbi, BackendNeverSeesAKeyLongerThanTheLimit) {
  auto store = OpenBackend();
  ASSERT_NE(store, nullptr);
  const std::string longest(BP_KEY_MAX_LENGTH, 'k');
  EXPECT_TRUE(store->Put(longest, "v", 1, false).ok());
  const std::string too_long(BP_KEY_MAX_LENGTH + 1, 'k');
  Status st = store->Put(too_long, "v", 1, false);
  EXPECT_EQ(st.code(), Status::Code::kInvalid);
  EXPECT_THAT(st.message(), HasSubstr("backends take keys of at most 512 bytes"));
  Bytes got;
  EXPECT_EQ(store->Get(too_long, &got).code(), Status::Code::kInvalid);
  std::vector<ObjectInfo> listed;
  EXPECT_EQ(store->List(too_long, &listed).code(), Status::Code::kInvalid);
}

TEST_P(OldAbi, CodecRoundTripsFailsClosedAndRekeysFromOneOne) {
  auto plugin = Load("codec");
  ASSERT_NE(plugin, nullptr);
  Bytes header;
  std::unique_ptr<Codec> codec;
  Status st = OpenPluginCodec(plugin, CodecConfig("pw1"), kUuid, "vol", nullptr, &header, &codec);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(header.size(), 20u);

  Bytes data(3000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  UnitId unit;
  unit.object_seq = 5;
  unit.unit_index = 2;
  unit.logical_length = data.size();
  Bytes encoded, decoded;
  ASSERT_TRUE(codec->Encode(kUuid, unit, data.data(), data.size(), &encoded).ok());
  ASSERT_TRUE(codec->Decode(kUuid, unit, encoded.data(), encoded.size(), &decoded).ok());
  EXPECT_EQ(decoded, data);
  Bytes tampered = encoded;
  tampered[100] ^= 4;
  EXPECT_TRUE(codec->Decode(kUuid, unit, tampered.data(), tampered.size(), &decoded).IsCorrupt());
  UnitId moved = unit;
  moved.unit_index = 3;
  EXPECT_TRUE(codec->Decode(kUuid, moved, encoded.data(), encoded.size(), &decoded).IsCorrupt());

  std::unique_ptr<Codec> reopened;
  st = OpenPluginCodec(plugin, CodecConfig("wrong"), kUuid, "vol", &header, nullptr, &reopened);
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_THAT(st.message(), HasSubstr("wrong password"));

  auto old_config = CodecConfig("pw1");
  Bytes rekeyed;
  bool already_done = false;
  st = RekeyPluginCodec(plugin, old_config.get(), kUuid, "vol", header, "pw2", &rekeyed,
                        &already_done);
  if (minor() == 0) {
    EXPECT_EQ(st.code(), Status::Code::kUnsupported);
    EXPECT_THAT(st.message(), HasSubstr("built against blockpipe ABI 1.0"));
    return;
  }
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(already_done);
  st = OpenPluginCodec(plugin, CodecConfig("pw2"), kUuid, "vol", &rekeyed, nullptr, &reopened);
  ASSERT_TRUE(st.ok()) << st.message();
  decoded.clear();
  ASSERT_TRUE(reopened->Decode(kUuid, unit, encoded.data(), encoded.size(), &decoded).ok());
  EXPECT_EQ(decoded, data) << "the data key survives the new password";
  EXPECT_FALSE(
      OpenPluginCodec(plugin, CodecConfig("pw1"), kUuid, "vol", &rekeyed, nullptr, &reopened).ok());
  Bytes again;
  st = RekeyPluginCodec(plugin, old_config.get(), kUuid, "vol", rekeyed, "pw2", &again,
                        &already_done);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(already_done) << "an interrupted change re-runs safely";
}

// The old frontend writes, flushes and reads back every volume through today's engine, which
// stores them with the old codec in the old backend. Its requests end at an inaccessible page,
// so a host reading a 1.0-layout bp_io past `user` crashes here.
TEST_P(OldAbi, FrontendServesVolumesOnTheOldBackendAndCodec) {
  const std::string n = name();
  Config config = MakeConfig(
      "[engine]\nretry_deadline_ms = 1000\n" +
      std::string(minor() < 2 ? "allow_unfenced = true\n" : "") +  // no conditional put before 1.2
      "[backend]\nurl = \"" + n + "://b\"\n[[codec]]\nplugin = \"" + n + "\"\npassword = \"pw\"\n" +
      "[[frontend]]\nplugin = \"" + n + "\"\n");
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  Status st = registry.OpenBackend(config, &store);
  ASSERT_TRUE(st.ok()) << st.message();
  std::unique_ptr<CodecFactory> codecs;
  st = registry.OpenCodecs(config, &codecs);
  ASSERT_TRUE(st.ok()) << st.message();
  EngineOptions options = config.engine;
  options.io_threads = 2;
  options.cache_memory = 4u << 20;
  options.write_buffer_limit = options.segment_size = 1u << 20;
  VolumeManager volumes(store, codecs.get(), options);
  st = volumes.OpenAll();
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(volumes.Create("alpha", 1u << 20).ok());
  ASSERT_TRUE(volumes.Create("beta", 2u << 20).ok());

  auto& m = Metrics::Global();
  const int64_t listed = m.Value(n + "_volumes_listed");
  const int64_t ok = m.Value(n + "_roundtrips_ok");
  const int64_t failed = m.Value(n + "_roundtrips_failed");
  std::vector<std::unique_ptr<FrontendInstance>> frontends;
  st = registry.OpenFrontends(config, &volumes, &frontends);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(frontends.size(), 1u);
  st = frontends[0]->Start();
  EXPECT_TRUE(st.ok()) << st.message();
  frontends.clear();
  EXPECT_EQ(m.Value(n + "_volumes_listed") - listed, 2);
  EXPECT_EQ(m.Value(n + "_roundtrips_ok") - ok, 2);
  EXPECT_EQ(m.Value(n + "_roundtrips_failed") - failed, 0);
  EXPECT_TRUE(volumes.Shutdown().ok());

  std::vector<ObjectInfo> objects;
  ASSERT_TRUE(store->List("", &objects).ok());
  EXPECT_FALSE(objects.empty()) << "the volumes live in the old backend";
}

INSTANTIATE_TEST_SUITE_P(Minors, OldAbi, ::testing::Values(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return "v1_" + std::to_string(info.param);
                         });

TEST(AbiLayout, PinnedAtCompileTimeOnThisPlatform) {
#if defined(__x86_64__) && defined(__LP64__) && defined(__linux__)
  // tests/old-abi/abi_layout_pins.c failed the build if any 1.x field moved; one witness here.
  EXPECT_EQ(offsetof(bp_io, struct_size), 48u);
#else
  GTEST_SKIP() << "the ABI layout pins hold numbers for x86_64 Linux only; layouts unchecked";
#endif
}

}  // namespace
}  // namespace bp
