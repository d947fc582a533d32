// The simulation driver (see simulation.h and simulation_impl.h): builds each incarnation of the
// host — a VolumeManager over the surviving store — runs the workload and the scheduler one
// step at a time, crashes and reopens, and checks every completion, every recovery, every
// snapshot and the absence of fencing and unexplained errors. The control operations live in
// sim_control.cpp.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/store_layout.h"
#include "simulation_impl.h"

namespace bp::sim {
namespace {

// A request in flight is abandoned as stuck after this long in virtual time (far beyond every
// retry deadline and backoff of the engine).
constexpr auto kStuckAfter = std::chrono::minutes(10);

const char* OpName(uint32_t op) {
  switch (op) {
    case BP_IO_OP_READ: return "READ";
    case BP_IO_OP_WRITE: return "WRITE";
    case BP_IO_OP_FLUSH: return "FLUSH";
    case BP_IO_OP_TRIM: return "TRIM";
    case BP_IO_OP_WRITE_ZEROES: return "ZEROES";
    case BP_IO_OP_CACHE: return "CACHE";
  }
  return "?";
}

// What the engine is told by the store stack, seen from above RetryingStore: every error that
// reaches the engine (after retries) is noted, so an error a request completes with can be
// checked against the faults that could explain it. NotFound and Precondition are answers,
// not failures, and explain nothing.
class EngineView final : public ObjectStore {
 public:
  EngineView(std::shared_ptr<ObjectStore> inner,
             std::function<void(const std::string&, const Status&)> on_error)
      : inner_(std::move(inner)), on_error_(std::move(on_error)) {}
  Status Get(const std::string& key, Bytes* out) override {
    return Note("get " + key, inner_->Get(key, out));
  }
  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override {
    return Note("read " + key, inner_->Read(key, offset, length, buf, nread));
  }
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override {
    return Note("put " + key, inner_->Put(key, data, length, if_absent));
  }
  Status PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) override {
    return Note("put " + key, inner_->PutParts(key, parts, if_absent));
  }
  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override {
    return Note("get " + key, inner_->GetTagged(key, out, tag));
  }
  Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                    const std::string& expected_tag, std::string* new_tag) override {
    return Note("put-if-match " + key,
                inner_->PutIfMatch(key, data, length, expected_tag, new_tag));
  }
  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override {
    return Note("put " + key, inner_->PutPartsDeferSync(key, parts, if_absent));
  }
  Status Sync(const std::vector<std::string>& keys) override {
    return Note("sync " + (keys.empty() ? std::string() : keys.front()), inner_->Sync(keys));
  }
  Status Delete(const std::string& key) override {
    return Note("delete " + key, inner_->Delete(key));
  }
  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override {
    return Note("list " + prefix, inner_->List(prefix, out));
  }
  uint64_t Capabilities() const override { return inner_->Capabilities(); }
  bool TakesParts() const override { return inner_->TakesParts(); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  Status Note(const std::string& what, Status s) {
    if (!s.ok() && !s.IsNotFound() && !s.IsPrecondition()) on_error_(what, s);
    return s;
  }
  std::shared_ptr<ObjectStore> inner_;
  std::function<void(const std::string&, const Status&)> on_error_;
};

}  // namespace

