// The bundled filters, delay and faults (plugins/filter-*), loaded from the build's plugin
// directory and stacked over a MemoryStore: their config checks, that delay overlaps the latency
// of concurrent calls and shares its bandwidth cap, and that faults are deterministic by seed,
// honour operation kinds and prefixes, lose replies of writes that did land, and switch an
// outage on and off with a file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "loader/plugin_registry.h"
#include "support/memory_store.h"
#include "support/status_assert.h"
#include "test_plugins.h"

namespace bp {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using testing::MakeConfig;
using testing::PluginDir;

const std::string kBackend = "[backend]\nurl = \"testmem://b\"\n";
const std::string kFrontend = "[[frontend]]\nplugin = \"testfront\"\nlisten = [\"x\"]\n";

struct Stack {
  std::unique_ptr<PluginRegistry> registry;
  std::shared_ptr<ObjectStore> top;
};

Status OpenStack(const std::string& filters, std::shared_ptr<ObjectStore> below, Stack* out) {
  Config c = MakeConfig(kBackend + filters + kFrontend);
  out->registry = std::make_unique<PluginRegistry>(std::vector<std::filesystem::path>{PluginDir()});
  return out->registry->OpenFilters(c, std::move(below), &out->top);
}

Stack MustOpen(const std::string& filters, std::shared_ptr<ObjectStore> below) {
  Stack s;
  Status st = OpenStack(filters, std::move(below), &s);
  EXPECT_OK(st);
  return s;
}

std::string OpenErrorOf(const std::string& filters) {
  Stack s;
  Status st = OpenStack(filters, std::make_shared<MemoryStore>(), &s);
  EXPECT_FALSE(st.ok());
  return st.message();
}

double Seconds(steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- delay ---------------------------------------------------------------------------------

TEST(DelayFilter, RefusesBadValuesNamingTheKey) {
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"delay\"\nlatency = \"20\"\n"),
              HasSubstr("delay: latency must be a duration like \"20ms\""));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"delay\"\nwrite_latency = \"2h\"\n"),
              HasSubstr("write_latency must be a duration"));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"delay\"\njitter = \"5m\"\n"),
              HasSubstr("jitter must be at most 60000ms"));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"delay\"\nbandwidth = \"lots\"\n"),
              HasSubstr("[filter[0]] key `bandwidth` must be a size"));
}

TEST(DelayFilter, ConcurrentCallsOverlapTheirLatency) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s = MustOpen("[[filter]]\nplugin = \"delay\"\nlatency = \"20ms\"\n", mem);
  ASSERT_OK(mem->Put("k", "v", 1, false));
  constexpr int kThreads = 8, kCalls = 25;  // 200 calls of 20 ms
  const auto start = steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Bytes out;
      for (int i = 0; i < kCalls; ++i) failures += s.top->Get("k", &out).ok() ? 0 : 1;
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = Seconds(steady_clock::now() - start);
  EXPECT_EQ(failures.load(), 0);
  // Serialized, 200 calls would take 4 s; overlapped 8 at a time, 0.5 s (~400 calls/s).
  EXPECT_GE(elapsed, 0.5 * 0.95);
  EXPECT_LT(elapsed, 1.5) << "calls were serialized: " << kThreads * kCalls / elapsed << " calls/s";
}

TEST(DelayFilter, PerKindLatencyOverridesTheDefault) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s =
      MustOpen("[[filter]]\nplugin = \"delay\"\nlatency = \"0\"\nwrite_latency = \"150ms\"\n", mem);
  auto start = steady_clock::now();
  ASSERT_OK(s.top->Put("k", "v", 1, false));
  EXPECT_GE(Seconds(steady_clock::now() - start), 0.15);
  start = steady_clock::now();
  Bytes out;
  ASSERT_OK(s.top->Get("k", &out));
  EXPECT_LT(Seconds(steady_clock::now() - start), 0.1);
}

TEST(DelayFilter, BandwidthIsSharedByConcurrentCalls) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s = MustOpen("[[filter]]\nplugin = \"delay\"\nupload_bandwidth = \"4MiB\"\n", mem);
  const Bytes data(256 << 10, 7);  // 4 puts of 256 KiB = 1 MiB at 4 MiB/s: 0.25 s in all
  const auto start = steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EXPECT_OK(s.top->Put("k" + std::to_string(t), data.data(), data.size(), false));
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = Seconds(steady_clock::now() - start);
  EXPECT_GE(elapsed, 0.25 * 0.95);
  EXPECT_LT(elapsed, 1.0);
  // Downloads are not capped by upload_bandwidth: reading the 1 MiB back would take 0.25 s.
  const auto read_start = steady_clock::now();
  for (int t = 0; t < 4; ++t) {
    Bytes out;
    ASSERT_OK(s.top->Get("k" + std::to_string(t), &out));
    EXPECT_EQ(out, data);
  }
  EXPECT_LT(Seconds(steady_clock::now() - read_start), 0.15);
}

// ---- faults --------------------------------------------------------------------------------

// Outcome of `n` gets of one key: 'o' ok, 't' transient, 'p' permanent.
std::string Outcomes(ObjectStore& store, int n) {
  std::string out;
  Bytes b;
  for (int i = 0; i < n; ++i) {
    Status st = store.Get("k", &b);
    out += st.ok() ? 'o' : st.IsTransient() ? 't' : st.IsNotFound() ? 'n' : 'p';
  }
  return out;
}

