// PluginRegistry::OpenBackend and the backend adapter, against the real testmem/testfail
// plugins: selection by url scheme or name, config validation with file:line, open failures
// carrying the plugin's message, and the ObjectStore semantics the engine relies on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "loader/plugin_registry.h"
#include "pipeline/retrying_store.h"
#include "support/status_assert.h"
#include "test_plugins.h"
#include "util/metrics.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;

const std::string kFrontend = "[[frontend]]\nplugin = \"testfront\"\nlisten = [\"x\"]\n";

std::shared_ptr<ObjectStore> Open(const std::string& backend_body) {
  Config c = MakeConfig(backend_body + kFrontend);
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  Status st = registry.OpenBackend(c, &store);
  EXPECT_OK(st);
  return store;
}

Status OpenError(const std::string& backend_body) {
  Config c = MakeConfig(backend_body + kFrontend);
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  Status st = registry.OpenBackend(c, &store);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(store, nullptr);
  return st;
}

TEST(OpenBackend, ChosenByUrlSchemeAndWrappedForRetries) {
  auto store = Open("[backend]\nurl = \"testmem://bucket\"\n");
  ASSERT_NE(store, nullptr);
  EXPECT_NE(dynamic_cast<RetryingStore*>(store.get()), nullptr);
  EXPECT_EQ(store->Describe(), "testmem://bucket");
  EXPECT_EQ(store->Capabilities(),
            static_cast<uint64_t>(BP_BACKEND_CAP_PUT_IF_ABSENT | BP_BACKEND_CAP_LIST_PAGES |
                                  BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_CONDITIONAL_PUT));
}

TEST(OpenBackend, ChosenByPluginNameOrPath) {
  EXPECT_NE(Open("[backend]\nplugin = \"testmem\"\nurl = \"testmem://b\"\n"), nullptr);
  EXPECT_NE(
      Open("[backend]\nplugin = \"" + (PluginDir() / "blockpipe-backend-testmem.so").string() +
           "\"\nurl = \"testmem://b\"\n"),
      nullptr);
}

TEST(OpenBackend, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(OpenError("[backend]\nurl = \"testmem://b\"\ncolour = \"red\"\n").message(),
            "/etc/bp/test.toml:5: [backend] key `colour` is not a key of plugin testmem (known: "
            "url, page_size, "
            "ranged, transient_puts, label, conditional_put)");
  EXPECT_EQ(OpenError("[backend]\nurl = \"testmem://b\"\npage_size = \"two\"\n").message(),
            "/etc/bp/test.toml:5: [backend] key `page_size` must be an integer (got string)");
  Status st = OpenError("[backend]\nurl = \"nosuch://b\"\n");
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_THAT(st.message(),
              HasSubstr("/etc/bp/test.toml:3: [backend] url nosuch://b: no backend plugin serves "
                        "url scheme `nosuch` in " +
                        PluginDir().string()));
  EXPECT_THAT(st.message(), HasSubstr("testmem (testmem://)"));
  st = OpenError("[backend]\nplugin = \"nope\"\nurl = \"testmem://b\"\n");
  EXPECT_THAT(st.message(), HasSubstr("/etc/bp/test.toml:3: [backend] plugin \"nope\": no plugin "
                                      "blockpipe-backend-nope.so was found in " +
                                      PluginDir().string()));
  st = OpenError("[backend]\nplugin = \"testpack\"\nurl = \"testmem://b\"\n");
  EXPECT_THAT(st.message(), HasSubstr("no plugin blockpipe-backend-testpack.so was found"));
}

TEST(OpenBackend, FailedOpenCarriesPluginMessageAndSectionLine) {
  Status st = OpenError("\n[backend]\nurl = \"testfail://db.example\"\n");
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(
      st.message(),
      "/etc/bp/test.toml:4: [backend]: testfail: cannot open testfail://db.example: cannot reach "
      "testfail://db.example: connection refused");
}

TEST(BackendAdapter, ObjectSemantics) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\n");
  ASSERT_NE(store, nullptr);
  const std::string data = "hello, object store";
  ASSERT_OK(store->Put("volumes/a/meta", data.data(), data.size(), true));

  Bytes out = {1, 2, 3};
  ASSERT_OK(store->Get("volumes/a/meta", &out));
  EXPECT_EQ(std::string(out.begin(), out.end()), data) << "Get replaces the contents";

  Status st = store->Put("volumes/a/meta", "x", 1, true);
  EXPECT_TRUE(st.IsPrecondition());
  EXPECT_EQ(st.message(), "testmem: put volumes/a/meta: testmem: object exists");
  ASSERT_OK(store->Put("volumes/a/meta", "x", 1, false)) << "plain put replaces";

  st = store->Get("volumes/none", &out);
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_TRUE(out.empty()) << "a failed Get leaves no partial data";
  EXPECT_OK(store->Delete("volumes/none")) << "deleting a missing key is success";
  EXPECT_OK(store->Delete("volumes/a/meta"));
  EXPECT_TRUE(store->Get("volumes/a/meta", &out).IsNotFound());
}

