// CallGate: each thread model admits exactly the concurrency it declares; calls outside a
// handle (OpenPluginInstance, CallOutsideHandle) are serialized plugin-wide unless PARALLEL.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "loader/call_gate.h"
#include "loader/plugin_library.h"
#include "test_plugins.h"

namespace bp {
namespace {

// Runs `threads` callers, each entering its gate and staying a moment; returns the highest
// number of callers seen inside at once.
int MaxConcurrency(std::vector<CallGate*> gates) {
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::thread> threads;
  for (CallGate* gate : gates) {
    threads.emplace_back([&, gate] {
      for (int i = 0; i < 40; ++i) {
        auto lock = gate->Enter();
        const int now = ++inside;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  return peak.load();
}

TEST(CallGate, SerializeAllExcludesAcrossHandles) {
  Mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_ALL, &plugin_mutex), b(BP_THREAD_SERIALIZE_ALL, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &b, &a, &b}), 1);
}

TEST(CallGate, SerializeHandleExcludesPerHandleOnly) {
  Mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_HANDLE, &plugin_mutex),
      b(BP_THREAD_SERIALIZE_HANDLE, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &a, &a}), 1);
  EXPECT_EQ(MaxConcurrency({&a, &b}), 2);
}

TEST(CallGate, ParallelAdmitsEveryone) {
  Mutex plugin_mutex;
  CallGate a(BP_THREAD_PARALLEL, &plugin_mutex);
  EXPECT_GE(MaxConcurrency({&a, &a, &a}), 2);
}

TEST(CallGate, UnknownModelIsTreatedAsStrictest) {
  Mutex plugin_mutex;
  CallGate a(77, &plugin_mutex), b(77, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &b}), 1);
}

// A pass held on the heap, so `enter` functions can return one (a Pass cannot be moved).
using HeldPass = std::unique_ptr<CallGate::Pass>;

// The same measure for callers that each take their lock through `enter`.
int MaxConcurrencyOf(std::vector<std::function<HeldPass()>> enters) {
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::thread> threads;
  for (auto& enter : enters) {
    threads.emplace_back([&, enter] {
      for (int i = 0; i < 40; ++i) {
        auto lock = enter();
        const int now = ++inside;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  return peak.load();
}

std::function<HeldPass()> OutsideHandle(uint32_t model, Mutex* m) {
  return
      [model, m] { return HeldPass(new CallGate::Pass(CallGate::EnterOutsideHandle(model, m))); };
}

TEST(CallGate, CallsOutsideAHandleAreSerializedPluginWide) {
  for (uint32_t model :
       {uint32_t{BP_THREAD_SERIALIZE_ALL}, uint32_t{BP_THREAD_SERIALIZE_HANDLE}, uint32_t{77}}) {
    Mutex plugin_mutex;
    EXPECT_EQ(MaxConcurrencyOf(
                  {OutsideHandle(model, &plugin_mutex), OutsideHandle(model, &plugin_mutex)}),
              1)
        << "thread model " << model;
  }
}

TEST(CallGate, CallsOutsideAHandleExcludeSerializeAllHandles) {
  Mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_ALL, &plugin_mutex);
  EXPECT_EQ(MaxConcurrencyOf({OutsideHandle(BP_THREAD_SERIALIZE_ALL, &plugin_mutex),
                              [&] { return HeldPass(new CallGate::Pass(a.Enter())); }}),
            1);
}

TEST(CallGate, CallsOutsideAHandleOfAParallelPluginRunTogether) {
  Mutex plugin_mutex;
  EXPECT_GE(MaxConcurrencyOf({OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex),
                              OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex),
                              OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex)}),
            2);
}

std::shared_ptr<LoadedPlugin> LoadTestPlugin(const std::string& file) {
  std::shared_ptr<LoadedPlugin> plugin;
  const Status st = LoadedPlugin::Load(testing::PluginPath(file), &plugin);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return plugin;
}

// Whether another thread finds the plugin's lock taken (asked from this thread, TryLock on a
// mutex it holds would be undefined).
bool PluginLockHeld(LoadedPlugin& plugin) {
  bool held = true;
  std::thread([&] {
    if (plugin.plugin_mutex().TryLock()) {
      held = false;
      plugin.plugin_mutex().Unlock();
    }
  }).join();
  return held;
}