TEST(FaultsFilter, RefusesBadValuesNamingTheKey) {
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"faults\"\ntransient_rate = \"150%\"\n"),
              HasSubstr("faults: transient_rate must be a rate like \"2%\""));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"faults\"\noperations = [\"reads\"]\n"),
              HasSubstr("operations: unknown kind \"reads\""));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"faults\"\nstall_rate = \"1%\"\n"),
              HasSubstr("stall_rate is set but stall is 0"));
  EXPECT_THAT(OpenErrorOf("[[filter]]\nplugin = \"faults\"\ntransient_rate = \"0.6\"\n"
                          "permanent_rate = \"0.6\"\n"),
              HasSubstr("must not exceed 1"));
}

TEST(FaultsFilter, SameSeedSameFaultsOtherSeedOtherFaults) {
  auto run = [](int seed) {
    auto mem = std::make_shared<MemoryStore>();
    EXPECT_OK(mem->Put("k", "v", 1, false));
    Stack s = MustOpen("[[filter]]\nplugin = \"faults\"\nseed = " + std::to_string(seed) +
                           "\ntransient_rate = \"20%\"\npermanent_rate = \"5%\"\n",
                       mem);
    return Outcomes(*s.top, 400);
  };
  const std::string a = run(7), b = run(7), c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const auto transient = std::count(a.begin(), a.end(), 't');
  const auto permanent = std::count(a.begin(), a.end(), 'p');
  EXPECT_NEAR(transient, 80, 30);
  EXPECT_NEAR(permanent, 20, 14);
}

TEST(FaultsFilter, OnlySelectedKindsAndPrefixesSuffer) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s = MustOpen(
      "[[filter]]\nplugin = \"faults\"\ntransient_rate = \"100%\"\noperations = [\"write\"]\n"
      "prefixes = [\"volumes/a/\"]\n",
      mem);
  EXPECT_TRUE(s.top->Put("volumes/a/x", "v", 1, false).IsTransient());
  EXPECT_FALSE(mem->Has("volumes/a/x"));
  ASSERT_OK(s.top->Put("volumes/b/x", "v", 1, false));
  Bytes out;
  ASSERT_OK(s.top->Get("volumes/b/x", &out));
  mem->Poke("volumes/a/y", Bytes{1});
  ASSERT_OK(s.top->Get("volumes/a/y", &out));  // reads are not selected
  ASSERT_OK(s.top->Delete("volumes/a/y"));
  std::vector<ObjectInfo> list;
  ASSERT_OK(s.top->List("volumes/", &list));
}

TEST(FaultsFilter, LostRepliesLandButReportTransient) {
  auto mem = std::make_shared<MemoryStore>();
  Stack s = MustOpen("[[filter]]\nplugin = \"faults\"\nlost_reply_rate = \"100%\"\n", mem);
  Status st = s.top->Put("k", "v", 1, true);
  EXPECT_TRUE(st.IsTransient());
  EXPECT_THAT(st.message(), HasSubstr("reply lost (injected) for put k"));
  EXPECT_TRUE(mem->Has("k"));
  const uint8_t part[] = {'p'};
  EXPECT_TRUE(s.top->PutParts("j", ObjectParts{{part, 1}}, false).IsTransient());
  EXPECT_TRUE(mem->Has("j"));
  EXPECT_TRUE(s.top->Delete("k").IsTransient());
  EXPECT_FALSE(mem->Has("k"));
  Bytes out;
  ASSERT_OK(s.top->Get("j", &out));  // reads never lose replies
}

TEST(FaultsFilter, StallsSleepThenPassTheCallOn) {
  auto mem = std::make_shared<MemoryStore>();
  ASSERT_OK(mem->Put("k", "v", 1, false));
  Stack s =
      MustOpen("[[filter]]\nplugin = \"faults\"\nstall_rate = \"1\"\nstall = \"120ms\"\n", mem);
  const auto start = steady_clock::now();
  Bytes out;
  ASSERT_OK(s.top->Get("k", &out));
  EXPECT_GE(Seconds(steady_clock::now() - start), 0.12);
}

TEST(FaultsFilter, OutageFileSwitchesEveryCallToTransient) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bp-faults-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto flag = dir / "outage";
  std::filesystem::remove(flag);
  auto mem = std::make_shared<MemoryStore>();
  ASSERT_OK(mem->Put("k", "v", 1, false));
  Stack s =
      MustOpen("[[filter]]\nplugin = \"faults\"\noutage_file = \"" + flag.string() + "\"\n", mem);
  EXPECT_EQ(Outcomes(*s.top, 3), "ooo");
  std::ofstream(flag).put('x');
  Status st = s.top->Put("k2", "v", 1, false);
  EXPECT_TRUE(st.IsTransient());
  EXPECT_THAT(st.message(), HasSubstr("outage (" + flag.string() + " exists)"));
  EXPECT_FALSE(mem->Has("k2"));
  EXPECT_EQ(Outcomes(*s.top, 3), "ttt");
  std::filesystem::remove(flag);
  EXPECT_EQ(Outcomes(*s.top, 3), "ooo");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bp
