// Loading real plugin shared objects: the good one, and each way a plugin file can be wrong
// (other ABI major, no entry symbol, missing callback, not an ELF file). Plugins built against
// older minors, with their smaller structs: old_abi_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>

#include "loader/backend_adapter.h"
#include "loader/plugin_catalog.h"
#include "loader/plugin_library.h"
#include "support/status_assert.h"
#include "test_plugins.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::PluginDir;
using testing::PluginPath;

TEST(PluginLibrary, LoadsARealPlugin) {
  std::shared_ptr<LoadedPlugin> p;
  Status st = LoadedPlugin::Load(PluginPath("blockpipe-backend-testmem.so"), &p);
  ASSERT_OK(st);
  EXPECT_EQ(p->name(), "testmem");
  EXPECT_EQ(p->kind(), static_cast<uint32_t>(BP_KIND_BACKEND));
  EXPECT_EQ(p->thread_model(), static_cast<uint32_t>(BP_THREAD_PARALLEL));
  EXPECT_EQ(p->declared_size(), sizeof(bp_backend_plugin));
  EXPECT_NE(p->backend().open, nullptr);
  EXPECT_NE(p->backend().read, nullptr);
  PluginDescription d = p->Describe();
  EXPECT_EQ(d.abi_major, 1u);
  EXPECT_EQ(d.abi_minor, static_cast<uint32_t>(BP_ABI_MINOR)) << "stamped by BP_REGISTER_BACKEND";
  EXPECT_EQ(d.description, "in-memory test backend");
  EXPECT_EQ(d.url_schemes, std::vector<std::string>{"testmem"});
  ASSERT_EQ(d.keys.size(), 5u);
  EXPECT_STREQ(d.keys[0].name, "page_size");
  EXPECT_EQ(p->key_table()[5].name, nullptr) << "key_table is terminated";
}

TEST(PluginLibrary, WrongAbiMajorIsRefusedWithBothVersions) {
  std::shared_ptr<LoadedPlugin> p;
  const auto path = PluginPath("blockpipe-codec-badabi.so");
  Status st = LoadedPlugin::Load(path, &p);
  EXPECT_EQ(st.message(), path.string() + ": plugin ABI 2.3, this host supports 1.x");
  EXPECT_EQ(p, nullptr);
}

TEST(PluginLibrary, MissingEntrySymbol) {
  std::shared_ptr<LoadedPlugin> p;
  const auto path = PluginPath("blockpipe-codec-nosym.so");
  Status st = LoadedPlugin::Load(path, &p);
  EXPECT_EQ(st.message(),
            path.string() +
                ": not a blockpipe plugin (no blockpipe_plugin_entry symbol; plugins are "
                "declared with a BP_REGISTER_* macro)");
}

TEST(PluginLibrary, MissingRequiredCallback) {
  std::shared_ptr<LoadedPlugin> p;
  const auto path = PluginPath("blockpipe-codec-truncated.so");
  Status st = LoadedPlugin::Load(path, &p);
  EXPECT_THAT(st.message(),
              HasSubstr(path.string() + ": codec plugin truncated lacks required callback decode"));
}

TEST(PluginLibrary, NotASharedObjectOrMissing) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bp-loader-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto junk = dir / "blockpipe-codec-junk.so";
  std::ofstream(junk) << std::string(4096, '#') << "\nthis is not an ELF file\n";
  std::shared_ptr<LoadedPlugin> p;
  Status st = LoadedPlugin::Load(junk, &p);
  EXPECT_EQ(st.message(), junk.string() + ": cannot load: invalid ELF header");

  std::ofstream(junk, std::ios::trunc) << "short";
  st = LoadedPlugin::Load(junk, &p);
  EXPECT_EQ(st.message(), junk.string() + ": cannot load: file too short");

  st = LoadedPlugin::Load(dir / "blockpipe-codec-absent.so", &p);
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_EQ(st.message(), (dir / "blockpipe-codec-absent.so").string() + ": no such plugin file");
  std::filesystem::remove_all(dir);
}

