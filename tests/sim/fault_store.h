// FaultStore: the object store the simulated engine sees (under RetryingStore), injecting by
// seed the failures a real backend shows: transient errors and outages, lost replies (the
// write landed, the caller heard an error), slow calls (virtual latency), and the crash of the
// whole host at any call — before a write lands, or after it landed and before its reply.
//
// A crash freezes the store as it stands: from then on this instance applies nothing and
// answers every call with an error, and the driver ignores whatever the dying engine still
// reports. The next incarnation gets a fresh FaultStore over the same MemoryStore, which is all
// that survives, as after kill -9.
//
// Mutations are deliberate store bugs for testing the checker itself (see docs/simulation.md):
// each one must make some seed fail.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/object_store.h"
#include "sim_world.h"
#include "support/memory_store.h"

namespace bp::sim {

// Fault kinds, each switchable from the command line (--faults).
enum FaultKind : uint32_t {
  kFaultTransient = 1u << 0,  // transient errors on any call, and outages longer than retries
  kFaultLostReply = 1u << 1,  // a put or delete lands, its reply is a transient error
  kFaultSlow = 1u << 2,       // slow calls; tasks delayed and run out of order
  kFaultCrash = 1u << 3,      // the host dies at any step
  kFaultAll = 0xF,
};

// Deliberate store bugs (--mutate), for the test of the test.
enum Mutation : uint32_t {
  // A put that should have failed transiently reports success and stores nothing.
  kMutSwallowPutError = 1u << 0,
  // After a lost reply, the key cannot be read back (so neither the retrying layer nor the
  // engine can tell the put landed).
  kMutUnresolvedLostReply = 1u << 1,
  // Segment puts are acknowledged at once and applied by a later executor task, so data is
  // missing for a while (and for good if the host dies first).
  kMutDeferredApply = 1u << 2,
  // At a crash, the newest acknowledged segment put is lost (a store that acked too early).
  kMutLoseAckedPutAtCrash = 1u << 3,
};

// Everything about crashes that outlives one FaultStore: whether the host is down now, and the
// budget and odds of the run's crashes.
struct CrashState {
  bool enabled = false;
  bool crashed = false;
  int budget = 0;        // crashes left in this run
  double per_op = 0;     // chance per store call
  double per_step = 0;   // chance per driver step
  bool opening = false;  // the engine is inside VolumeManager::OpenAll (recovery)
  // The control operation (snapshot, restore, clone, delete) running on the driver's thread,
  // empty when none: its own store calls get the raised odds of recovery's (not those of the
  // executor's tasks it waits for, which run meanwhile).
  std::string control;
  std::string where;  // what the last crash interrupted
};

struct FaultConfig {
  uint32_t kinds = 0;
  uint32_t mutations = 0;
  double p_transient = 0;
  double p_lost_reply = 0;
  double p_slow = 0;
  double p_outage = 0;  // chance per call that an outage starts
  // Object sizes go into the trace unless the chain draws randomness of its own (encrypt's
  // nonces come from the OS by design, and zstd of the metadata around them varies by a byte
  // or two).
  bool trace_sizes = true;
  // Where outages are recorded (start, end), for explaining errors; may be null.
  std::vector<std::pair<Clock::TimePoint, Clock::TimePoint>>* outages = nullptr;
};

class FaultStore final : public ObjectStore {
 public:
  FaultStore(std::shared_ptr<MemoryStore> inner, FaultConfig config, Rng rng, SimClock* clock,
             SimExecutor* executor, CrashState* crash, Trace* trace);

  Status Get(const std::string& key, Bytes* out) override;
  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override;
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override;
  Status PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) override;
  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override;
  Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                    const std::string& expected_tag, std::string* new_tag) override;
  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override;
  Status Sync(const std::vector<std::string>& keys) override;
  Status Delete(const std::string& key) override;
  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override;
  uint64_t Capabilities() const override { return inner_->Capabilities(); }
  bool TakesParts() const override { return true; }
  std::string Describe() const override { return "sim://"; }

  // Strike now (a crash at a driver step rather than inside a call).
  void CrashNow(const std::string& where);
  // Errors injected so far (transient, outage, lost reply).
  uint64_t injected() const { return injected_; }

 private:
  enum class Kind { kRead, kWrite, kDelete, kList };
  // Before the call reaches the store: crash, latency, outage, transient error. Non-OK means
  // the call must return that status without touching the store.
  Status Before(Kind kind, const std::string& key);
  // After a write or delete was applied: a crash before the reply, or a lost reply.
  Status After(Kind kind, const std::string& key, Status applied);
  double CrashOdds(Kind kind, const std::string& key) const;
  bool MaybeCrash(Kind kind, const std::string& key, const char* when);
  Status Crashed() const;
  Status DoPut(const std::string& key, Bytes bytes, bool if_absent, bool defer_sync = false);

  std::shared_ptr<MemoryStore> inner_;
  FaultConfig config_;
  Rng rng_;
  SimClock* clock_;
  SimExecutor* executor_;
  CrashState* crash_;
  Trace* trace_;
  Clock::TimePoint outage_until_{};
  uint64_t injected_ = 0;
  std::set<std::string> unreadable_;       // kMutUnresolvedLostReply
  std::set<std::string> not_yet_applied_;  // kMutDeferredApply
  std::string last_acked_segment_;         // kMutLoseAckedPutAtCrash
};

}  // namespace bp::sim