// The close callback the tests hand to OpenPluginInstance: counts calls and whether the
// plugin's lock was held during them.
LoadedPlugin* g_closing_plugin = nullptr;
int g_closes = 0;
bool g_close_was_locked = false;
void RecordClose(void* handle) {
  EXPECT_NE(handle, nullptr);
  ++g_closes;
  g_close_was_locked = PluginLockHeld(*g_closing_plugin);
}

int g_instance = 0;  // what a test's open hands out as a handle

class OpenPluginInstanceTest : public ::testing::Test {
 protected:
  void Use(const std::string& file, uint32_t expected_model) {
    plugin_ = LoadTestPlugin(file);
    ASSERT_NE(plugin_, nullptr);
    ASSERT_EQ(plugin_->thread_model(), expected_model);
    g_closing_plugin = plugin_.get();
    g_closes = 0;
    g_close_was_locked = false;
  }
  std::shared_ptr<LoadedPlugin> plugin_;
};

TEST_F(OpenPluginInstanceTest, OpensUnderThePluginLockAndClearsStaleErrors) {
  ASSERT_NO_FATAL_FAILURE(Use("blockpipe-backend-abi10.so", BP_THREAD_SERIALIZE_ALL));
  SetPluginError("left over from an earlier call");
  bool locked = false;
  void* handle = nullptr;
  Status st = OpenPluginInstance(
      *plugin_, "ctx", "what",
      [&](void** h) {
        locked = PluginLockHeld(*plugin_);
        *h = &g_instance;
        return BP_OK;
      },
      RecordClose, &handle);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(locked);
  EXPECT_EQ(handle, &g_instance);
  EXPECT_EQ(g_closes, 0);
  EXPECT_FALSE(PluginLockHeld(*plugin_)) << "released after the open";

  // The stale message is not blamed on a failing open that set none.
  st = OpenPluginInstance(
      *plugin_, "ctx", "what", [](void**) { return BP_ERR_TRANSIENT; }, RecordClose, &handle);
  EXPECT_TRUE(st.IsTransient());
  EXPECT_EQ(st.message(), "ctx failed (transient error)");
}

TEST_F(OpenPluginInstanceTest, AParallelPluginOpensWithoutTheLock) {
  ASSERT_NO_FATAL_FAILURE(Use("blockpipe-backend-testmem.so", BP_THREAD_PARALLEL));
  bool locked = true;
  void* handle = nullptr;
  Status st = OpenPluginInstance(
      *plugin_, "ctx", "what",
      [&](void** h) {
        locked = PluginLockHeld(*plugin_);
        *h = &g_instance;
        return BP_OK;
      },
      RecordClose, &handle);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(locked);
}

TEST_F(OpenPluginInstanceTest, AHandleFromAFailedOpenIsClosedUnderTheLock) {
  ASSERT_NO_FATAL_FAILURE(Use("blockpipe-backend-abi10.so", BP_THREAD_SERIALIZE_ALL));
  void* handle = nullptr;
  Status st = OpenPluginInstance(
      *plugin_, "abi10: cannot open x://y", "abi10: open of x://y",
      [](void** h) {
        *h = &g_instance;
        SetPluginError("refused");
        return BP_ERR_PERMANENT;
      },
      RecordClose, &handle);
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(), "abi10: cannot open x://y: refused");
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(g_closes, 1);
  EXPECT_TRUE(g_close_was_locked);
}

TEST_F(OpenPluginInstanceTest, ASuccessWithoutAHandleIsAnError) {
  ASSERT_NO_FATAL_FAILURE(Use("blockpipe-backend-abi10.so", BP_THREAD_SERIALIZE_ALL));
  void* handle = nullptr;
  Status st = OpenPluginInstance(
      *plugin_, "ctx", "abi10: open of x://y", [](void**) { return BP_OK; }, RecordClose, &handle);
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(), "abi10: open of x://y returned no handle");
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(g_closes, 0);
}

TEST_F(OpenPluginInstanceTest, CallOutsideHandleReturnsTheCallsResult) {
  ASSERT_NO_FATAL_FAILURE(Use("blockpipe-backend-abi10.so", BP_THREAD_SERIALIZE_ALL));
  SetPluginError("stale");
  const int rc = CallOutsideHandle(*plugin_, [&] { return PluginLockHeld(*plugin_) ? 7 : 0; });
  EXPECT_EQ(rc, 7);
  EXPECT_EQ(TakePluginError(), "") << "cleared before the call";
}

}  // namespace
}  // namespace bp