void CheckRangedReads(ObjectStore* store) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  ASSERT_OK(store->Put("seg/1", data.data(), data.size(), false));
  char buf[300];
  uint64_t n = 0;
  ASSERT_OK(store->Read("seg/1", 100, 300, buf, &n));
  EXPECT_EQ(n, 300u);
  EXPECT_EQ(std::string(buf, 300), data.substr(100, 300));
  ASSERT_OK(store->Read("seg/1", 900, 300, buf, &n));
  EXPECT_EQ(n, 100u) << "short only at the end of the object";
  EXPECT_EQ(std::string(buf, 100), data.substr(900));
  ASSERT_OK(store->Read("seg/1", 5000, 10, buf, &n));
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(store->Read("seg/none", 0, 10, buf, &n).IsNotFound());
}

TEST(BackendAdapter, NativeRangedReads) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\n");
  CheckRangedReads(store.get());
}

TEST(BackendAdapter, RangedReadsEmulatedWithoutTheCapability) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\nranged = false\n");
  EXPECT_EQ(store->Capabilities() & BP_BACKEND_CAP_RANGED_GET, 0u);
  CheckRangedReads(store.get());
}

TEST(BackendAdapter, ListFollowsEveryPageInOrder) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\npage_size = 2\n");
  for (const char* key : {"v/b/3", "v/a/1", "v/b/1", "w/x", "v/a/2", "v/b/2", "u/0", "v/c"}) {
    ASSERT_OK(store->Put(key, key, 3, false));
  }
  std::vector<ObjectInfo> all;
  ASSERT_OK(store->List("v/", &all));
  std::vector<std::string> keys;
  for (const auto& o : all) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"v/a/1", "v/a/2", "v/b/1", "v/b/2", "v/b/3", "v/c"}));
  EXPECT_EQ(all[0].size, 3u);
  ASSERT_OK(store->List("none/", &all));
  EXPECT_TRUE(all.empty());
}

TEST(BackendAdapter, TransientPutFailuresAreRetried) {
  auto& retries = Metrics::Global().Counter("backend_retries_total");
  const int64_t before = retries.load();
  Config c = MakeConfig(
      "[engine]\nretry_deadline_ms = 5000\n[backend]\nurl = \"testmem://b\"\ntransient_puts = 2\n" +
      kFrontend);
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  ASSERT_OK(registry.OpenBackend(c, &store));
  ASSERT_OK(store->Put("k", "v", 1, true));
  EXPECT_EQ(retries.load() - before, 2);
  Bytes out;
  ASSERT_OK(store->Get("k", &out));
  EXPECT_EQ(out, Bytes{'v'});
}

TEST(BackendAdapter, ParallelCallsOnOneInstance) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        ASSERT_OK(store->Put(key, key.data(), key.size(), true));
        Bytes out;
        ASSERT_OK(store->Get(key, &out));
        ASSERT_EQ(std::string(out.begin(), out.end()), key);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<ObjectInfo> all;
  ASSERT_OK(store->List("", &all));
  EXPECT_EQ(all.size(), 800u);
}

}  // namespace
}  // namespace bp

namespace bp {
namespace {

TEST(BackendAdapter, ConditionalPutThroughTheNewSlots) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\n");
  ASSERT_NE(store, nullptr);
  const std::string a = "first", b = "second", c = "third";
  std::string tag, new_tag, stale_tag;
  Bytes got;
  EXPECT_TRUE(store->GetTagged("k", &got, &tag).IsNotFound());
  EXPECT_TRUE(store->PutIfMatch("k", a.data(), a.size(), "v1", &new_tag).IsPrecondition())
      << "absent object: precondition";
  ASSERT_OK(store->Put("k", a.data(), a.size(), false));
  ASSERT_OK(store->GetTagged("k", &got, &tag));
  EXPECT_EQ(std::string(got.begin(), got.end()), a);
  EXPECT_FALSE(tag.empty());
  ASSERT_OK(store->PutIfMatch("k", b.data(), b.size(), tag, &new_tag));
  EXPECT_NE(new_tag, tag);
  stale_tag = tag;
  EXPECT_TRUE(store->PutIfMatch("k", c.data(), c.size(), stale_tag, &tag).IsPrecondition());
  ASSERT_OK(store->GetTagged("k", &got, &tag));
  EXPECT_EQ(std::string(got.begin(), got.end()), b);
  EXPECT_EQ(tag, new_tag) << "the tag put_if_match reported is the stored one";
}

TEST(BackendAdapter, ConditionalPutSwitchedOffIsNotCapable) {
  auto store = Open("[backend]\nurl = \"testmem://b\"\nconditional_put = false\n");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
}

}  // namespace
}  // namespace bp