// A fingerprint of data read back, for the trace: four independent lanes of eight bytes per
// step, folded at the end (byte-wise FNV over every verification read was a quarter of a run's
// time, and one lane of words still a third once snapshots were read back too).
uint64_t Fnv(const uint8_t* p, size_t n) {
  constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t lane[4] = {0xcbf29ce484222325ull ^ n, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull,
                      0xbf58476d1ce4e5b9ull};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      lane[k] = (lane[k] ^ w) * kPrime;
      lane[k] ^= lane[k] >> 29;
    }
  }
  uint64_t h = lane[0];
  for (int k = 1; k < 4; ++k) h = (h ^ lane[k]) * kPrime;
  for (; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

Simulation::Simulation(const SimConfig& config)
    : cfg_(config),
      master_(config.seed),
      work_rng_(master_.Fork(1)),
      sched_rng_(master_.Fork(2)),
      fault_rng_(master_.Fork(3)),
      crash_rng_(master_.Fork(4)) {
  trace_.Keep(config.keep_trace);
}

void Simulation::DrawParameters() {
  Rng r = master_.Fork(5);
  const uint64_t size = (1ull << 20) + r.Below(5) * (256ull << 10);
  sectors_ = size / kSector;
  options_.unit_size = 4096u << r.Below(5);
  options_.segment_size = std::max<uint64_t>(options_.unit_size, (16ull << 10) * r.Range(1, 16));
  options_.write_buffer_limit = options_.segment_size * r.Range(2, 6);
  options_.flush_interval_ms = static_cast<uint32_t>(r.Range(20, 2000));
  options_.checkpoint_every_segments = static_cast<uint32_t>(r.Range(1, 6));
  static const uint64_t caches[] = {32u << 10, 256u << 10, 1u << 20, 8u << 20};
  options_.cache_memory = caches[r.Below(4)];
  options_.retry_deadline_ms = 10000;
  options_.io_threads = 1;
  options_.uploads_in_flight = static_cast<uint32_t>(r.Range(1, 6));
  options_.writer_id = "5151515151515151515151515151515a";
  {
    // Garbage collection from its own stream, so the draws above stay what they were per seed:
    // eager thresholds and short intervals make it run (and crash) often in a short run.
    Rng g = master_.Fork(6);
    options_.gc_enabled = g.Below(4) != 0;
    options_.gc_min_dead_ratio = 0.05 + 0.05 * static_cast<double>(g.Below(10));
    options_.gc_interval_ms = static_cast<uint32_t>(g.Range(20, 2000));
    options_.gc_rate = (64ull << 10) << g.Below(8);
    gc_request_chance_ = g.Below(2) == 0 ? 0.0 : 0.05;
  }
  {
    // Control operations from a stream of their own too (fork 7): on in three seeds of four,
    // 2-10 of them expected per run, and 5-30% of client requests read snapshot exports.
    Rng c = master_.Fork(7);
    controls_on_ = c.Below(4) != 0;
    const uint64_t expected = c.Range(2, 10);
    view_share_ = 0.05 * static_cast<double>(c.Range(1, 6));
    snap_rng_ = c.Fork(1);
    id_rng_ = c.Fork(2);
    control_chance_ = static_cast<double>(expected);  // divided by the request count below
  }
  options_.sabotage = EngineSabotage(cfg_.sabotage);
  tick_period_ =
      std::chrono::milliseconds(std::clamp<uint32_t>(options_.flush_interval_ms / 4, 5, 100));

  clients_.resize(r.Range(1, 4));
  for (Client& c : clients_) c.depth = static_cast<int>(r.Range(1, 4));
  ops_total_ = cfg_.ops != 0 ? cfg_.ops : r.Range(150, 400);
  control_chance_ /= static_cast<double>(ops_total_);

  fault_config_.kinds = cfg_.faults;
  fault_config_.mutations = cfg_.mutations;
  fault_config_.trace_sizes = cfg_.codec != "encrypt";
  fault_config_.outages = &outages_;
  fault_config_.p_transient = 0.01 * static_cast<double>(r.Range(1, 8));
  fault_config_.p_lost_reply = 0.02 * static_cast<double>(r.Range(1, 10));
  fault_config_.p_slow = 0.01 * static_cast<double>(r.Range(1, 5));
  fault_config_.p_outage = 0.0005 * static_cast<double>(r.Range(0, 4));
  crash_.enabled = (cfg_.faults & kFaultCrash) != 0;
  crash_.budget = static_cast<int>(r.Range(1, 4));
  crash_.per_op = 0.0005 * static_cast<double>(r.Range(1, 8));
  crash_.per_step = 0.0002 * static_cast<double>(r.Range(1, 8));

  auto first = std::make_unique<SimVol>();
  first->name = kVolumeName;
  first->model = std::make_unique<Model>(sectors_);
  vols_.push_back(std::move(first));
  for (auto& byte : meta_.uuid) byte = static_cast<uint8_t>(r.Next());
  meta_.name = kVolumeName;
  meta_.size = size;
  meta_.unit_size = options_.unit_size;
  meta_.created_unix_ms = clock_.UnixMs();
  if (cfg_.journal) {
    // Drawn last, so a seed's other parameters are the same with and without the journal. A
    // bound of one to four segments makes flushes wait for uploads (backpressure) often.
    options_.durability = EngineOptions::Durability::kLocal;
    options_.journal_max_size =
        r.Below(2) == 0 ? (1ull << 30) : options_.segment_size * r.Range(1, 4);
    journal_ = std::make_unique<SimJournal>(options_.journal_max_size);
  }
  codecs_ = std::make_unique<SimCodecFactory>(cfg_.codec);
  if (cfg_.defer_sync) {
    // Forked last too (fork 8), so the other draws of a seed stay the same with and without it.
    memory_->SetDeferSync(true);
    power_rng_ = master_.Fork(8);
  }

  trace_.Line("seed %llu faults %s codec %s mutations %s sabotage %s",
              static_cast<unsigned long long>(cfg_.seed), FaultsName(cfg_.faults).c_str(),
              cfg_.codec.c_str(), MutationsName(cfg_.mutations).c_str(),
              SabotageName(cfg_.sabotage).c_str());
  trace_.Line(
      "size %llu unit %u segment %llu buffer %llu flush %u ms ckpt %u cache %llu "
      "uploads %u clients %zu ops %llu",
      static_cast<unsigned long long>(size), options_.unit_size,
      static_cast<unsigned long long>(options_.segment_size),
      static_cast<unsigned long long>(options_.write_buffer_limit), options_.flush_interval_ms,
      options_.checkpoint_every_segments, static_cast<unsigned long long>(options_.cache_memory),
      options_.uploads_in_flight, clients_.size(), static_cast<unsigned long long>(ops_total_));
  if (controls_on_) {
    trace_.Line("control operations: %.4f per request, %.2f of requests read snapshots",
                control_chance_, view_share_);
  }
  if (cfg_.journal) {
    trace_.Line("durability local, journal bound %llu",
                static_cast<unsigned long long>(options_.journal_max_size));
  }
}

void Simulation::Fail(const std::string& what) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.failure = what;
  trace_.Line("FAILURE %s", what.c_str());
}

