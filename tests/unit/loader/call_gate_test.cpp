// CallGate: each thread model admits exactly the concurrency it declares.
#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace bp
