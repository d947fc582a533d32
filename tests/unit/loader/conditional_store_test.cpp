// Compare-and-swap through the host's store layers: MemoryStore's tags (what the engine tests
// rely on), and RetryingStore's handling of a put-if-match whose reply was lost.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <blockpipe/bp_backend.h>

#include "pipeline/retrying_store.h"
#include "support/memory_store.h"
#include "support/status_assert.h"

namespace bp {
namespace {

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

RetryPolicy Fast() {
  RetryPolicy p;
  p.deadline = std::chrono::milliseconds(2000);
  p.initial_backoff = std::chrono::milliseconds(1);
  p.max_backoff = std::chrono::milliseconds(5);
  return p;
}

TEST(MemoryStoreCas, MatchingTagReplacesStaleOrAbsentDoesNot) {
  MemoryStore store;
  EXPECT_NE(store.Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
  std::string tag, new_tag;
  Bytes got;
  EXPECT_TRUE(store.PutIfMatch("k", "a", 1, "v1", &new_tag).IsPrecondition()) << "absent";
  ASSERT_OK(store.Put("k", "a", 1, false));
  ASSERT_OK(store.GetTagged("k", &got, &tag));
  ASSERT_OK(store.PutIfMatch("k", "b", 1, tag, &new_tag));
  EXPECT_NE(new_tag, tag);
  EXPECT_TRUE(store.PutIfMatch("k", "c", 1, tag, &new_tag).IsPrecondition()) << "stale";
  EXPECT_EQ(store.Peek("k"), B("b"));
  store.SetConditionalPutSupported(false);
  EXPECT_EQ(store.Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
  EXPECT_EQ(store.GetTagged("k", &got, &tag).code(), Status::Code::kUnsupported);
}

TEST(MemoryStoreCas, RacingThreadsExactlyOneWins) {
  MemoryStore store;
  ASSERT_OK(store.Put("k", "start", 5, false));
  Bytes got;
  std::string tag;
  ASSERT_OK(store.GetTagged("k", &got, &tag));
  std::atomic<int> wins{0}, losses{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string data = "writer " + std::to_string(t), new_tag;
      Status st = store.PutIfMatch("k", data.data(), data.size(), tag, &new_tag);
      if (st.ok()) wins++;
      if (st.IsPrecondition()) losses++;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(losses.load(), 7);
}

TEST(RetryingStoreCas, PutIfMatchWhoseLostReplyHadSucceeded) {
  auto memory = std::make_shared<MemoryStore>();
  RetryingStore store(memory, Fast());
  ASSERT_OK(memory->Put("k", "old", 3, false));
  Bytes got;
  std::string tag, new_tag;
  ASSERT_OK(store.GetTagged("k", &got, &tag));
  memory->FailNextPutAfterStoring(Status::Transient("reply lost"), "k");
  ASSERT_OK(store.PutIfMatch("k", "new", 3, tag, &new_tag))
      << "the retry's precondition failure is our own earlier replace";
  std::string stored_tag;
  ASSERT_OK(memory->GetTagged("k", &got, &stored_tag));
  EXPECT_EQ(new_tag, stored_tag) << "the tag read back is reported";
}

TEST(RetryingStoreCas, TimeoutThenAnotherWritersReplaceIsPrecondition) {
  auto memory = std::make_shared<MemoryStore>();
  RetryingStore store(memory, Fast());
  ASSERT_OK(memory->Put("k", "old", 3, false));
  Bytes got;
  std::string tag, new_tag;
  ASSERT_OK(store.GetTagged("k", &got, &tag));
  // Our first attempt times out before reaching the store; meanwhile another writer replaces it.
  memory->FailNext(MemoryStore::Op::kPut, Status::Transient("timeout"), 1, "k");
  memory->BeforeNextPutIfMatch([&] { memory->Poke("k", B("theirs")); }, "k");
  Status st = store.PutIfMatch("k", "new", 3, tag, &new_tag);
  EXPECT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_EQ(memory->Peek("k"), B("theirs"));
}

TEST(RetryingStoreCas, PreconditionWithoutEarlierTransientIsNotReinterpreted) {
  auto memory = std::make_shared<MemoryStore>();
  RetryingStore store(memory, Fast());
  ASSERT_OK(memory->Put("k", "same", 4, false));
  std::string new_tag;
  EXPECT_TRUE(store.PutIfMatch("k", "same", 4, "v999", &new_tag).IsPrecondition())
      << "identical bytes written by someone else still mean the version moved on";
}

}  // namespace
}  // namespace bp
