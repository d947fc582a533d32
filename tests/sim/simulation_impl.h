// The inside of one simulation run (simulation.h), shared by its implementation files:
// simulation.cpp (parameters, incarnations, the driver's steps, the workload, the checks of
// every completion), sim_verify.cpp (what exists after a reopen, and the whole read-backs of
// volumes and snapshots) and sim_control.cpp (the control operations: snapshots, restore,
// clones, deletion). Not part of the simulator's interface: include simulation.h.
//
// The host is a real VolumeManager over the simulated store, built anew at every incarnation,
// as the daemon is after kill -9. The run knows of every volume it created (the first one and
// each clone, SimVol) and every snapshot it took (SimSnap), each with what it must hold: a Model
// for a volume, a SnapshotImage for a snapshot. Clients reach them through VolumeRefs, the
// frontend's way in: a writable reference per volume, a read-only one per snapshot export.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "engine/engine_options.h"
#include "engine/volume_manager.h"
#include "engine/volume_meta.h"
#include "fault_store.h"
#include "model.h"
#include "pipeline/retrying_store.h"
#include "sim_journal.h"
#include "sim_volume.h"
#include "sim_world.h"
#include "simulation.h"
#include "snapshot_image.h"
#include "support/memory_store.h"

namespace bp::sim {

// Whether something the run created exists: its operation returned Ok (kLive), it was deleted
// (kGone), or an operation on it crashed or failed so that either is possible (kMaybe): the
// store settles it at the next open.
enum class Existence { kLive, kMaybe, kGone };

struct SimSnap;

// A run that takes more driver steps than this is reported as running away.
constexpr uint64_t kMaxSteps = 20'000'000;

// A volume of the run: the first one ("sim") and every clone.
struct SimVol {
  std::string name;
  std::unique_ptr<Model> model;
  Existence state = Existence::kLive;
  std::string doubt;               // kMaybe: the operation that left it in doubt
  SimVol* base = nullptr;          // a clone: the volume it was cloned from
  SimSnap* from = nullptr;         // and the snapshot
  std::unique_ptr<VolumeRef> ref;  // this incarnation's, while it is served
  uint64_t healthy_event = 0;      // a FLUSH/FUA after the last engine error succeeded here
  // A restore that crashed or failed: the volume holds its old content or exactly this
  // snapshot's, never a mix (empty: no restore in doubt).
  std::vector<uint64_t> restore_alt;
  std::string restore_from;
};

// A snapshot the run took.
struct SimSnap {
  SimVol* vol = nullptr;
  std::string name;
  SnapshotImage image;
  Existence state = Existence::kLive;
  std::string doubt;
  std::unique_ptr<VolumeRef> ref;  // the read-only export VOLUME@NAME, while open
  std::string export_name() const { return vol->name + "@" + name; }
};

class Simulation {
 public:
  explicit Simulation(const SimConfig& config);
  SimResult Run();

 private:
  struct Request {
    Simulation* sim = nullptr;
    int incarnation = 0;
    uint64_t id = 0;
    int client = -1;          // -1: the driver's own (verification, final flush)
    SimVol* vol = nullptr;    // the volume it goes to, or
    SimSnap* snap = nullptr;  // the snapshot export it reads
    uint32_t op = 0, flags = 0;
    uint64_t first = 0, count = 0;  // sectors
    Bytes buf;
    bp_io io{};
    uint64_t submit_ev = 0;
    Clock::TimePoint submitted{};
    int32_t write_index = -1;
    std::vector<int32_t> floor;            // reads of a volume
    std::vector<uint8_t>* into = nullptr;  // a whole read (verification): where the bytes go
    bool done = false;
    int error = 0;
  };

  // ---- simulation.cpp ----
  void DrawParameters();
  bool OpenIncarnation();
  // ---- sim_verify.cpp ----
  // After OpenAll: what exists must be what the run's operations say; in-doubt ones settle.
  bool SettleExistence();
  bool VerifyAll();
  bool VerifyVolume(SimVol* v, const std::string& when);
  bool VerifySnapshot(SimSnap* s, const std::string& when);
  // `snapshot list` of the volume names exactly its snapshots, each rebuildable.
  bool ListSnapshots(SimVol* v);
  // Open the export of a snapshot for reading, retrying through outages. False when the run
  // failed or the host crashed; *unavailable when it stays unreadable for explained reasons.
  bool OpenView(SimSnap* s, bool* unavailable);
  // Read the whole volume or snapshot export through the engine into *image. False when the
  // host crashed meanwhile (the world is torn down) or the run failed.
  bool ReadWhole(SimVol* v, SimSnap* s, std::vector<uint8_t>* image);
  // ---- simulation.cpp ----
  void Teardown();
  // The host is restarted without a crash budget spent (after a failed restore, as its message
  // asks when the volume could not be reopened): killed, so the next open settles what is in
  // doubt.
  void Restart(const std::string& why);
  // One step of the world: maybe crash, tick, issue a request (when allowed), run a task, or
  // move time to the next thing that can happen. False when the host crashed during it.
  bool Step(bool allow_issue);
  bool CanIssue() const;
  bool NothingInFlight() const;
  void IssueOne();
  Request* NewRequest(int client, uint32_t op, uint32_t flags, uint64_t first, uint64_t count);
  void Submit(Request* r);
  static void OnDone(bp_io* io, int error);
  void Completed(Request* r, int error);
  bool OverlapsModification(const SimVol* v, uint64_t first, uint64_t count) const;
  void Fail(const std::string& what);
  bool AfterAction();
  bool ErrorExplained(const Request* r) const;
  // An error that began at event `since` (time `start`) on volume v (may be null) is explained
  // by a store error or an outage (see ErrorExplained).
  bool Explained(uint64_t since, Clock::TimePoint start, const SimVol* v) const;
  void NoteHealthy(SimVol* v, const Request* r, uint64_t event);
  std::vector<SimVol*> LiveVolumes() const;
  std::vector<SimSnap*> LiveSnapshots() const;