std::vector<SimVol*> Simulation::LiveVolumes() const {
  std::vector<SimVol*> out;
  for (const auto& v : vols_) {
    if (v->state == Existence::kLive && v->ref) out.push_back(v.get());
  }
  return out;
}

std::vector<SimSnap*> Simulation::LiveSnapshots() const {
  std::vector<SimSnap*> out;
  for (const auto& s : snaps_) {
    if (s->state == Existence::kLive && s->vol->state == Existence::kLive) out.push_back(s.get());
  }
  return out;
}

void Simulation::Teardown() {
  // A killed process: queued work never runs, volumes and snapshot exports are dropped without
  // closing, and the requests the host still held are forgotten (their completions were
  // already being ignored).
  // With deferred durability, half of the crashes take the machine down with the process:
  // every object put without a sync since survives, is gone, or is torn, each by a draw.
  if (crash_.crashed && cfg_.defer_sync && power_rng_.Chance(0.5)) {
    const std::vector<std::string> unsynced = memory_->UnsyncedKeys();
    const size_t hit = memory_->LosePower(
        [this](const std::string&) { return static_cast<int>(power_rng_.Below(3)); });
    trace_.Line("%.3f POWER LOSS: %zu unsynced object(s), %zu lost or torn", clock_.Ms(),
                unsynced.size(), hit);
  }
  if (executor_) executor_->Abandon();
  if (retrying_) retrying_->Abort();
  for (auto& v : vols_) v->ref.reset();
  for (auto& s : snaps_) s->ref.reset();
  if (manager_) manager_->Kill();
  manager_.reset();
  if (journal_) journal_->Crash();
  retrying_.reset();
  faults_.reset();
  executor_.reset();
  live_.clear();
  for (Client& c : clients_) c.inflight = 0;
  control_pending_ = false;
}

void Simulation::Restart(const std::string& why) {
  trace_.Line("%.3f RESTART %s", clock_.Ms(), why.c_str());
  if (++restarts_ > 50) {
    Fail("more than 50 restarts (the last: " + why + ")");
    return;
  }
  if (faults_) faults_->CrashNow("restart: " + why);
  crash_.budget++;  // a restart spends no crash of the run's budget
  Teardown();
}

