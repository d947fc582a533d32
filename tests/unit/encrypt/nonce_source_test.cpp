// The encrypt codec's per-thread nonce pools (plugins/codec/encrypt/nonce_source.cpp): nonces
// never repeat within a thread across many refills, across threads, or between a parent and the
// child it forks while its pool still holds unused nonces.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "nonce_source.h"

namespace {

using Nonce = std::array<uint8_t, encryptfmt::kNonceBytes>;

Nonce Next() {
  Nonce nonce{};
  encryptnonce::NextNonce(nonce.data());
  return nonce;
}

TEST(NonceSourceTest, NoRepeatsAcrossRefillsAndThreads) {
  ASSERT_GE(sodium_init(), 0);
  std::set<Nonce> seen;
  std::mutex lock;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<Nonce> mine;
      for (int i = 0; i < 5000; ++i) mine.push_back(Next());
      std::lock_guard<std::mutex> guard(lock);
      seen.insert(mine.begin(), mine.end());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(seen.size(), 4u * 5000u);
  EXPECT_EQ(seen.count(Nonce{}), 0u) << "an all-zero nonce means a pool was never filled";
}

TEST(NonceSourceTest, ForkedChildNeverReusesTheParentsPool) {
  ASSERT_GE(sodium_init(), 0);
  Next();  // the pool now holds unused nonces, which the child inherits unless wiped
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    for (int i = 0; i < 8; ++i) {
      Nonce nonce = Next();
      if (::write(fds[1], nonce.data(), nonce.size()) != static_cast<ssize_t>(nonce.size()))
        _exit(2);
    }
    _exit(0);
  }
  ::close(fds[1]);
  std::set<Nonce> parent;
  for (int i = 0; i < 8; ++i) parent.insert(Next());
  int from_child = 0;
  Nonce nonce{};
  while (::read(fds[0], nonce.data(), nonce.size()) == static_cast<ssize_t>(nonce.size())) {
    EXPECT_EQ(parent.count(nonce), 0u) << "child handed out a nonce the parent also used";
    ++from_child;
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(from_child, 8);
}

}  // namespace
