// CallGate: each thread model admits exactly the concurrency it declares.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "loader/call_gate.h"

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
  std::mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_ALL, &plugin_mutex), b(BP_THREAD_SERIALIZE_ALL, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &b, &a, &b}), 1);
}

TEST(CallGate, SerializeHandleExcludesPerHandleOnly) {
  std::mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_HANDLE, &plugin_mutex), b(BP_THREAD_SERIALIZE_HANDLE, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &a, &a}), 1);
  EXPECT_EQ(MaxConcurrency({&a, &b}), 2);
}

TEST(CallGate, ParallelAdmitsEveryone) {
  std::mutex plugin_mutex;
  CallGate a(BP_THREAD_PARALLEL, &plugin_mutex);
  EXPECT_GE(MaxConcurrency({&a, &a, &a}), 2);
}

TEST(CallGate, UnknownModelIsTreatedAsStrictest) {
  std::mutex plugin_mutex;
  CallGate a(77, &plugin_mutex), b(77, &plugin_mutex);
  EXPECT_EQ(MaxConcurrency({&a, &b}), 1);
}

// The same measure for callers that each take their lock through `enter`.
int MaxConcurrencyOf(std::vector<std::function<std::unique_lock<std::mutex>()>> enters) {
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

std::function<std::unique_lock<std::mutex>()> OutsideHandle(uint32_t model, std::mutex* m) {
  return [model, m] { return CallGate::EnterOutsideHandle(model, m); };
}

TEST(CallGate, CallsOutsideAHandleAreSerializedPluginWide) {
  for (uint32_t model : {uint32_t{BP_THREAD_SERIALIZE_ALL}, uint32_t{BP_THREAD_SERIALIZE_HANDLE},
                         uint32_t{77}}) {
    std::mutex plugin_mutex;
    EXPECT_EQ(MaxConcurrencyOf({OutsideHandle(model, &plugin_mutex),
                                OutsideHandle(model, &plugin_mutex)}),
              1)
        << "thread model " << model;
  }
}

TEST(CallGate, CallsOutsideAHandleExcludeSerializeAllHandles) {
  std::mutex plugin_mutex;
  CallGate a(BP_THREAD_SERIALIZE_ALL, &plugin_mutex);
  EXPECT_EQ(MaxConcurrencyOf({OutsideHandle(BP_THREAD_SERIALIZE_ALL, &plugin_mutex),
                              [&] { return a.Enter(); }}),
            1);
}

TEST(CallGate, CallsOutsideAHandleOfAParallelPluginRunTogether) {
  std::mutex plugin_mutex;
  EXPECT_GE(MaxConcurrencyOf({OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex),
                              OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex),
                              OutsideHandle(BP_THREAD_PARALLEL, &plugin_mutex)}),
            2);
}

}  // namespace
}  // namespace bp
