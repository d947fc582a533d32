// RetryingStore: transient errors are retried with backoff until the deadline, other classes
// never are, Abort() ends waiting, and a put-if-absent whose earlier attempt secretly
// succeeded is recognized.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>

#include <blockpipe/bp_backend.h>

#include "pipeline/retrying_store.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Answers each call with the next scripted Status (then Ok forever) and counts calls. A put
// scripted with `lose_reply` stores the object yet reports the scripted (transient) error, as a
// request whose response was lost would.
class FlakyStore : public ObjectStore {
 public:
  void Script(std::deque<Status> results) { results_ = std::move(results); }
  void LoseNextPutReply() { lose_reply_ = true; }
  int calls() const { return calls_; }

  Status Get(const std::string& key, Bytes* out) override {
    BP_RETURN_IF_ERROR(Next());
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound(key);
    *out = it->second;
    return Status::Ok();
  }
  Status Read(const std::string&, uint64_t, uint64_t, void*, uint64_t* nread) override {
    *nread = 0;
    return Next();
  }
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override {
    if (lose_reply_) {
      lose_reply_ = false;
      ++calls_;
      objects_[key].assign(static_cast<const uint8_t*>(data),
                           static_cast<const uint8_t*>(data) + length);
      return Status::Transient("connection reset before the reply");
    }
    BP_RETURN_IF_ERROR(Next());
    if (if_absent && objects_.count(key)) return Status::Precondition(key + " exists");
    objects_[key].assign(static_cast<const uint8_t*>(data),
                         static_cast<const uint8_t*>(data) + length);
    return Status::Ok();
  }
  Status Delete(const std::string&) override { return Next(); }
  Status List(const std::string&, std::vector<ObjectInfo>*) override { return Next(); }
  uint64_t Capabilities() const override { return BP_BACKEND_CAP_PUT_IF_ABSENT; }
  std::string Describe() const override { return "flaky://"; }

  std::map<std::string, Bytes> objects_;

 private:
  Status Next() {
    ++calls_;
    if (results_.empty()) return Status::Ok();
    Status s = results_.front();
    results_.pop_front();
    return s;
  }
  std::deque<Status> results_;
  std::atomic<int> calls_{0};
  bool lose_reply_ = false;
};

RetryPolicy Fast(int deadline_ms) {
  RetryPolicy p;
  p.deadline = std::chrono::milliseconds(deadline_ms);
  p.initial_backoff = std::chrono::milliseconds(2);
  p.max_backoff = std::chrono::milliseconds(20);
  return p;
}

TEST(RetryingStore, RetriesTransientErrorsUntilSuccess) {
  auto flaky = std::make_shared<FlakyStore>();
  flaky->Script({Status::Transient("503"), Status::Transient("timeout"), Status::Ok()});
  RetryingStore store(flaky, Fast(5000));
  EXPECT_OK(store.Delete("k"));
  EXPECT_EQ(flaky->calls(), 3);
}

TEST(RetryingStore, GivesUpAtTheDeadlineWithTheLastError) {
  auto flaky = std::make_shared<FlakyStore>();
  std::deque<Status> always(10000, Status::Transient("503 slow down"));
  flaky->Script(always);
  RetryingStore store(flaky, Fast(150));
  const auto start = Clock::now();
  std::vector<ObjectInfo> out;
  Status st = store.List("p/", &out);
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(st.IsTransient());
  EXPECT_THAT(st.message(), HasSubstr("list p/: giving up after"));
  EXPECT_THAT(st.message(), HasSubstr("503 slow down"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
  EXPECT_GT(flaky->calls(), 3) << "backoff starts small";
  EXPECT_LT(flaky->calls(), 150) << "backoff grows";
}

TEST(RetryingStore, ZeroDeadlineMeansOneAttempt) {
  auto flaky = std::make_shared<FlakyStore>();
  flaky->Script({Status::Transient("503")});
  RetryingStore store(flaky, Fast(0));
  EXPECT_TRUE(store.Delete("k").IsTransient());
  EXPECT_EQ(flaky->calls(), 1);
}

TEST(RetryingStore, NeverRetriesOtherClasses) {
  for (const Status& s :
       {Status::NotFound("nf"), Status::Permanent("denied"), Status::Precondition("exists"),
        Status::Corrupt("bad"), Status::Invalid("bad key"), Status::Unsupported("no")}) {
    auto flaky = std::make_shared<FlakyStore>();
    flaky->Script({s, Status::Ok()});
    RetryingStore store(flaky, Fast(5000));
    Status st = store.Delete("k");
    EXPECT_EQ(st.code(), s.code()) << s.ToString();
    EXPECT_EQ(st.message(), s.message()) << "passed through unchanged";
    EXPECT_EQ(flaky->calls(), 1) << s.ToString();
  }
}

TEST(RetryingStore, AbortEndsRetryingPromptly) {
  auto flaky = std::make_shared<FlakyStore>();
  std::deque<Status> always(100000, Status::Transient("down"));
  flaky->Script(always);
  RetryPolicy slow = Fast(60000);
  slow.initial_backoff = std::chrono::milliseconds(200);
  RetryingStore store(flaky, slow);
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    store.Abort();
  });
  const auto start = Clock::now();
  Status st = store.Delete("k");
  aborter.join();
  EXPECT_TRUE(st.IsTransient());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // After Abort, a failing call returns after its first attempt.
  const int before = flaky->calls();
  EXPECT_TRUE(store.Delete("k").IsTransient());
  EXPECT_EQ(flaky->calls() - before, 1);
}

TEST(RetryingStore, PutIfAbsentWhoseLostReplyHadSucceeded) {
  auto flaky = std::make_shared<FlakyStore>();
  RetryingStore store(flaky, Fast(5000));
  flaky->LoseNextPutReply();
  EXPECT_OK(store.Put("seg/1", "abc", 3, true)) << "the object holds our bytes: it was our put";

  // A timeout, then the key turns out taken by another writer's bytes: a real fencing conflict.
  flaky->objects_["seg/2"] = Bytes{'x'};
  flaky->Script({Status::Transient("timeout")});
  Status st = store.Put("seg/2", "abc", 3, true);
  EXPECT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_EQ(flaky->objects_["seg/2"], Bytes{'x'});
}

TEST(RetryingStore, PreconditionWithoutEarlierTransientIsNotReinterpreted) {
  auto flaky = std::make_shared<FlakyStore>();
  flaky->objects_["k"] = Bytes{'a', 'b', 'c'};
  RetryingStore store(flaky, Fast(5000));
  EXPECT_TRUE(store.Put("k", "abc", 3, true).IsPrecondition())
      << "identical bytes from another writer still mean the key was taken";
}

}  // namespace
}  // namespace bp
