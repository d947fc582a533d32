// Backend filters through the loader: the [[filter]] stack built by PluginRegistry over a
// MemoryStore (so the stored bytes can be inspected) and over the testmem backend, with the
// testtrace, testnull and wrongly stamped test filters (tests/plugins). Covers stacking order,
// pass-through of NULL slots, put_parts reaching a filter's put, capability masking, error
// mapping in both directions, retries of a filter's transient errors, and config errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader/plugin_registry.h"
#include "pipeline/retrying_store.h"
#include "support/memory_store.h"
#include "support/status_assert.h"
#include "test_plugins.h"
#include "util/metrics.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;

const std::string kBackend = "[backend]\nurl = \"testmem://b\"\n";
const std::string kFrontend = "[[frontend]]\nplugin = \"testfront\"\nlisten = [\"x\"]\n";

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string S(const Bytes& b) { return std::string(b.begin(), b.end()); }

// The filters of `filters` (TOML [[filter]] tables) stacked over `below`.
struct Stack {
  std::unique_ptr<PluginRegistry> registry;
  std::shared_ptr<ObjectStore> top;
};

Status OpenStack(const std::string& filters, std::shared_ptr<ObjectStore> below, Stack* out) {
  Config c = MakeConfig(kBackend + filters + kFrontend);
  out->registry = std::make_unique<PluginRegistry>(std::vector<std::filesystem::path>{PluginDir()});
  return out->registry->OpenFilters(c, std::move(below), &out->top);
}

std::string Trace(const std::string& label, const std::string& more = "") {
  return "[[filter]]\nplugin = \"testtrace\"\nlabel = \"" + label + "\"\n" + more;
}

TEST(Filters, NoFiltersLeaveTheStoreAlone) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack("", mem, &s));
  EXPECT_EQ(s.top, mem);
}

TEST(Filters, FirstListedIsOutermostLastIsNearestTheBackend) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack(Trace("A") + Trace("B"), mem, &s));
  ASSERT_OK(s.top->Put("k", "data", 4, /*if_absent=*/true));
  // A saw the put first and appended its label; B, nearer the store, appended after it.
  EXPECT_EQ(S(mem->Peek("k")), "data[A][B]");
  Bytes got;
  ASSERT_OK(s.top->Get("k", &got));
  EXPECT_EQ(S(got), "data");
  // Put-if-absent passes through both filters.
  EXPECT_TRUE(s.top->Put("k", "x", 1, true).IsPrecondition());
}

TEST(Filters, NullSlotsPassThroughUnchanged) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack("[[filter]]\nplugin = \"testnull\"\n", mem, &s));
  EXPECT_EQ(s.top->Capabilities(), mem->Capabilities() & ~uint64_t{BP_BACKEND_CAP_DELETE_MANY});
  EXPECT_EQ(s.top->TakesParts(), mem->TakesParts());
  EXPECT_EQ(s.top->Describe(), "memory://");
  ASSERT_OK(s.top->Put("a/1", "one", 3, false));
  const uint8_t two[] = {'t', 'w', 'o'};
  ASSERT_OK(s.top->PutParts("a/2", ObjectParts{{two, 1}, {two + 1, 2}}, false));
  EXPECT_EQ(S(mem->Peek("a/2")), "two");
  Bytes got;
  ASSERT_OK(s.top->Get("a/1", &got));
  EXPECT_EQ(S(got), "one");
  char buf[8];
  uint64_t n = 0;
  ASSERT_OK(s.top->Read("a/2", 1, 8, buf, &n));
  EXPECT_EQ(std::string(buf, n), "wo");
  std::string tag, new_tag;
  ASSERT_OK(s.top->GetTagged("a/1", &got, &tag));
  ASSERT_OK(s.top->PutIfMatch("a/1", "uno", 3, tag, &new_tag));
  EXPECT_TRUE(s.top->PutIfMatch("a/1", "eins", 4, tag, &new_tag).IsPrecondition());
  std::vector<ObjectInfo> list;
  ASSERT_OK(s.top->List("a/", &list));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].key, "a/2");
  ASSERT_OK(s.top->Delete("a/1"));
  ASSERT_OK(s.top->Delete("a/1"));  // missing: still success
  EXPECT_FALSE(mem->Has("a/1"));
}

TEST(Filters, PutPartsReachesAFilterThatOnlyHasPut) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack(Trace("P"), mem, &s));
  // Passing put_parts by the filter would store unlabelled bytes that its get then refuses.
  EXPECT_FALSE(s.top->TakesParts());
  const uint8_t bytes[] = {'a', 'b', 'c'};
  ASSERT_OK(s.top->PutParts("k", ObjectParts{{bytes, 1}, {bytes + 1, 2}}, false));
  EXPECT_EQ(S(mem->Peek("k")), "abc[P]");
}