  // ---- sim_control.cpp ----
  void RunControl();
  // Run one control operation on the driver's thread with the world going on meanwhile (see
  // SimClock). Returns its status; the caller checks crash_.crashed first.
  Status Control(const std::string& what, const std::function<Status()>& op);
  // The world's progress while a control operation waits (SimClock::Waiter).
  void PumpWhileWaiting(Clock::TimePoint until);
  // After a control operation returned: false when the host crashed (torn down) or the run
  // failed (an error no fault explains).
  bool AfterControl(const Status& s, const std::string& what, const SimVol* v);
  void CreateSnapshot(SimVol* v);
  void DeleteSnapshot(SimSnap* s);
  void Restore(SimSnap* s);
  void Clone(SimSnap* s);
  void DeleteVolume(SimVol* v);
  // Read a snapshot whole so every sector of its image is settled (clone and restore need it).
  bool SettleImage(SimSnap* s);

  SimConfig cfg_;
  Rng master_;
  Rng work_rng_, sched_rng_, fault_rng_, crash_rng_;
  Rng snap_rng_{0}, id_rng_{0};  // fork 7: control operations; ids the manager draws
  SimClock clock_;
  Trace trace_;
  EngineOptions options_;
  FaultConfig fault_config_;
  CrashState crash_;
  uint64_t sectors_ = 0;
  uint64_t ops_total_ = 0;
  struct Client {
    int inflight = 0;
    int depth = 1;
  };
  std::vector<Client> clients_;
  Clock::Duration tick_period_{};
  double gc_request_chance_ = 0;  // per tick: `blockpipe gc` asks for a pass now
  // Control operations (fork 7): on or off for the seed, the chance after each client request
  // that one comes next, the share of client requests that read a snapshot export.
  bool controls_on_ = false;
  double control_chance_ = 0;
  double view_share_ = 0;
  bool control_pending_ = false;
  std::string control_what_;  // the operation running, for crash messages
  uint64_t control_start_ev_ = 0;
  Clock::TimePoint control_start_{};
  int restarts_ = 0;
  uint64_t snapshots_named_ = 0, clones_named_ = 0;

  std::shared_ptr<MemoryStore> memory_ = std::make_shared<MemoryStore>();
  std::unique_ptr<SimCodecFactory> codecs_;
  VolumeMeta meta_;
  std::vector<std::unique_ptr<SimVol>> vols_;    // never shrinks: requests point into it
  std::vector<std::unique_ptr<SimSnap>> snaps_;  // likewise

  // The current incarnation.
  int incarnation_ = 0;
  std::unique_ptr<SimExecutor> executor_;
  std::shared_ptr<FaultStore> faults_;
  std::shared_ptr<RetryingStore> retrying_;
  std::unique_ptr<SimJournal> journal_;  // --journal: outlives incarnations, as a disk does
  Rng power_rng_{1};  // --defer-sync: which crashes are power losses, and what they do
  std::unique_ptr<VolumeManager> manager_;
  std::vector<std::unique_ptr<Request>> live_;
  Clock::TimePoint next_tick_{};

  uint64_t event_ = 0;
  uint64_t engine_error_event_ = 0;  // event at the last error the engine was told of
  bool engine_error_seen_ = false;
  std::string last_engine_error_;
  std::vector<std::pair<Clock::TimePoint, Clock::TimePoint>> outages_;
  std::string unexplained_;  // an error completion no fault explains, reported after the step
  uint64_t next_request_ = 0;
  uint64_t next_write_ = 0;
  uint64_t issued_ = 0;
  uint64_t steps_ = 0;
  uint64_t tasks_ = 0;
  SimResult result_;
};

// A fingerprint of data read back, for the trace.
uint64_t Fnv(const uint8_t* p, size_t n);

}  // namespace bp::sim
