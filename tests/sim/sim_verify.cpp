// What the simulator reads back and checks beyond single requests (see simulation_impl.h):
// after every reopen, which volumes and snapshots exist (SettleExistence), each volume read
// whole against its model (or, after a restore in doubt, against the snapshot), `snapshot list`
// of each volume, and each snapshot read whole through its export against its image; the same
// read-backs run after a restore or a clone that returned Ok.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>

#include "engine/store_layout.h"
#include "simulation_impl.h"

namespace bp::sim {
namespace {

// The value ids (0 zeros, else the write id) of a whole image, or false at the first sector
// that is no write's data.
bool ImageValues(const std::vector<uint8_t>& image, std::vector<uint64_t>* out) {
  out->resize(image.size() / kSector);
  for (uint64_t s = 0; s < out->size(); ++s) {
    const SectorValue v = DecodeSector(image.data() + s * kSector, s);
    if (v.kind == SectorValue::kGarbage) return false;
    (*out)[s] = v.kind == SectorValue::kData ? v.id : 0;
  }
  return true;
}

}  // namespace

bool Simulation::SettleExistence() {
  // The store is the judge of what exists (its metadata object makes a volume, its record a
  // snapshot); the engine must then serve exactly those volumes.
  std::vector<std::string> names;
  if (!ListVolumeNames(*memory_, &names).ok()) {
    Fail("cannot list the simulated store");
    return false;
  }
  for (auto& v : vols_) {
    if (v->state == Existence::kGone) continue;
    const bool present = std::find(names.begin(), names.end(), v->name) != names.end();
    if (v->state == Existence::kLive && !present) {
      Fail("volume " + v->name + " is gone after reopen #" + std::to_string(incarnation_) +
           ", but nothing deleted it");
      return false;
    }
    if (v->state == Existence::kMaybe) {
      trace_.Line("volume %s (%s): %s", v->name.c_str(), v->doubt.c_str(),
                  present ? "exists" : "does not exist");
      v->state = present ? Existence::kLive : Existence::kGone;
    }
    if (v->state == Existence::kGone) continue;
    if (!manager_->Exists(v->name)) {
      Fail("volume " + v->name + " is in the store but the host does not serve it");
      return false;
    }
    const Status opened = manager_->OpenRef(v->name, /*read_only=*/false, &v->ref);
    if (!opened.ok()) {
      Fail("opening a reference to volume " + v->name + ": " + opened.ToString());
      return false;
    }
  }
  for (const std::string& name : names) {
    const bool known = std::any_of(vols_.begin(), vols_.end(), [&](const auto& v) {
      return v->name == name && v->state == Existence::kLive;
    });
    if (!known) {
      Fail("the store holds volume " + name + ", which the run never created or deleted");
      return false;
    }
  }
  for (auto& s : snaps_) {
    if (s->vol->state == Existence::kGone) {
      s->state = Existence::kGone;  // deleted with its volume
      continue;
    }
    const bool present = memory_->Has(SnapshotKey(s->vol->name, s->name));
    if (s->state == Existence::kGone && present) {
      Fail("snapshot " + s->export_name() + " is back after reopen #" +
           std::to_string(incarnation_) + ", though its delete returned Ok");
      return false;
    }
    if (s->state == Existence::kLive && !present) {
      Fail("snapshot " + s->export_name() + " is gone after reopen #" +
           std::to_string(incarnation_) + ", though its create returned Ok");
      return false;
    }
    if (s->state == Existence::kMaybe) {
      trace_.Line("snapshot %s (%s): %s", s->export_name().c_str(), s->doubt.c_str(),
                  present ? "exists" : "does not exist");
      s->state = present ? Existence::kLive : Existence::kGone;
    }
  }
  return true;
}

bool Simulation::VerifyAll() {
  for (size_t i = 0; i < vols_.size(); ++i) {
    SimVol* v = vols_[i].get();
    if (v->state != Existence::kLive) continue;
    if (!VerifyVolume(v, "after reopen #" + std::to_string(incarnation_))) return false;
    if (controls_on_ && !ListSnapshots(v)) return false;
  }
  for (size_t i = 0; i < snaps_.size(); ++i) {
    SimSnap* s = snaps_[i].get();
    if (s->state != Existence::kLive) continue;
    if (!VerifySnapshot(s, "after reopen #" + std::to_string(incarnation_))) return false;
  }
  return true;
}

bool Simulation::ListSnapshots(SimVol* v) {
  // `snapshot list` names exactly the snapshots that exist, and rebuilds each one's map (for
  // its exclusive size) without finding anything missing.
  const uint64_t start_ev = ++event_;
  const Clock::TimePoint start = clock_.Now();
  std::vector<SnapshotSummary> list;
  const Status st = manager_->ListSnapshots(v->name, &list);
  if (crash_.crashed) {
    ++result_.crashes;
    Teardown();
    return false;
  }
  std::vector<std::string> listed;
  for (const SnapshotSummary& s : list) listed.push_back(s.name);
  std::sort(listed.begin(), listed.end());
  std::string names;
  for (const std::string& name : listed) names += " " + name;
  trace_.Line("%.3f snapshot list %s -> %s:%s", clock_.Ms(), v->name.c_str(), st.ToString().c_str(),
              names.c_str());
  if (!st.ok()) {
    if (st.IsNotFound() || st.IsCorrupt() || !Explained(start_ev, start, v)) {
      Fail("snapshot list " + v->name + " failed: " + st.ToString());
      return false;
    }
    return true;  // an outage: the exports are read next anyway
  }
  std::vector<std::string> existing;
  for (const auto& s : snaps_) {
    if (s->vol == v && s->state == Existence::kLive) existing.push_back(s->name);
  }
  std::sort(existing.begin(), existing.end());
  std::string expected;
  for (const std::string& name : existing) expected += " " + name;
  if (names != expected) {
    Fail("snapshot list " + v->name + " names" + (names.empty() ? " none" : names) +
         ", but the snapshots that exist are" + (expected.empty() ? " none" : expected));
    return false;
  }
  for (const SnapshotSummary& s : list) {
    if (!s.problem.empty()) {
      Fail("snapshot list " + v->name + ": snapshot " + s.name +
           " cannot be rebuilt: " + s.problem);
      return false;
    }
  }
  return true;
}

bool Simulation::VerifyVolume(SimVol* v, const std::string& when) {
  // Read the whole volume back through the engine and check it is a prefix of its history
  // (or, after a restore in doubt, exactly the snapshot it was restored to).
  std::vector<uint8_t> image;
  if (!ReadWhole(v, nullptr, &image)) return false;
  std::vector<uint64_t> values;
  if (!v->restore_alt.empty() && ImageValues(image, &values) && values == v->restore_alt) {
    trace_.Line("%.3f verified %s %s: restored to %s", clock_.Ms(), v->name.c_str(), when.c_str(),
                v->restore_from.c_str());
    v->model->Rebase(values);
    v->restore_alt.clear();
    return true;
  }
  std::string error = v->model->CheckRecovery(image);
  trace_.Line("%.3f verified %s %s: %s hash %016llx", clock_.Ms(), v->name.c_str(), when.c_str(),
              error.empty() ? "ok" : "FAILED",
              static_cast<unsigned long long>(Fnv(image.data(), image.size())));
  if (!error.empty()) {
    if (!v->restore_alt.empty()) {
      error = "after a restore of " + v->name + " to " + v->restore_from +
              " that did not return Ok, the volume is neither exactly the snapshot nor its old "
              "content: " +
              error;
    }
    Fail("volume " + v->name + " " + when + ": " + error);
    return false;
  }
  v->restore_alt.clear();
  return true;
}

bool Simulation::OpenView(SimSnap* s, bool* unavailable) {
  *unavailable = false;
  if (s->ref) return true;
  for (int attempt = 0;; ++attempt) {
    const uint64_t start_ev = ++event_;
    const Clock::TimePoint start = clock_.Now();
    const Status st = manager_->OpenRef(s->export_name(), /*read_only=*/true, &s->ref);
    trace_.Line("%.3f open export %s -> %s", clock_.Ms(), s->export_name().c_str(),
                st.ToString().c_str());
    if (crash_.crashed) {
      ++result_.crashes;
      Teardown();
      return false;
    }
    if (st.ok()) return true;
    // The map of a snapshot is read strictly: a checkpoint or segment it needs that is missing
    // or damaged means something deleted what the snapshot pins.
    if (st.IsNotFound() || st.IsCorrupt() || !Explained(start_ev, start, nullptr)) {
      Fail("snapshot " + s->export_name() + " cannot be opened: " + st.ToString());
      return false;
    }
    if (attempt == 12) {
      *unavailable = true;  // an outage longer than a minute: read it another time
      return true;
    }
    clock_.Advance(std::chrono::seconds(5));
  }
}

bool Simulation::VerifySnapshot(SimSnap* s, const std::string& when) {
  bool unavailable = false;
  if (!OpenView(s, &unavailable)) return false;
  if (unavailable) return true;
  std::vector<uint8_t> image;
  if (!ReadWhole(nullptr, s, &image)) return false;
  const std::string error =
      s->image.CheckRead(0, sectors_, image.data(), "snapshot " + s->export_name() + " " + when);
  trace_.Line("%.3f verified %s %s: %s hash %016llx", clock_.Ms(), s->export_name().c_str(),
              when.c_str(), error.empty() ? "ok" : "FAILED",
              static_cast<unsigned long long>(Fnv(image.data(), image.size())));
  if (!error.empty()) {
    Fail(error);
    return false;
  }
  return true;
}

bool Simulation::ReadWhole(SimVol* v, SimSnap* s, std::vector<uint8_t>* image) {
  // Read straight into the image, poisoned first so that bytes a read did not fill show.
  image->assign(sectors_ * kSector, 0xA5);
  const uint64_t chunk = 128;  // sectors (64 KiB)
  std::deque<uint64_t> todo;
  for (uint64_t first = 0; first < sectors_; first += chunk) todo.push_back(first);
  std::vector<Request*> outstanding;
  std::map<uint64_t, int> failures;  // by first sector
  while (result_.ok) {
    // Keep a few reads in flight; failed ones (explained by store errors, or the check of the
    // completion fails the run) are read again.
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      if (!(*it)->done) {
        ++it;
        continue;
      }
      if ((*it)->error != 0) {
        // Store errors explain a failed read, but not fifty in a row of the same sectors: the
        // data is gone (a segment something deleted), not just out of reach.
        if (++failures[(*it)->first] == 50) {
          Fail(std::string(v != nullptr ? "volume " + v->name : "snapshot " + s->export_name()) +
               " cannot be read back: sectors " + std::to_string((*it)->first) + "+" +
               std::to_string((*it)->count) + " failed 50 times, the last with " +
               std::strerror((*it)->error));
          return false;
        }
        // Poisoned again, so that what the failed attempt left cannot stand in for the retry.
        std::fill_n(image->begin() + static_cast<ptrdiff_t>((*it)->first * kSector),
                    (*it)->count * kSector, uint8_t{0xA5});
        todo.push_back((*it)->first);
      }
      it = outstanding.erase(it);
    }
    while (outstanding.size() < 4 && !todo.empty()) {
      const uint64_t first = todo.front();
      todo.pop_front();
      Request* r = NewRequest(-1, BP_IO_OP_READ, 0, first, std::min(chunk, sectors_ - first));
      r->vol = v;
      r->snap = s;
      r->into = image;
      outstanding.push_back(r);
      Submit(r);
      if (crash_.crashed || !result_.ok) break;
    }
    if (crash_.crashed) {
      ++result_.crashes;
      Teardown();
      return false;
    }
    if (outstanding.empty() && todo.empty()) break;
    if (!Step(/*allow_issue=*/false)) return false;
  }
  return result_.ok;
}

}  // namespace bp::sim