TEST(Filters, CapabilitiesPassUnlessMasked) {
  auto mem = std::make_shared<MemoryStore>();
  const uint64_t below = mem->Capabilities();
  ASSERT_NE(below & BP_BACKEND_CAP_RANGED_GET, 0u);
  ASSERT_NE(below & BP_BACKEND_CAP_PUT_IF_ABSENT, 0u);
  Stack s;
  ASSERT_OK(OpenStack(Trace("M", "mask = " + std::to_string(BP_BACKEND_CAP_PUT_IF_ABSENT) + "\n"),
                      mem, &s));
  const uint64_t caps = s.top->Capabilities();
  EXPECT_EQ(caps & BP_BACKEND_CAP_RANGED_GET, 0u);       // testtrace clears it
  EXPECT_EQ(caps & BP_BACKEND_CAP_PUT_IF_ABSENT, 0u);    // the mask
  EXPECT_NE(caps & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);  // passes through
  // Without native ranged reads the host reads through the filter's get and slices.
  ASSERT_OK(s.top->Put("k", "0123456789", 10, false));
  char buf[4];
  uint64_t n = 0;
  ASSERT_OK(s.top->Read("k", 6, 4, buf, &n));
  EXPECT_EQ(std::string(buf, n), "6789");
  ASSERT_OK(s.top->Read("k", 20, 4, buf, &n));
  EXPECT_EQ(n, 0u);
}

TEST(Filters, ConditionalPutNeedsBothSlotsServed) {
  auto mem = std::make_shared<MemoryStore>();
  mem->SetConditionalPutSupported(false);
  Stack s;
  // testnull passes get_tagged / put_if_match to a store without them: the bit stays clear.
  ASSERT_OK(OpenStack("[[filter]]\nplugin = \"testnull\"\n", mem, &s));
  EXPECT_EQ(s.top->Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
  Bytes got;
  std::string tag;
  EXPECT_EQ(s.top->GetTagged("k", &got, &tag).code(), Status::Code::kUnsupported);

  // A filter may clear it over a capable store.
  Stack t;
  ASSERT_OK(OpenStack(Trace("C", "conditional = false\n"), std::make_shared<MemoryStore>(), &t));
  EXPECT_EQ(t.top->Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
  EXPECT_EQ(t.top->PutIfMatch("k", "x", 1, "v1", &tag).code(), Status::Code::kUnsupported);
}

TEST(Filters, FilterErrorsBecomeStatusWithItsMessage) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack(Trace("E", "delete_code = -2\n"), mem, &s));
  ASSERT_OK(s.top->Put("k", "v", 1, false));
  Status st = s.top->Delete("k");
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(), "testtrace: delete k: testtrace: deletes are refused here");
  EXPECT_TRUE(mem->Has("k"));

  Stack nf;
  ASSERT_OK(OpenStack(Trace("E", "delete_code = -3\n"), mem, &nf));
  EXPECT_OK(nf.top->Delete("k"));  // not found is success for deletes, as for backends

  Stack odd;
  ASSERT_OK(OpenStack(Trace("E", "delete_code = 42\n"), mem, &odd));
  st = odd.top->Delete("k");
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_THAT(st.message(), HasSubstr("unknown code 42"));
}

TEST(Filters, ErrorsOfTheLayerBelowKeepTheirClassAndMessage) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s;
  ASSERT_OK(OpenStack(Trace("X"), mem, &s));
  ASSERT_OK(s.top->Put("k", "v", 1, false));
  // testtrace reads through next->read; the failure comes back up with its class and text.
  mem->FailNext(MemoryStore::Op::kRead, Status::Transient("disk on fire"));
  Bytes got;
  Status st = s.top->Get("k", &got);
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("testtrace: get k: disk on fire"));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(s.top->Get("missing", &got).IsNotFound());
  // Bytes the filter does not recognise: its own corruption verdict.
  mem->Poke("raw", B("unlabelled"));
  st = s.top->Get("raw", &got);
  EXPECT_TRUE(st.IsCorrupt()) << st.ToString();
  // Through a pass-through filter the store's status arrives unchanged.
  Stack n;
  ASSERT_OK(OpenStack("[[filter]]\nplugin = \"testnull\"\n", mem, &n));
  mem->FailNext(MemoryStore::Op::kPut, Status::Permanent("quota exceeded"));
  st = n.top->Put("q", "v", 1, false);
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(), "quota exceeded");
}

TEST(Filters, InstancesCloseWithTheStack) {
  auto& opens = Metrics::Global().Counter("testnull_opens");
  auto& closes = Metrics::Global().Counter("testnull_closes");
  const int64_t opened = opens.load(), closed = closes.load();
  {
    Stack s;
    ASSERT_OK(OpenStack("[[filter]]\nplugin = \"testnull\"\n" + Trace("A"),
                        std::make_shared<MemoryStore>(), &s));
    EXPECT_EQ(opens.load() - opened, 1);
    EXPECT_EQ(closes.load() - closed, 0);
  }
  EXPECT_EQ(closes.load() - closed, 1);
}

