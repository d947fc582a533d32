// FaultPlan decisions (see fault_plan.h). Each selected call n draws two numbers from
// (seed, n): lane 0 picks at most one of permanent, transient and lost reply (in that order of
// the rates' intervals in [0, 1)), lane 1 decides the stall, so a stall can precede any outcome.
#include "fault_plan.h"

#include <sys/stat.h>

#include <cstring>

#include <blockpipe/bp_common.h>

namespace faultsfilter {

bool FaultPlan::Selects(bpplugin::OpKind kind, const char* key) const {
  if (!s_.kinds[kind]) return false;
  if (s_.prefixes.empty()) return true;
  const size_t key_len = std::strlen(key);
  for (const std::string& p : s_.prefixes) {
    // A key under the prefix; for a listing, also a listing that covers keys under it.
    if (key_len >= p.size() && std::memcmp(key, p.data(), p.size()) == 0) return true;
    if (kind == bpplugin::kOpList && p.compare(0, key_len, key) == 0) return true;
  }
  return false;
}

Decision FaultPlan::Decide(bpplugin::OpKind kind) {
  Decision d;
  d.call = calls_.fetch_add(1, std::memory_order_relaxed);
  const double pick = bpplugin::Draw(s_.seed, d.call, 0);
  double edge = s_.permanent_rate;
  if (pick < edge) {
    d.fault = Fault::kPermanent;
  } else if (pick < (edge += s_.transient_rate)) {
    d.fault = Fault::kTransient;
  } else if ((kind == bpplugin::kOpWrite || kind == bpplugin::kOpDelete) &&
             pick < edge + s_.lost_reply_rate) {
    d.fault = Fault::kLostReply;
  }
  if (s_.stall.count() > 0 && bpplugin::Draw(s_.seed, d.call, 1) < s_.stall_rate) {
    d.stall = s_.stall;
  }
  return d;
}

bool FaultPlan::InOutage() {
  if (s_.outage_file.empty()) return false;
  struct stat st;
  const bool on = ::stat(s_.outage_file.c_str(), &st) == 0;
  if (outage_.exchange(on, std::memory_order_relaxed) != on && bp_host != nullptr) {
    const std::string message =
        on ? "outage begins: " + s_.outage_file + " exists, every selected call fails transiently"
           : "outage ends: " + s_.outage_file + " is gone";
    bp_host->log(BP_LOG_WARN, "faults", message.c_str());
  }
  return on;
}

}  // namespace faultsfilter
