// Control operations of the simulated host (see simulation_impl.h): snapshot create and delete,
// restore, clone and volume deletion, called on the VolumeManager as the control socket calls
// them, with crashes and faults landing inside them, and what each one's outcome means for the
// run's expectations.
//
// An operation runs on the driver's thread while the clients are quiet (the driver lets every
// request in flight finish first), so the model knows each volume's content exactly when it
// starts. It waits for the flushes and closes it implies the way the daemon's control thread
// would, with the world going on meanwhile (PumpWhileWaiting: executor tasks, ticks, time).
// Its own store calls get the raised crash odds of recovery's (CrashState::control).
//
// Outcomes. Ok: the operation happened. A crash, or an error (which must be explained by a
// store error or an outage, like any request's): either is possible, and the next open
// settles which from the store (Existence::kMaybe; a restore in doubt leaves the volume either
// exactly as it was or exactly the snapshot). A restore that fails is followed by a restart,
// as its error message asks when the volume could not be reopened.
#include "engine/store_layout.h"
#include "simulation_impl.h"

namespace bp::sim {

Status Simulation::Control(const std::string& what, const std::function<Status()>& op) {
  control_what_ = what;
  control_start_ev_ = ++event_;
  control_start_ = clock_.Now();
  trace_.Line("%.3f control %s", clock_.Ms(), what.c_str());
  crash_.control = what;
  clock_.SetWaiter([this](Clock::TimePoint until) { PumpWhileWaiting(until); });
  const Status s = op();
  clock_.SetWaiter(nullptr);
  crash_.control.clear();
  trace_.Line("%.3f control %s -> %s", clock_.Ms(), what.c_str(), s.ToString().c_str());
  return s;
}

void Simulation::PumpWhileWaiting(Clock::TimePoint until) {
  // After a crash the host is dead: nothing runs any more, the operation's waits just time out
  // and it returns (its store calls fail), and then the driver tears the world down.
  if (crash_.crashed || !result_.ok || !executor_) return clock_.AdvanceTo(until);
  if (++steps_ > kMaxSteps) {
    Fail("the run took more than " + std::to_string(kMaxSteps) + " steps");
    return clock_.AdvanceTo(until);
  }
  if (crash_.enabled && crash_.budget > 0 && crash_rng_.Chance(crash_.per_step)) {
    faults_->CrashNow("between steps, during " + control_what_);
    return;
  }
  if (clock_.Now() >= next_tick_) {
    next_tick_ = clock_.Now() + tick_period_;
    manager_->Tick(clock_.Now());
    return;
  }
  if (!executor_->Empty() && executor_->NextReady() <= clock_.Now()) {
    ++tasks_;
    executor_->RunOne();
    return;
  }
  Clock::TimePoint next = std::min(next_tick_, until);
  if (!executor_->Empty()) next = std::min(next, executor_->NextReady());
  clock_.AdvanceTo(next);
}

bool Simulation::AfterControl(const Status& s, const std::string& what, const SimVol* v) {
  if (crash_.crashed) {
    ++result_.crashes;
    ++result_.control_crashes;
    Teardown();
    return false;
  }
  if (!result_.ok) return false;
  // The run asks only for what exists (a snapshot whose create returned Ok, a served volume),
  // and every conditional put's lost reply is resolved below the engine: a refusal, or an
  // object missing or damaged, is never a fault's doing.
  if (s.IsNotFound() || s.IsCorrupt() || s.IsPrecondition()) {
    Fail(what + " failed: " + s.ToString());
    return false;
  }
  if (!s.ok() && !Explained(control_start_ev_, control_start_, v)) {
    Fail(what + " failed: " + s.ToString() +
         ", and no store error reached the engine while it ran or since the volume last "
         "proved healthy");
    return false;
  }
  return AfterAction();
}

void Simulation::RunControl() {
  const std::vector<SimVol*> vols = LiveVolumes();
  if (vols.empty()) return;
  std::vector<SimSnap*> snaps;  // readable now: of a served volume
  for (SimSnap* s : LiveSnapshots()) {
    if (s->vol->ref) snaps.push_back(s);
  }
  size_t snapshots_kept = 0, volumes_kept = 0;
  for (const auto& s : snaps_) snapshots_kept += s->state != Existence::kGone;
  for (const auto& v : vols_) volumes_kept += v->state != Existence::kGone;
  // Clones and the snapshots they came from get picked more often for deletion: deleting what
  // a clone shares is the case the pin rule is for.
  auto pick_snapshot = [&](bool prefer_cloned) {
    std::vector<SimSnap*> cloned;
    for (SimSnap* s : snaps) {
      for (const auto& v : vols_) {
        if (v->from == s && v->state != Existence::kGone) {
          cloned.push_back(s);
          break;
        }
      }
    }
    if (prefer_cloned && !cloned.empty() && snap_rng_.Chance(0.6)) {
      return cloned[snap_rng_.Below(cloned.size())];
    }
    return snaps[snap_rng_.Below(snaps.size())];
  };
  enum Kind { kCreate, kDeleteSnapshot, kRestore, kClone, kDeleteVolume };
  std::vector<std::pair<Kind, uint64_t>> choices;  // kind, weight
  if (snapshots_kept < 6) choices.emplace_back(kCreate, 30);
  if (!snaps.empty()) {
    choices.emplace_back(kDeleteSnapshot, 12);
    choices.emplace_back(kRestore, 15);
    if (volumes_kept < 3) choices.emplace_back(kClone, 18);
  }
  if (vols.size() >= 2) choices.emplace_back(kDeleteVolume, 12);
  if (choices.empty()) return;
  uint64_t total = 0;
  for (const auto& c : choices) total += c.second;
  uint64_t draw = snap_rng_.Below(total);
  Kind kind = choices.back().first;
  for (const auto& c : choices) {
    if (draw < c.second) {
      kind = c.first;
      break;
    }
    draw -= c.second;
  }
  switch (kind) {
    case kCreate: return CreateSnapshot(vols[snap_rng_.Below(vols.size())]);
    case kDeleteSnapshot: return DeleteSnapshot(pick_snapshot(true));
    case kRestore: return Restore(pick_snapshot(false));
    case kClone: return Clone(pick_snapshot(false));
    case kDeleteVolume: {
      std::vector<SimVol*> bases;
      for (SimVol* v : vols) {
        for (const auto& c : vols_) {
          if (c->base == v && c->state != Existence::kGone) {
            bases.push_back(v);
            break;
          }
        }
      }
      if (!bases.empty() && snap_rng_.Chance(0.6)) {
        return DeleteVolume(bases[snap_rng_.Below(bases.size())]);
      }
      return DeleteVolume(vols[snap_rng_.Below(vols.size())]);
    }
  }
}

void Simulation::CreateSnapshot(SimVol* v) {
  auto owned = std::make_unique<SimSnap>();
  SimSnap* s = owned.get();
  s->vol = v;
  s->name = "s" + std::to_string(++snapshots_named_);
  {
    // What it must hold: the volume's content now (no modification is in flight).
    std::vector<uint64_t> first;
    std::vector<std::pair<uint64_t, std::vector<uint64_t>>> more;
    v->model->Current(&first, &more);
    s->image = SnapshotImage(std::move(first), std::move(more));
  }
  snaps_.push_back(std::move(owned));
  const std::string what = "snapshot create " + s->export_name();
  SnapshotSummary summary;
  const Status st =
      Control(what, [&] { return manager_->CreateSnapshot(v->name, s->name, &summary); });
  ++result_.snapshot_creates;
  if (crash_.crashed || !st.ok()) {
    s->state = Existence::kMaybe;
    s->doubt = crash_.crashed ? "its create crashed" : "its create failed";
  }
  if (!AfterControl(st, what, v) || !st.ok()) return;
  // The flush it implies made every write completed before it durable, as a FLUSH would.
  v->model->DurableBefore(control_start_ev_, "the flush of " + what + " covered it");
  bool unavailable = false;
  OpenView(s, &unavailable);  // clients read it from now on
}

void Simulation::DeleteSnapshot(SimSnap* s) {
  s->ref.reset();  // a connected export refuses the deletion
  const std::string what = "snapshot delete " + s->export_name();
  const Status st = Control(what, [&] { return manager_->DeleteSnapshot(s->vol->name, s->name); });
  ++result_.snapshot_deletes;
  if (crash_.crashed || !st.ok()) {
    s->state = Existence::kMaybe;
    s->doubt = crash_.crashed ? "its delete crashed" : "its delete failed";
  } else {
    s->state = Existence::kGone;
  }
  AfterControl(st, what, s->vol);
}

bool Simulation::SettleImage(SimSnap* s) {
  bool unavailable = false;
  if (!OpenView(s, &unavailable) || unavailable) return false;
  std::vector<uint8_t> image;
  if (!ReadWhole(nullptr, s, &image)) return false;
  const std::string error = s->image.CheckRead(0, sectors_, image.data(),
                                               "snapshot " + s->export_name() + " (read whole)");
  if (!error.empty()) {
    Fail(error);
    return false;
  }
  return s->image.exact();
}

void Simulation::Restore(SimSnap* s) {
  if (!s->image.exact() && !SettleImage(s)) return;
  SimVol* v = s->vol;
  const std::vector<uint64_t> target = s->image.values();
  v->ref.reset();  // the real command refuses while any client is connected
  const std::string what = "restore of " + v->name + " to " + s->export_name();
  const Status st = Control(what, [&] { return manager_->RestoreSnapshot(v->name, s->name); });
  ++result_.restores;
  if (crash_.crashed || !st.ok()) {
    v->restore_alt = target;
    v->restore_from = s->export_name();
  }
  if (!AfterControl(st, what, v)) return;
  if (!st.ok()) return Restart(what + " failed: " + st.ToString());
  // Restored: exactly the snapshot, all of it durable (the restore marker is in the store).
  v->model->Rebase(target);
  const Status opened = manager_->OpenRef(v->name, /*read_only=*/false, &v->ref);
  if (!opened.ok()) {
    Fail("after " + what + " returned Ok, the volume is not served: " + opened.ToString());
    return;
  }
  VerifyVolume(v, "after its restore to " + s->export_name());
}

void Simulation::Clone(SimSnap* s) {
  if (!s->image.exact() && !SettleImage(s)) return;
  auto owned = std::make_unique<SimVol>();
  SimVol* c = owned.get();
  c->name = "c" + std::to_string(++clones_named_);
  c->base = s->vol;
  c->from = s;
  c->model = std::make_unique<Model>(sectors_);
  c->model->Rebase(s->image.values());  // it starts as the snapshot, durably
  vols_.push_back(std::move(owned));
  const std::string what = "clone of " + s->export_name() + " as " + c->name;
  const Status st = Control(what, [&] { return manager_->Clone(s->vol->name, s->name, c->name); });
  ++result_.clones;
  if (crash_.crashed || !st.ok()) {
    c->state = Existence::kMaybe;
    c->doubt = crash_.crashed ? "its clone crashed" : "its clone failed";
  }
  if (!AfterControl(st, what, s->vol) || !st.ok()) return;
  const Status opened = manager_->OpenRef(c->name, /*read_only=*/false, &c->ref);
  if (!opened.ok()) {
    Fail("after " + what + " returned Ok, the clone is not served: " + opened.ToString());
    return;
  }
  VerifyVolume(c, "after its creation");
}

void Simulation::DeleteVolume(SimVol* v) {
  v->ref.reset();  // deletion is refused while a client or a snapshot export is connected
  for (auto& s : snaps_) {
    if (s->vol == v) s->ref.reset();
  }
  const std::string what = "volume delete " + v->name;
  const Status st = Control(what, [&] { return manager_->Delete(v->name); });
  ++result_.volume_deletes;
  bool served = false;
  if (crash_.crashed) {
    v->state = Existence::kMaybe;
    v->doubt = "its delete crashed";
  } else if (st.ok()) {
    v->state = Existence::kGone;
    for (auto& s : snaps_) {
      if (s->vol == v) s->state = Existence::kGone;
    }
  } else if (manager_->Exists(v->name)) {
    served = true;  // refused before anything was deleted
  } else {
    v->state = Existence::kMaybe;
    v->doubt = "its delete failed";
  }
  if (!AfterControl(st, what, v) || !served) return;
  const Status opened = manager_->OpenRef(v->name, /*read_only=*/false, &v->ref);
  if (!opened.ok())
    Fail("volume " + v->name + " is served but cannot be opened: " + opened.ToString());
}

}  // namespace bp::sim