TEST(Filters, OpenBackendStacksFiltersUnderTheRetryLayer) {
  auto& retries = Metrics::Global().Counter("backend_retries_total");
  const int64_t before = retries.load();
  Config c = MakeConfig("[engine]\nretry_deadline_ms = 5000\n" + kBackend + "transient_puts = 2\n" +
                        Trace("R") + kFrontend);
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  ASSERT_OK(registry.OpenBackend(c, &store));
  ASSERT_NE(dynamic_cast<RetryingStore*>(store.get()), nullptr);
  EXPECT_EQ(store->Describe(), "testmem://b");
  // The backend's transient failures travel up through the filter and are retried above it.
  ASSERT_OK(store->Put("k", "v", 1, true));
  EXPECT_EQ(retries.load() - before, 2);
  Bytes out;
  ASSERT_OK(store->Get("k", &out));
  EXPECT_EQ(S(out), "v");
}

Status OpenError(const std::string& filters) {
  Config c = MakeConfig(kBackend + filters + kFrontend);
  PluginRegistry registry({PluginDir()});
  std::shared_ptr<ObjectStore> store;
  Status st = registry.OpenBackend(c, &store);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(store, nullptr);
  return st;
}

TEST(Filters, ConfigErrorsNameFileLineAndFilter) {
  // Lines: 1-2 [host], 3-4 [backend], 5 is the first [[filter]].
  EXPECT_THAT(OpenError("[[filter]]\nplugin = \"nope\"\n").message(),
              HasSubstr("/etc/bp/test.toml:5: [filter[0]] plugin \"nope\": no plugin "
                        "blockpipe-filter-nope.so was found in " +
                        PluginDir().string()));
  EXPECT_THAT(OpenError("[[filter]]\nplugin = \"nope\"\n").message(),
              HasSubstr("available filters: "));
  EXPECT_EQ(OpenError(Trace("A", "colour = \"red\"\n")).message(),
            "/etc/bp/test.toml:8: [filter[0]] key `colour` is not a key of plugin testtrace "
            "(known: label, mask, delete_code, conditional)");
  EXPECT_EQ(OpenError(Trace("A") + Trace("B", "mask = \"x\"\n")).message(),
            "/etc/bp/test.toml:11: [filter[1]] key `mask` must be an integer (got string)");
  // A backend is not a filter.
  EXPECT_THAT(OpenError("[[filter]]\nplugin = \"testmem\"\n").message(),
              HasSubstr("no plugin blockpipe-filter-testmem.so"));
  // The filter's own open refuses its config.
  EXPECT_EQ(OpenError(Trace("a-label-much-longer-than-forty-bytes-which-is-the-limit")).message(),
            "/etc/bp/test.toml:5: [filter[0]]: filter testtrace: cannot open: testtrace: label "
            "longer than 40 bytes");
  EXPECT_THAT(
      OpenError("[[filter]]\nplugin = \"testnull\"\n[[filter]]\nplugin = \"testnull\"\n").message(),
      HasSubstr("/etc/bp/test.toml:7: [filter[1]] filter testnull is already in the stack "
                "at [filter[0]]; it declares the serialize-all thread model"));
  // Mistakes in the table itself stop the config parser already.
  auto parse_error = [](const std::string& filters) {
    Config c;
    Status st = ParseConfig(kBackend + filters + kFrontend, "/etc/bp/test.toml", &c);
    EXPECT_FALSE(st.ok());
    return st.message();
  };
  EXPECT_THAT(
      parse_error("[[filter]]\nplugin = 3\n"),
      HasSubstr("/etc/bp/test.toml:4: [filter[0]] key `plugin` must be a non-empty string"));
  EXPECT_THAT(parse_error("[[filter]]\nlatency = \"2ms\"\n"),
              HasSubstr("[filter[0]] key `plugin` is required"));
  EXPECT_THAT(parse_error("[filter]\nplugin = \"testnull\"\n"),
              HasSubstr("/etc/bp/test.toml:3: `filter` must be written [[filter]]"));
}

TEST(Filters, WrongAbiIsRefusedWithBothVersions) {
  Status st = OpenError("[[filter]]\nplugin = \"badabi\"\n");
  EXPECT_THAT(st.message(), HasSubstr("blockpipe-filter-badabi.so: plugin ABI 2.0, this host "
                                      "supports 1.x"));
  st = OpenError("[[filter]]\nplugin = \"oldabi\"\n");
  EXPECT_THAT(st.message(), HasSubstr("blockpipe-filter-oldabi.so: filter plugin built against "
                                      "ABI 1.5; filters exist since ABI 1.6"));
}

TEST(Filters, DiscoveryListsFiltersWithTheirKeys) {
  PluginRegistry registry({PluginDir()});
  bool found = false;
  for (const auto& p : registry.Discover()) {
    if (p.name != "testtrace") continue;
    found = true;
    EXPECT_EQ(p.kind, static_cast<uint32_t>(BP_KIND_FILTER));
    EXPECT_EQ(p.abi_minor, static_cast<uint32_t>(BP_ABI_MINOR));
    EXPECT_TRUE(p.load_error.empty()) << p.load_error;
    ASSERT_EQ(p.keys.size(), 4u);
    EXPECT_STREQ(p.keys[0].name, "label");
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bp
