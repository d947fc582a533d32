// One deterministic simulation run: the real engine (a VolumeManager and its Volumes over
// RetryingStore over FaultStore over MemoryStore, a real UnitCache) on virtual time with a
// seeded scheduler, a seeded workload from several clients, control operations (snapshots,
// restore, clones, deletion), crashes and reopens, and the Model checking every read and
// every recovery. RunSimulation is a pure function of its SimConfig: the same seed gives the
// same trace, byte for byte.
#pragma once

#include <cstdint>
#include <string>

namespace bp::sim {

// Engine sabotage switches by name (EngineOptions::sabotage, simulator-only; see
// docs/simulation.md). Values are this file's bits, mapped onto the engine's when it has them.
enum Sabotage : uint32_t {
  kSabAckUploadFailure = 1u << 0,
  kSabNoLostReplyResolution = 1u << 1,
  kSabAckFlushOnNewestDurable = 1u << 2,
  kSabAckFlushOnSeal = 1u << 3,
  kSabDropJournalBeforeUpload = 1u << 4,
  kSabGcStaleRelocation = 1u << 5,
  kSabReclaimIgnoresPins = 1u << 6,
  kSabPrunePinnedCheckpoints = 1u << 7,
  kSabDeleteSharedSegments = 1u << 8,
  kSabAckFlushBeforeSync = 1u << 9,
  kSabSkipDeltaCommit = 1u << 10,
};
constexpr uint32_t kSabAll = 0x7FF;
// True when this build's engine has EngineOptions::sabotage.
bool EngineHasSabotage();
// The engine's bits (bp::Sabotage) for these.
uint32_t EngineSabotage(uint32_t bits);

struct SimConfig {
  uint64_t seed = 1;
  uint32_t faults = 0xF;  // FaultKind bits
  std::string codec = "xor";
  uint32_t mutations = 0;  // Mutation bits (fault_store.h)
  uint32_t sabotage = 0;   // Sabotage bits
  uint64_t ops = 0;        // client requests; 0 = drawn from the seed
  bool journal = false;    // durability = "local": the real LocalJournal (sim_journal.h)
  // The store defers durability (BP_BACKEND_CAP_DEFER_SYNC, like the file backend), and half
  // of the crashes are crashes of the machine: what was not synced is kept, lost or torn.
  bool defer_sync = false;
  bool keep_trace = false;  // keep the trace text (else only its hash)
};

struct SimResult {
  bool ok = true;
  std::string failure;  // what broke, when !ok
  uint64_t trace_hash = 0;
  uint64_t trace_lines = 0;
  std::string trace;  // when keep_trace
  uint64_t requests = 0, crashes = 0, opens = 0, faults = 0, tasks = 0;
  // Control operations that returned (whatever their outcome), by kind, and client reads of
  // snapshot exports.
  uint64_t snapshot_creates = 0, snapshot_deletes = 0, restores = 0, clones = 0, volume_deletes = 0,
           view_reads = 0;
  uint64_t control_crashes = 0;  // crashes that struck while a control operation ran
  double virtual_seconds = 0;
};

SimResult RunSimulation(const SimConfig& config);

// The one-line command that replays a run.
std::string ReplayCommand(const SimConfig& config);
// Names ↔ bits for the command line. Parse* return false on an unknown name.
bool ParseFaults(const std::string& text, uint32_t* out);
bool ParseMutations(const std::string& text, uint32_t* out);
bool ParseSabotage(const std::string& text, uint32_t* out);
std::string FaultsName(uint32_t faults);
std::string MutationsName(uint32_t mutations);
std::string SabotageName(uint32_t sabotage);

}  // namespace bp::sim