bool Simulation::OpenIncarnation() {
  ++incarnation_;
  ++result_.opens;
  crash_.crashed = false;
  executor_ = std::make_unique<SimExecutor>(&clock_, sched_rng_.Fork(incarnation_),
                                            (cfg_.faults & kFaultSlow) != 0,
                                            (cfg_.faults & kFaultSlow) != 0, &trace_);
  faults_ = std::make_shared<FaultStore>(memory_, fault_config_, fault_rng_.Fork(incarnation_),
                                         &clock_, executor_.get(), &crash_, &trace_);
  RetryPolicy policy;
  policy.deadline = std::chrono::milliseconds(options_.retry_deadline_ms);
  policy.clock = &clock_;
  policy.jitter_seed = Mix(cfg_.seed, static_cast<uint64_t>(incarnation_)) | 1;
  policy.resolve_lost_replies = (options_.sabotage & bp::Sabotage::kNoLostReplyResolution) == 0;
  retrying_ = std::make_shared<RetryingStore>(faults_, policy);
  auto view = std::make_shared<EngineView>(retrying_, [this](const std::string& what,
                                                             const Status& s) {
    if (crash_.crashed) return;
    engine_error_seen_ = true;
    engine_error_event_ = event_;
    last_engine_error_ = what + ": " + s.ToString();
    trace_.Line("%.3f engine sees error: %s: %s", clock_.Ms(), what.c_str(), s.ToString().c_str());
  });
  VolumeManager::Environment env;
  env.clock = &clock_;
  env.executor = executor_.get();
  env.timer_thread = false;
  env.random = [this] { return id_rng_.Next(); };
  if (journal_) {
    const Status opened = journal_->Open();
    if (!opened.ok()) {
      Fail("cannot open the simulated local journal: " + opened.ToString());
      return false;
    }
    env.journal = journal_->get();
  }
  manager_ = std::make_unique<VolumeManager>(view, codecs_.get(), options_, std::move(env));

  const uint64_t open_event = ++event_;
  crash_.opening = true;
  Status s = manager_->OpenAll();
  crash_.opening = false;
  trace_.Line("%.3f open #%d -> %s", clock_.Ms(), incarnation_, s.ToString().c_str());
  if (crash_.crashed) {
    ++result_.crashes;
    Teardown();
    return false;
  }
  if (!s.ok()) {
    if (engine_error_seen_ && engine_error_event_ >= open_event && !s.IsCorrupt()) {
      // The store failed through the retry deadline (an outage): try again later, as an
      // operator or a supervisor would.
      Teardown();
      clock_.Advance(std::chrono::seconds(5));
      return false;
    }
    Fail("opening the volumes failed: " + s.ToString());
    return false;
  }
  if (!SettleExistence()) return false;
  next_tick_ = clock_.Now() + tick_period_;
  return VerifyAll();
}

bool Simulation::OverlapsModification(const SimVol* v, uint64_t first, uint64_t count) const {
  for (const auto& r : live_) {
    if (r->done || r->write_index < 0 || r->vol != v) continue;
    if (first < r->first + r->count && r->first < first + count) return true;
  }
  return false;
}

bool Simulation::NothingInFlight() const {
  return std::none_of(live_.begin(), live_.end(), [](const auto& r) { return !r->done; });
}

bool Simulation::CanIssue() const {
  if (issued_ >= ops_total_) return false;
  if (LiveVolumes().empty()) return false;
  for (const Client& c : clients_) {
    if (c.inflight < c.depth) return true;
  }
  return false;
}

Simulation::Request* Simulation::NewRequest(int client, uint32_t op, uint32_t flags, uint64_t first,
                                            uint64_t count) {
  auto r = std::make_unique<Request>();
  r->sim = this;
  r->incarnation = incarnation_;
  r->id = ++next_request_;
  r->client = client;
  r->op = op;
  r->flags = flags;
  r->first = first;
  r->count = count;
  r->io.op = op;
  r->io.flags = flags;
  r->io.offset = first * kSector;
  r->io.length = count * kSector;
  r->io.user = r.get();
  r->io.done = &Simulation::OnDone;
  live_.push_back(std::move(r));
  return live_.back().get();
}

