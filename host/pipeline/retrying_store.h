// RetryingStore: an ObjectStore wrapper that retries transient backend errors (timeouts,
// throttling, 5xx) with exponential backoff and jitter until a per-operation deadline, then
// returns the last error. Other error classes (not found, precondition, permanent, corrupt…)
// pass through at once: retrying them cannot help and could hide a fencing conflict.
//
// One ambiguity is resolved here, for both conditional writes: a put-if-absent or put-if-match
// whose attempt timed out may have succeeded, so a later attempt sees Precondition. When that
// happens after a transient failure — in this call's retries, or in an earlier call for the
// same key that gave up (the engine retries a failed segment upload later, with a new call) —
// the stored object is read back and, if it holds exactly our bytes, the put counts as done (a
// put-if-match then reports the tag it read). This is the only layer that does so: backends
// report what the store answered and never read back, and the engine treats Precondition as
// another writer. Keys whose conditional put ended in a transient error are remembered until
// a later put of the key settles (at most kUncertainKeys, oldest forgotten first).
//
// Thread-safe; Abort() makes every waiting and future retry give up (used at shutdown).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include <blockpipe/bp_thread_safety.h>

#include "pipeline/object_store.h"
#include "util/clock.h"

namespace bp {

struct RetryPolicy {
  // Total time one operation may spend retrying (0: a single attempt).
  std::chrono::milliseconds deadline{30000};
  // First backoff; doubles per attempt up to max_backoff. Each wait is drawn uniformly from
  // [backoff/2, backoff] so many threads hitting the same outage do not retry in lockstep.
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{5000};
  // Where deadlines and backoff waits are measured (the simulator passes a virtual clock).
  Clock* clock = Clock::Real();
  // Seed of the backoff jitter; 0 draws one from std::random_device. A fixed seed makes the
  // waits (and so a simulation) repeat exactly.
  uint64_t jitter_seed = 0;
  // False only in the simulator's test of itself (Sabotage::kNoLostReplyResolution): a lost
  // reply is then never resolved by read-back.
  bool resolve_lost_replies = true;
};

class RetryingStore : public ObjectStore {
 public:
  RetryingStore(std::shared_ptr<ObjectStore> inner, RetryPolicy policy);

  Status Get(const std::string& key, Bytes* out) override;
  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override;
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override;
  Status PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) override;
  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override;
  Status Sync(const std::vector<std::string>& keys) override;
  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override;
  Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                    const std::string& expected_tag, std::string* new_tag) override;
  Status Delete(const std::string& key) override;
  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override;
  uint64_t Capabilities() const override { return inner_->Capabilities(); }
  bool TakesParts() const override { return inner_->TakesParts(); }
  std::string Describe() const override { return inner_->Describe(); }

  // Stop retrying: waits end now and later transient errors are returned after one attempt.
  void Abort();

  // Keys remembered as possibly written by a put whose reply was lost.
  static constexpr size_t kUncertainKeys = 4096;

  const std::shared_ptr<ObjectStore>& inner() const { return inner_; }

 private:
  // Run op until it succeeds, fails non-transiently, or the deadline passes. verb and subject
  // name the operation for logs and the final error ("put volumes/a/seg/…"), built only when
  // an attempt failed: reads of units pass here thousands of times a second. A template (op is
  // called in place, not through a std::function) used only by retrying_store.cpp.
  template <typename Op>
  Status Retry(const char* verb, const std::string& subject, const Op& op,
               bool* had_transient = nullptr);
  // The outcome of a conditional put of key: resolves a Precondition that may come from our
  // own earlier attempt (see above) and keeps the set of uncertain keys.
  Status SettleConditionalPut(const std::string& key, const ObjectParts& parts, Status st,
                              bool had_transient, std::string* tag) BP_EXCLUDES(mu_);
  // Remember that key's conditional put may have landed unseen (oldest forgotten first).
  void RememberUncertain(const std::string& key) BP_REQUIRES(mu_);
  // After a conditional put answered Precondition following a transient failure: Ok (and the
  // stored tag, when asked for) if the object holds exactly the parts' bytes, `lost` if it holds
  // other bytes, Transient (the key stays uncertain) if it could not be read back.
  Status ResolveLostResponse(const std::string& key, const ObjectParts& parts, Status lost,
                             std::string* tag) BP_EXCLUDES(mu_);
  // Sleep for d unless aborted first; false when aborted.
  bool Wait(std::chrono::milliseconds d) BP_EXCLUDES(mu_);
  // A wait drawn uniformly from [backoff/2, backoff].
  std::chrono::milliseconds Jitter(std::chrono::milliseconds backoff) BP_EXCLUDES(mu_);

  std::shared_ptr<ObjectStore> inner_;
  RetryPolicy policy_;
  Mutex mu_;
  CondVar cv_;
  bool aborted_ BP_GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ BP_GUARDED_BY(mu_);
  std::deque<std::string> uncertain_ BP_GUARDED_BY(mu_);  // oldest first
};

}  // namespace bp
