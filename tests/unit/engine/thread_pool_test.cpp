// ThreadPool: speculative tasks (read-ahead) never take more than their share of the workers
// (half by default) and never delay an ordinary task, every task runs once, and Stop runs what is queued.
#include "engine/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <tuple>

namespace bp {
namespace {

// A gate tasks wait at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(ThreadPoolTest, SpeculativeTasksLeaveWorkersForOrdinaryOnes) {
  ThreadPool pool(4);
  Gate gate;
  std::atomic<int> running{0}, peak{0}, finished{0};
  for (int i = 0; i < 10; ++i) {
    pool.SubmitSpeculative([&] {
      const int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      gate.Wait();
      --running;
      ++finished;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return running.load() == 2; }));
  // Two workers are blocked in read-ahead; ordinary work still runs at once.
  std::atomic<int> ordinary{0};
  for (int i = 0; i < 20; ++i) pool.Submit([&] { ++ordinary; });
  EXPECT_TRUE(WaitFor([&] { return ordinary.load() == 20; }));
  EXPECT_EQ(peak.load(), 2);
  gate.Open();
  EXPECT_TRUE(WaitFor([&] { return finished.load() == 10; }));
  EXPECT_LE(peak.load(), 2);
}

// The limit a remote store asks for (most of the workers), capped so one is always left.
TEST(ThreadPoolTest, SpeculativeLimitIsConfigurableButLeavesOneWorker) {
  for (const auto& [threads, asked, limit] :
       {std::tuple{8u, 6u, 6}, std::tuple{4u, 10u, 3}, std::tuple{4u, 0u, 2}}) {
    const int expected = limit;  // a copy: lambdas may not capture structured bindings (C++17)
    ThreadPool pool(threads, asked);
    EXPECT_EQ(pool.speculative_limit(), static_cast<size_t>(expected));
    Gate gate;
    std::atomic<int> running{0}, peak{0}, finished{0};
    for (int i = 0; i < 12; ++i) {
      pool.SubmitSpeculative([&] {
        const int now = ++running;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        gate.Wait();
        --running;
        ++finished;
      });
    }
    ASSERT_TRUE(WaitFor([&] { return running.load() == expected; }));
    std::atomic<int> ordinary{0};
    pool.Submit([&] { ++ordinary; });
    EXPECT_TRUE(WaitFor([&] { return ordinary.load() == 1; }));
    gate.Open();
    EXPECT_TRUE(WaitFor([&] { return finished.load() == 12; }));
    EXPECT_EQ(peak.load(), expected);
  }
}

TEST(ThreadPoolTest, OrdinaryTasksGoFirstAndStopRunsEverything) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    Gate gate;
    pool.Submit([&] { gate.Wait(); });
    std::vector<int> order;
    std::mutex mu;
    pool.SubmitSpeculative([&] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(2);
      ++ran;
    });
    pool.Submit([&] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(1);
      ++ran;
    });
    gate.Open();
    pool.Stop();
    ASSERT_EQ(order.size(), 2u);
    EXPECT_EQ(order[0], 1);  // queued later but ordinary: ran before the read-ahead
    EXPECT_EQ(order[1], 2);
  }
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace bp