void Simulation::IssueOne() {
  std::vector<int> ready;
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].inflight < clients_[i].depth) ready.push_back(static_cast<int>(i));
  }
  const int client = ready[work_rng_.Below(ready.size())];
  // Some clients pause between requests: age-based sealing and timers get their turn.
  if (work_rng_.Chance(0.05)) clock_.Advance(std::chrono::milliseconds(work_rng_.Range(1, 400)));

  // Where it goes: with one volume and no open snapshot export, the only volume (no draw, so a
  // seed without control operations draws its workload as before).
  const std::vector<SimVol*> vols = LiveVolumes();
  std::vector<SimSnap*> views;
  for (SimSnap* s : LiveSnapshots()) {
    if (s->ref) views.push_back(s);
  }
  SimVol* vol = vols.empty() ? nullptr : vols.front();
  SimSnap* snap = nullptr;
  if (vols.size() + views.size() > 1) {
    if (!views.empty() && (vols.empty() || snap_rng_.Chance(view_share_))) {
      snap = views[snap_rng_.Below(views.size())];
      vol = nullptr;
    } else {
      vol = vols[snap_rng_.Below(vols.size())];
    }
  }

  uint32_t op = BP_IO_OP_READ, flags = 0;
  const uint64_t pick = work_rng_.Below(100);
  if (pick < 28) {
    op = BP_IO_OP_READ;
  } else if (pick < 62) {
    op = BP_IO_OP_WRITE;
  } else if (pick < 68) {
    op = BP_IO_OP_WRITE;
    flags = BP_IO_FLAG_FUA;
  } else if (pick < 74) {
    op = BP_IO_OP_TRIM;
    if (work_rng_.Chance(0.2)) flags |= BP_IO_FLAG_FUA;
  } else if (pick < 81) {
    op = BP_IO_OP_WRITE_ZEROES;
    if (work_rng_.Chance(0.5)) flags |= BP_IO_FLAG_NO_HOLE;
    if (work_rng_.Chance(0.2)) flags |= BP_IO_FLAG_FUA;
  } else if (pick < 95) {
    op = BP_IO_OP_FLUSH;
  } else {
    op = BP_IO_OP_CACHE;
  }
  uint64_t first = 0, count = 0;
  if (op != BP_IO_OP_FLUSH) {
    const bool modify = op != BP_IO_OP_READ && op != BP_IO_OP_CACHE;
    for (int attempt = 0;; ++attempt) {
      const uint64_t size_class = work_rng_.Below(100);
      count = size_class < 60   ? work_rng_.Range(1, 8)
              : size_class < 85 ? work_rng_.Range(8, 32)
                                : work_rng_.Range(32, 128);
      const bool aligned = work_rng_.Chance(0.5);
      if (aligned) count = std::max<uint64_t>(8, count & ~uint64_t{7});
      // A hot eighth of the volume gets 40% of requests, so writes overlap and rewrite.
      const uint64_t span = work_rng_.Chance(0.4) ? sectors_ / 8 : sectors_;
      first = work_rng_.Below(span - std::min(count, span - 1));
      if (aligned) first &= ~uint64_t{7};
      count = std::min(count, sectors_ - first);
      if (!modify || snap != nullptr || !OverlapsModification(vol, first, count)) break;
      if (attempt == 8) {
        op = BP_IO_OP_READ;  // NBD orders no overlapping writes in flight; the workload avoids them
        flags = 0;
        break;
      }
    }
  }
  if (snap != nullptr && op != BP_IO_OP_CACHE) {
    // A snapshot export is read-only: everything but CACHE becomes a read of the same range.
    op = BP_IO_OP_READ;
    flags = 0;
    if (count == 0) count = std::min<uint64_t>(8, sectors_);
  }
  Request* r = NewRequest(client, op, flags, first, count);
  r->vol = vol;
  r->snap = snap;
  clients_[client].inflight++;
  ++issued_;
  Submit(r);
  if (controls_on_ && !crash_.crashed && snap_rng_.Chance(control_chance_)) {
    control_pending_ = true;
  }
}