TEST(PluginCatalog, FileNames) {
  uint32_t kind = 0;
  std::string name;
  EXPECT_TRUE(ParsePluginFileName("blockpipe-codec-lz4.so", &kind, &name));
  EXPECT_EQ(kind, static_cast<uint32_t>(BP_KIND_CODEC));
  EXPECT_EQ(name, "lz4");
  EXPECT_TRUE(ParsePluginFileName("blockpipe-backend-my-store.so", &kind, &name));
  EXPECT_EQ(name, "my-store");
  EXPECT_FALSE(ParsePluginFileName("blockpipe-codec-.so", &kind, &name));
  EXPECT_TRUE(ParsePluginFileName("blockpipe-filter-x.so", &kind, &name));  // since ABI 1.6
  EXPECT_EQ(kind, static_cast<uint32_t>(BP_KIND_FILTER));
  EXPECT_FALSE(ParsePluginFileName("blockpipe-sieve-x.so", &kind, &name));
  EXPECT_FALSE(ParsePluginFileName("libblockpipe-codec-x.so", &kind, &name));
  EXPECT_FALSE(ParsePluginFileName("blockpipe-codec-x.so.1", &kind, &name));
  EXPECT_EQ(PluginFileName(BP_KIND_FRONTEND, "nbd"), "blockpipe-frontend-nbd.so");
}

TEST(PluginCatalog, FindByNameAndMissingName) {
  PluginCatalog catalog({PluginDir(), "/nonexistent/bp-plugins"});
  std::shared_ptr<LoadedPlugin> p;
  ASSERT_OK(catalog.FindByName(BP_KIND_CODEC, "testpack", &p));
  EXPECT_EQ(p->name(), "testpack");
  std::shared_ptr<LoadedPlugin> again;
  ASSERT_OK(catalog.FindByName(BP_KIND_CODEC, "testpack", &again));
  EXPECT_EQ(p, again) << "loaded once, then cached";

  Status st = catalog.FindByName(BP_KIND_CODEC, "nope", &p);
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_THAT(st.message(),
              HasSubstr("no plugin blockpipe-codec-nope.so was found in " + PluginDir().string() +
                        ", /nonexistent/bp-plugins (available codecs: "));
  EXPECT_THAT(st.message(), HasSubstr("testpack"));
  EXPECT_THAT(catalog.FindByName(BP_KIND_CODEC, "../etc", &p).message(),
              HasSubstr("no plugin blockpipe-codec-../etc.so was found"));
}

TEST(PluginCatalog, KindMismatch) {
  PluginCatalog catalog({PluginDir()});
  std::shared_ptr<LoadedPlugin> p;
  const auto path = PluginPath("blockpipe-backend-testmem.so");
  Status st = catalog.Resolve(BP_KIND_CODEC, path.string(), &p);
  EXPECT_EQ(st.message(), path.string() + ": is a backend plugin (testmem), not a codec plugin");
  st = catalog.FindByName(BP_KIND_CODEC, "misnamed", &p);
  EXPECT_THAT(st.message(), HasSubstr("is a backend plugin (testfail), not a codec plugin"));
}

TEST(PluginCatalog, DiscoverListsGoodAndBrokenPlugins) {
  PluginCatalog catalog({PluginDir()});
  auto found = catalog.Discover();
  auto find = [&](const std::string& file) -> const PluginDescription* {
    for (const auto& d : found) {
      if (d.path.filename() == file) return &d;
    }
    return nullptr;
  };
  const auto* mem = find("blockpipe-backend-testmem.so");
  ASSERT_NE(mem, nullptr);
  EXPECT_TRUE(mem->load_error.empty());
  const auto* pack = find("blockpipe-codec-testpack.so");
  ASSERT_NE(pack, nullptr);
  EXPECT_EQ(pack->codec_flags, static_cast<uint32_t>(BP_CODEC_COMPRESSES));
  const auto* bad = find("blockpipe-codec-badabi.so");
  ASSERT_NE(bad, nullptr);
  EXPECT_THAT(bad->load_error, HasSubstr("plugin ABI 2.3, this host supports 1.x"));
  EXPECT_EQ(bad->kind, static_cast<uint32_t>(BP_KIND_CODEC));
  EXPECT_EQ(bad->name, "badabi");
  const auto* misnamed = find("blockpipe-codec-misnamed.so");
  ASSERT_NE(misnamed, nullptr);
  EXPECT_EQ(misnamed->load_error, "the file name says codec but the plugin declares backend");
  EXPECT_NE(find("blockpipe-codec-nosym.so"), nullptr);
  EXPECT_FALSE(find("blockpipe-codec-nosym.so")->load_error.empty());
}

}  // namespace
}  // namespace bp
