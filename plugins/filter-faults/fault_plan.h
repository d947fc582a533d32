// FaultPlan: what the faults filter does to one call — pass it, fail it transiently or
// permanently before it reaches the store, pass it and then lose the reply, stall it first — and
// whether the outage switch is on. Decisions are a pure function of the seed and the number of
// the call among the calls the plan selects (its operation kind and key prefix), so a run with
// the same seed and the same call order injects the same faults. Thread-safe: the only shared
// state is the call counter (atomic) and the outage edge detector (atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "filter_values.h"

namespace faultsfilter {

struct FaultSettings {
  uint64_t seed = 1;
  bool kinds[bpplugin::kOpKinds] = {true, true, true, true};
  std::vector<std::string> prefixes;  // empty: every key
  double permanent_rate = 0;
  double transient_rate = 0;
  double lost_reply_rate = 0;  // writes and deletes only
  double stall_rate = 0;
  std::chrono::nanoseconds stall{0};
  std::string outage_file;  // empty: no outage switch
};

enum class Fault {
  kNone,       // pass the call on
  kTransient,  // fail with BP_ERR_TRANSIENT without passing it on
  kPermanent,  // fail with BP_ERR_PERMANENT without passing it on
  kLostReply,  // pass it on, then fail with BP_ERR_TRANSIENT whatever it returned
};

struct Decision {
  Fault fault = Fault::kNone;
  std::chrono::nanoseconds stall{0};  // slept before anything else
  uint64_t call = 0;                  // the call's number among selected calls (for messages)
};

class FaultPlan {
 public:
  explicit FaultPlan(FaultSettings settings) : s_(std::move(settings)) {}

  const FaultSettings& settings() const { return s_; }

  // Whether a call of `kind` on `key` (for list: the listing prefix) is subject to the plan.
  bool Selects(bpplugin::OpKind kind, const char* key) const;

  // The fate of the next selected call. Counts it.
  Decision Decide(bpplugin::OpKind kind);

  // True while the outage file exists. Logs when the outage starts and ends.
  bool InOutage();

 private:
  const FaultSettings s_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<bool> outage_{false};
};

}  // namespace faultsfilter