void Simulation::Submit(Request* r) {
  r->submit_ev = ++event_;
  r->submitted = clock_.Now();
  Model* model = r->vol != nullptr ? r->vol->model.get() : nullptr;
  if (r->op == BP_IO_OP_READ && r->into == nullptr) {
    r->buf.assign(r->count * kSector, 0xA5);
    if (model != nullptr) r->floor = model->ReadFloor(r->first, r->count);
  } else if (r->op == BP_IO_OP_WRITE) {
    r->buf.resize(r->count * kSector);
  }
  const std::string& target = r->vol != nullptr ? r->vol->name : r->snap->export_name();
  if (r->op == BP_IO_OP_WRITE || r->op == BP_IO_OP_TRIM || r->op == BP_IO_OP_WRITE_ZEROES) {
    const uint64_t id = ++next_write_;
    if (r->op == BP_IO_OP_WRITE) {
      for (uint64_t i = 0; i < r->count; ++i)
        FillSector(id, r->first + i, r->buf.data() + i * kSector);
    }
    r->write_index = static_cast<int32_t>(
        model->Submit(id, r->first, r->count, r->op != BP_IO_OP_WRITE, r->submit_ev));
    trace_.Line("%.3f submit #%llu c%d %s %s%s%s w%llu sectors %llu+%llu", clock_.Ms(),
                static_cast<unsigned long long>(r->id), r->client, target.c_str(), OpName(r->op),
                (r->flags & BP_IO_FLAG_FUA) ? " FUA" : "",
                (r->flags & BP_IO_FLAG_NO_HOLE) ? " NO_HOLE" : "",
                static_cast<unsigned long long>(id), static_cast<unsigned long long>(r->first),
                static_cast<unsigned long long>(r->count));
  } else {
    trace_.Line("%.3f submit #%llu c%d %s %s sectors %llu+%llu", clock_.Ms(),
                static_cast<unsigned long long>(r->id), r->client, target.c_str(), OpName(r->op),
                static_cast<unsigned long long>(r->first),
                static_cast<unsigned long long>(r->count));
  }
  r->io.buf = r->into != nullptr ? r->into->data() + r->first * kSector
              : r->buf.empty()   ? nullptr
                                 : r->buf.data();
  ++result_.requests;
  if (r->snap != nullptr && r->client >= 0) ++result_.view_reads;
  VolumeRef* ref = r->vol != nullptr ? r->vol->ref.get() : r->snap->ref.get();
  ref->Submit(&r->io);
}

void Simulation::OnDone(bp_io* io, int error) {
  auto* r = static_cast<Request*>(io->user);
  r->sim->Completed(r, error);
}

