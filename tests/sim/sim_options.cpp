// The simulator's options by name (--faults, --mutate, --sabotage), the engine's sabotage bits
// they map to, and the command that replays a run (see simulation.h).
#include "engine/engine_options.h"
#include "fault_store.h"
#include "simulation.h"

namespace bp::sim {
namespace {

struct Named {
  const char* name;
  uint32_t bit;
};
const Named kFaultNames[] = {{"transient", kFaultTransient},
                             {"lost", kFaultLostReply},
                             {"slow", kFaultSlow},
                             {"crash", kFaultCrash}};
const Named kMutationNames[] = {{"swallow-put-error", kMutSwallowPutError},
                                {"unresolved-lost-reply", kMutUnresolvedLostReply},
                                {"deferred-apply", kMutDeferredApply},
                                {"lose-acked-put-at-crash", kMutLoseAckedPutAtCrash}};
const Named kSabotageNames[] = {{"ack-upload-failure", kSabAckUploadFailure},
                                {"no-lost-reply-resolution", kSabNoLostReplyResolution},
                                {"ack-flush-on-newest-durable", kSabAckFlushOnNewestDurable},
                                {"ack-flush-on-seal", kSabAckFlushOnSeal},
                                {"drop-journal-before-upload", kSabDropJournalBeforeUpload},
                                {"gc-stale-relocation", kSabGcStaleRelocation},
                                {"reclaim-ignores-pins", kSabReclaimIgnoresPins},
                                {"prune-pinned-checkpoints", kSabPrunePinnedCheckpoints},
                                {"delete-shared-segments", kSabDeleteSharedSegments},
                                {"ack-flush-before-sync", kSabAckFlushBeforeSync},
                                {"skip-delta-commit", kSabSkipDeltaCommit}};

template <size_t N>
bool ParseNames(const std::string& text, const Named (&names)[N], uint32_t all, uint32_t* out) {
  *out = 0;
  if (text == "none" || text.empty()) return true;
  if (text == "all") {
    *out = all;
    return true;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string word = text.substr(start, comma - start);
    bool found = false;
    for (const Named& n : names) {
      if (word == n.name) {
        *out |= n.bit;
        found = true;
      }
    }
    if (!found) return false;
    start = comma + 1;
  }
  return true;
}

template <size_t N>
std::string NamesOf(uint32_t bits, const Named (&names)[N], uint32_t all) {
  if (bits == 0) return "none";
  if (bits == all) return "all";
  std::string out;
  for (const Named& n : names) {
    if (bits & n.bit) out += (out.empty() ? "" : ",") + std::string(n.name);
  }
  return out;
}

}  // namespace

bool EngineHasSabotage() { return true; }

uint32_t EngineSabotage(uint32_t bits) {
  uint32_t s = 0;
  if (bits & kSabAckUploadFailure) s |= bp::Sabotage::kAckUploadFailure;
  if (bits & kSabNoLostReplyResolution) s |= bp::Sabotage::kNoLostReplyResolution;
  if (bits & kSabAckFlushOnNewestDurable) s |= bp::Sabotage::kAckFlushOnNewestDurable;
  if (bits & kSabAckFlushOnSeal) s |= bp::Sabotage::kAckFlushOnSeal;
  if (bits & kSabDropJournalBeforeUpload) s |= bp::Sabotage::kDropJournalBeforeUpload;
  if (bits & kSabGcStaleRelocation) s |= bp::Sabotage::kGcStaleRelocation;
  if (bits & kSabReclaimIgnoresPins) s |= bp::Sabotage::kReclaimIgnoresPins;
  if (bits & kSabPrunePinnedCheckpoints) s |= bp::Sabotage::kPrunePinnedCheckpoints;
  if (bits & kSabDeleteSharedSegments) s |= bp::Sabotage::kDeleteSharedSegments;
  if (bits & kSabAckFlushBeforeSync) s |= bp::Sabotage::kAckFlushBeforeSync;
  if (bits & kSabSkipDeltaCommit) s |= bp::Sabotage::kSkipDeltaCommit;
  return s;
}

bool ParseFaults(const std::string& text, uint32_t* out) {
  return ParseNames(text, kFaultNames, kFaultAll, out);
}
bool ParseMutations(const std::string& text, uint32_t* out) {
  return ParseNames(text, kMutationNames, 0xF, out);
}
bool ParseSabotage(const std::string& text, uint32_t* out) {
  return ParseNames(text, kSabotageNames, kSabAll, out);
}
std::string FaultsName(uint32_t faults) { return NamesOf(faults, kFaultNames, kFaultAll); }
std::string MutationsName(uint32_t m) { return NamesOf(m, kMutationNames, 0xF); }
std::string SabotageName(uint32_t s) { return NamesOf(s, kSabotageNames, kSabAll); }

std::string ReplayCommand(const SimConfig& config) {
  std::string cmd = "build/bin/blockpipe-sim --seed " + std::to_string(config.seed) + " --faults " +
                    FaultsName(config.faults) + " --codec " + config.codec;
  if (config.ops != 0) cmd += " --ops " + std::to_string(config.ops);
  if (config.mutations != 0) cmd += " --mutate " + MutationsName(config.mutations);
  if (config.sabotage != 0) cmd += " --sabotage " + SabotageName(config.sabotage);
  if (config.journal) cmd += " --journal";
  if (config.defer_sync) cmd += " --defer-sync";
  return cmd + " --verbose";
}

}  // namespace bp::sim