void Simulation::Completed(Request* r, int error) {
  if (r->done) {
    Fail("request #" + std::to_string(r->id) + " (" + OpName(r->op) + ") completed twice");
    return;
  }
  r->done = true;
  r->error = error;
  // After a crash nothing the dying engine reports reaches anyone.
  if (r->incarnation != incarnation_ || crash_.crashed) return;
  const uint64_t ev = ++event_;
  if (r->client >= 0) clients_[static_cast<size_t>(r->client)].inflight--;
  // A whole read (verification) is fingerprinted once it is complete, not chunk by chunk.
  uint64_t hash = 0;
  if (r->op == BP_IO_OP_READ && error == 0 && r->into == nullptr) {
    hash = Fnv(r->buf.data(), r->buf.size());
  }
  trace_.Line("%.3f done #%llu %s err %d hash %016llx", clock_.Ms(),
              static_cast<unsigned long long>(r->id), OpName(r->op), error,
              static_cast<unsigned long long>(hash));
  const bool modify = r->write_index >= 0;
  Model* model = r->vol != nullptr ? r->vol->model.get() : nullptr;
  if (error != 0) {
    const std::string target = r->vol != nullptr ? r->vol->name : r->snap->export_name();
    const std::string what = std::string(OpName(r->op)) + " #" + std::to_string(r->id) + " of " +
                             target + " (sectors " + std::to_string(r->first) + "+" +
                             std::to_string(r->count) + ") failed with " + std::strerror(error);
    if (error == EROFS) {
      Fail(what + ": the volume made itself read-only, but it has the only writer");
    } else if (!ErrorExplained(r) && unexplained_.empty()) {
      // Judged after the step (AfterAction): a volume that fenced itself is the better report.
      unexplained_ = what +
                     ", and no store error reached the engine while it was in flight or "
                     "since the volume last proved healthy";
    }
    if (modify) model->Completed(static_cast<uint32_t>(r->write_index), false, false, ev);
    return;
  }
  switch (r->op) {
    case BP_IO_OP_READ: {
      std::string e;
      if (r->into != nullptr) {
        // Checked whole by the caller once every chunk is in.
      } else if (r->snap != nullptr) {
        e = r->snap->image.CheckRead(
            r->first, r->count, r->buf.data(),
            "read #" + std::to_string(r->id) + " of snapshot " + r->snap->export_name());
      } else {
        e = model->CheckRead(r->first, r->count, r->floor, r->buf.data(), r->id);
        if (!e.empty()) e = "volume " + r->vol->name + ": " + e;
      }
      if (!e.empty()) Fail(e);
      break;
    }
    case BP_IO_OP_FLUSH:
      if (model != nullptr) {
        model->Flushed(r->submit_ev, r->id);
        NoteHealthy(r->vol, r, ev);
      }
      break;
    default:
      if (r->flags & BP_IO_FLAG_FUA) NoteHealthy(r->vol, r, ev);
      if (modify) {
        model->Completed(static_cast<uint32_t>(r->write_index), true,
                         (r->flags & BP_IO_FLAG_FUA) != 0, ev);
      }
      break;
  }
}

bool Simulation::Explained(uint64_t since, Clock::TimePoint start, const SimVol* v) const {
  // An error must come from store errors the engine was told of: since it began, or before
  // it when the volume had not yet shown it recovered (a segment whose upload failed stays
  // failed until a retry, and writes waiting for its buffer space time out). Or from an outage
  // meanwhile: the single-threaded executor runs a task that retries through an outage to its
  // end before any other, so work a real pool would do meanwhile (an upload that frees buffer
  // space) waits, and requests can time out that would not have with threads.
  for (const auto& [from, to] : outages_) {
    if (from <= clock_.Now() && to >= start) return true;
  }
  if (!engine_error_seen_) return false;
  if (engine_error_event_ >= since) return true;
  const uint64_t healthy = v != nullptr ? v->healthy_event : 0;
  return !(healthy > engine_error_event_ && healthy < since);
}

bool Simulation::ErrorExplained(const Request* r) const {
  return Explained(r->submit_ev, r->submitted, r->vol);
}

void Simulation::NoteHealthy(SimVol* v, const Request* r, uint64_t event) {
  // A FLUSH or FUA submitted after the last store error and answered OK proves every upload of
  // its volume before it went through.
  if (v == nullptr) return;
  if (r->submit_ev > engine_error_event_ && v->healthy_event <= engine_error_event_) {
    v->healthy_event = event;
  }
}

bool Simulation::AfterAction() {
  if (crash_.crashed) {
    ++result_.crashes;
    Teardown();
    return false;
  }
  for (const auto& v : vols_) {
    if (!v->ref) continue;
    bp_volume_info info{};
    info.struct_size = sizeof info;
    v->ref->Info(&info);
    if (info.flags & BP_VOLUME_READ_ONLY) {
      Fail("volume " + v->name + " fenced itself (read-only), but it has the only writer" +
           (engine_error_seen_ ? "; the last store error the engine saw: " + last_engine_error_
                               : std::string()));
    }
  }
  if (!unexplained_.empty()) Fail(unexplained_);
  // Drop finished client requests now and then (the driver's own it still watches).
  if (live_.size() > 64) {
    live_.erase(
        std::remove_if(live_.begin(), live_.end(),
                       [](const std::unique_ptr<Request>& r) { return r->done && r->client >= 0; }),
        live_.end());
  }
  return true;
}

bool Simulation::Step(bool allow_issue) {
  if (++steps_ > kMaxSteps) {
    Fail("the run took more than " + std::to_string(kMaxSteps) + " steps");
    return false;
  }
  if (crash_.enabled && crash_.budget > 0 && crash_rng_.Chance(crash_.per_step)) {
    faults_->CrashNow("between steps (" + std::to_string(executor_->Size()) + " tasks queued)");
    return AfterAction();
  }
  for (const auto& r : live_) {
    if (!r->done && clock_.Now() - r->submitted > kStuckAfter) {
      Fail(std::string(OpName(r->op)) + " #" + std::to_string(r->id) + " has been in flight for " +
           "more than 10 minutes of virtual time (lost completion or hang)");
      return false;
    }
  }
  if (clock_.Now() >= next_tick_) {
    next_tick_ = clock_.Now() + tick_period_;
    manager_->Tick(clock_.Now());
    if (work_rng_.Chance(gc_request_chance_)) {
      std::vector<std::pair<std::string, uint64_t>> passes;
      const Status s = manager_->RunGc("", &passes);
      std::string what = s.ok() ? "" : s.ToString();
      for (const auto& [name, pass] : passes) what += " " + name + ":" + std::to_string(pass);
      trace_.Line("%.3f gc request:%s", clock_.Ms(), what.c_str());
    }
    return AfterAction();
  }
  const bool can_issue = allow_issue && CanIssue();
  const bool ready = !executor_->Empty() && executor_->NextReady() <= clock_.Now();
  if (can_issue && (!ready || work_rng_.Chance(0.3))) {
    IssueOne();
  } else if (ready) {
    ++tasks_;
    executor_->RunOne();
  } else {
    Clock::TimePoint next = next_tick_;
    if (!executor_->Empty()) next = std::min(next, executor_->NextReady());
    clock_.AdvanceTo(next);
  }
  return AfterAction();
}

SimResult Simulation::Run() {
  DrawParameters();
  {
    std::unique_ptr<CodecChain> chain;
    Status s = ChainMaker::Create(cfg_.codec, meta_.uuid.data(), &meta_.codecs, &chain);
    if (!s.ok()) {
      Fail("cannot create the codec chain: " + s.ToString());
      return result_;
    }
  }
  memory_->Poke(MetaKey(kVolumeName), EncodeVolumeMetaObject(meta_));

  bool finishing = false;
  while (result_.ok) {
    if (!manager_) {
      if (!OpenIncarnation()) continue;
      if (finishing) break;
    }
    const bool idle = NothingInFlight();
    if (control_pending_ && idle) {
      control_pending_ = false;
      RunControl();
      continue;
    }
    if (!control_pending_ && idle && issued_ < ops_total_ && LiveVolumes().empty()) {
      Restart("no volume is served");  // settles the volumes a failed operation left in doubt
      continue;
    }
    if (!control_pending_ && issued_ >= ops_total_ && idle) {
      // The end: a last FLUSH of every volume, then a restart that must bring back everything.
      std::vector<Request*> flushes;
      for (SimVol* v : LiveVolumes()) {
        Request* r = NewRequest(-1, BP_IO_OP_FLUSH, 0, 0, 0);
        r->vol = v;
        flushes.push_back(r);
        Submit(r);
        if (crash_.crashed) break;
      }
      auto pending = [&] {
        return std::any_of(flushes.begin(), flushes.end(), [](Request* r) { return !r->done; });
      };
      if (crash_.crashed) {
        AfterAction();
        continue;
      }
      while (result_.ok && manager_ && pending()) Step(false);
      if (!manager_) continue;  // crashed meanwhile: reopen and finish again
      crash_.enabled = false;
      faults_->CrashNow("final restart");
      ++result_.crashes;
      Teardown();
      finishing = true;
      continue;
    }
    Step(/*allow_issue=*/!control_pending_);
  }
  Teardown();
  result_.trace_hash = trace_.hash();
  result_.trace_lines = trace_.lines();
  result_.trace = trace_.text();
  result_.tasks = tasks_;
  result_.virtual_seconds = clock_.Ms() / 1000.0;
  return result_;
}

SimResult RunSimulation(const SimConfig& config) {
  Simulation sim(config);
  return sim.Run();
}

}  // namespace bp::sim
