// The simulation driver (see simulation.h): builds each incarnation of the engine over the
// surviving store, runs the workload and the scheduler one step at a time, crashes and reopens,
// and checks every completion, every recovery and the absence of fencing and unexplained
// errors.
#include "simulation.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "cache/unit_cache.h"
#include "engine/engine_options.h"
#include "engine/volume.h"
#include "engine/volume_meta.h"
#include "fault_store.h"
#include "model.h"
#include "pipeline/retrying_store.h"
#include "sim_journal.h"
#include "sim_volume.h"
#include "sim_world.h"
#include "support/memory_store.h"

namespace bp::sim {
namespace {

// A request in flight is abandoned as stuck after this long in virtual time (far beyond every
// retry deadline and backoff of the engine).
constexpr auto kStuckAfter = std::chrono::minutes(10);
// A run that takes more driver steps than this is reported as running away.
constexpr uint64_t kMaxSteps = 20'000'000;

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

// A fingerprint of data read back, for the trace: eight bytes per step (byte-wise FNV over
// every verification read was a quarter of a run's time).
uint64_t Fnv(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
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

// The engine's deliberate-bug switches (EngineOptions::sabotage, engine_options.h).
void SetSabotage(uint32_t bits, EngineOptions* options) {
  uint32_t s = 0;
  if (bits & kSabAckUploadFailure) s |= bp::Sabotage::kAckUploadFailure;
  if (bits & kSabNoLostReplyResolution) s |= bp::Sabotage::kNoLostReplyResolution;
  if (bits & kSabAckFlushOnNewestDurable) s |= bp::Sabotage::kAckFlushOnNewestDurable;
  if (bits & kSabAckFlushOnSeal) s |= bp::Sabotage::kAckFlushOnSeal;
  if (bits & kSabDropJournalBeforeUpload) s |= bp::Sabotage::kDropJournalBeforeUpload;
  if (bits & kSabGcStaleRelocation) s |= bp::Sabotage::kGcStaleRelocation;
  if (bits & kSabAckFlushBeforeSync) s |= bp::Sabotage::kAckFlushBeforeSync;
  options->sabotage = s;
}

class Simulation {
 public:
  explicit Simulation(const SimConfig& config);
  SimResult Run();

 private:
  struct Request {
    Simulation* sim = nullptr;
    int incarnation = 0;
    uint64_t id = 0;
    int client = -1;  // -1: the driver's own (verification, final flush)
    uint32_t op = 0, flags = 0;
    uint64_t first = 0, count = 0;  // sectors
    Bytes buf;
    bp_io io{};
    uint64_t submit_ev = 0;
    Clock::TimePoint submitted{};
    int32_t write_index = -1;
    std::vector<int32_t> floor;  // reads
    bool verify = false;
    bool done = false;
    int error = 0;
  };

  void DrawParameters();
  bool OpenIncarnation();
  bool Verify();
  void Teardown();
  // One step of the world: maybe crash, tick, issue a request (when allowed), run a task, or
  // move time to the next thing that can happen. False when the host crashed during it.
  bool Step(bool allow_issue);
  bool CanIssue() const;
  void IssueOne();
  Request* NewRequest(int client, uint32_t op, uint32_t flags, uint64_t first, uint64_t count);
  void Submit(Request* r);
  static void OnDone(bp_io* io, int error);
  void Completed(Request* r, int error);
  bool OverlapsModification(uint64_t first, uint64_t count) const;
  void Fail(const std::string& what);
  bool AfterAction();
  bool ErrorExplained(const Request* r) const;
  void NoteHealthy(const Request* r, uint64_t event);

  SimConfig cfg_;
  Rng master_;
  Rng work_rng_, sched_rng_, fault_rng_, crash_rng_;
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

  std::shared_ptr<MemoryStore> memory_ = std::make_shared<MemoryStore>();
  VolumeMeta meta_;
  std::unique_ptr<Model> model_;

  // The current incarnation.
  int incarnation_ = 0;
  std::unique_ptr<SimExecutor> executor_;
  std::shared_ptr<FaultStore> faults_;
  std::shared_ptr<RetryingStore> retrying_;
  std::unique_ptr<UnitCache> cache_;
  std::unique_ptr<SimJournal> journal_;  // --journal: outlives incarnations, as a disk does
  Rng power_rng_{1};  // --defer-sync: which crashes are power losses, and what they do
  std::shared_ptr<Volume> volume_;
  std::vector<std::unique_ptr<Request>> live_;
  Clock::TimePoint next_tick_{};
  std::vector<uint8_t> image_;  // verification read-back

  uint64_t event_ = 0;
  uint64_t engine_error_event_ = 0;  // event at the last error the engine was told of
  bool engine_error_seen_ = false;
  std::string last_engine_error_;
  std::vector<std::pair<Clock::TimePoint, Clock::TimePoint>> outages_;
  std::string unexplained_;     // an error completion no fault explains, reported after the step
  uint64_t healthy_event_ = 0;  // a FLUSH/FUA after the last engine error succeeded here
  uint64_t next_request_ = 0;
  uint64_t next_write_ = 0;
  uint64_t issued_ = 0;
  uint64_t steps_ = 0;
  uint64_t faults_injected_ = 0;
  uint64_t tasks_ = 0;
  SimResult result_;
};

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
  SetSabotage(cfg_.sabotage, &options_);
  tick_period_ =
      std::chrono::milliseconds(std::clamp<uint32_t>(options_.flush_interval_ms / 4, 5, 100));

  clients_.resize(r.Range(1, 4));
  for (Client& c : clients_) c.depth = static_cast<int>(r.Range(1, 4));
  ops_total_ = cfg_.ops != 0 ? cfg_.ops : r.Range(150, 400);

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

  model_ = std::make_unique<Model>(sectors_);
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
  if (cfg_.defer_sync) {
    // Forked last too, so the other draws of a seed stay the same with and without it.
    memory_->SetDeferSync(true);
    power_rng_ = master_.Fork(7);
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

void Simulation::Teardown() {
  // A killed process: queued work never runs, the volume is dropped without closing, and the
  // requests it still held are forgotten (their completions were already being ignored).
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
  volume_.reset();
  if (journal_) journal_->Crash();
  cache_.reset();
  retrying_.reset();
  faults_.reset();
  executor_.reset();
  live_.clear();
  for (Client& c : clients_) c.inflight = 0;
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
  cache_ = std::make_unique<UnitCache>(options_.cache_memory);
  Volume::Services services;
  services.store = view;
  services.pool = executor_.get();
  services.cache = cache_.get();
  services.options = options_;
  services.clock = &clock_;
  services.run_id = Mix(cfg_.seed, static_cast<uint64_t>(incarnation_) + 0x72756e) | 1;
  if (journal_) {
    const Status opened = journal_->Open();
    if (!opened.ok()) {
      Fail("cannot open the simulated local journal: " + opened.ToString());
      return false;
    }
    services.journal = journal_->get();
  }

  std::unique_ptr<CodecChain> chain;
  Status s = ChainMaker::Open(cfg_.codec, meta_.uuid.data(), meta_.codecs, &chain);
  if (!s.ok()) {
    Fail("cannot open the codec chain: " + s.ToString());
    return false;
  }
  const uint64_t open_event = ++event_;
  crash_.opening = true;
  s = Volume::Open(services, meta_, std::move(chain), /*writable=*/true, /*fenced_puts=*/true,
                   &volume_);
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
    Fail("opening the volume failed: " + s.ToString());
    return false;
  }
  next_tick_ = clock_.Now() + tick_period_;
  return Verify();
}

bool Simulation::Verify() {
  // Read the whole volume back through the engine and check it is a prefix of the history.
  image_.assign(sectors_ * kSector, 0);
  const uint64_t chunk = 128;  // sectors (64 KiB)
  std::deque<uint64_t> todo;
  for (uint64_t s = 0; s < sectors_; s += chunk) todo.push_back(s);
  std::vector<Request*> outstanding;
  while (result_.ok) {
    // Keep a few verification reads in flight; failed ones (explained by store errors, or
    // the check below fails the run) are read again.
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      if (!(*it)->done) {
        ++it;
        continue;
      }
      if ((*it)->error != 0) todo.push_back((*it)->first);
      it = outstanding.erase(it);
    }
    while (outstanding.size() < 4 && !todo.empty()) {
      const uint64_t first = todo.front();
      todo.pop_front();
      Request* r = NewRequest(-1, BP_IO_OP_READ, 0, first, std::min(chunk, sectors_ - first));
      r->verify = true;
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
  if (!result_.ok) return false;
  const std::string error = model_->CheckRecovery(image_);
  trace_.Line("%.3f verified #%d: %s hash %016llx", clock_.Ms(), incarnation_,
              error.empty() ? "ok" : "FAILED",
              static_cast<unsigned long long>(Fnv(image_.data(), image_.size())));
  if (!error.empty()) {
    Fail(error);
    return false;
  }
  return true;
}

bool Simulation::OverlapsModification(uint64_t first, uint64_t count) const {
  for (const auto& r : live_) {
    if (r->done || r->write_index < 0) continue;
    if (first < r->first + r->count && r->first < first + count) return true;
  }
  return false;
}

bool Simulation::CanIssue() const {
  if (issued_ >= ops_total_) return false;
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
      if (!modify || !OverlapsModification(first, count)) break;
      if (attempt == 8) {
        op = BP_IO_OP_READ;  // NBD orders no overlapping writes in flight; the workload avoids them
        flags = 0;
        break;
      }
    }
  }
  Request* r = NewRequest(client, op, flags, first, count);
  clients_[client].inflight++;
  ++issued_;
  Submit(r);
}

void Simulation::Submit(Request* r) {
  r->submit_ev = ++event_;
  r->submitted = clock_.Now();
  if (r->op == BP_IO_OP_READ) {
    r->buf.assign(r->count * kSector, 0xA5);
    r->floor = model_->ReadFloor(r->first, r->count);
  } else if (r->op == BP_IO_OP_WRITE) {
    r->buf.resize(r->count * kSector);
  }
  if (r->op == BP_IO_OP_WRITE || r->op == BP_IO_OP_TRIM || r->op == BP_IO_OP_WRITE_ZEROES) {
    const uint64_t id = ++next_write_;
    if (r->op == BP_IO_OP_WRITE) {
      for (uint64_t i = 0; i < r->count; ++i)
        FillSector(id, r->first + i, r->buf.data() + i * kSector);
    }
    r->write_index = static_cast<int32_t>(
        model_->Submit(id, r->first, r->count, r->op != BP_IO_OP_WRITE, r->submit_ev));
    trace_.Line("%.3f submit #%llu c%d %s%s%s w%llu sectors %llu+%llu", clock_.Ms(),
                static_cast<unsigned long long>(r->id), r->client, OpName(r->op),
                (r->flags & BP_IO_FLAG_FUA) ? " FUA" : "",
                (r->flags & BP_IO_FLAG_NO_HOLE) ? " NO_HOLE" : "",
                static_cast<unsigned long long>(id), static_cast<unsigned long long>(r->first),
                static_cast<unsigned long long>(r->count));
  } else {
    trace_.Line("%.3f submit #%llu c%d %s sectors %llu+%llu", clock_.Ms(),
                static_cast<unsigned long long>(r->id), r->client, OpName(r->op),
                static_cast<unsigned long long>(r->first),
                static_cast<unsigned long long>(r->count));
  }
  r->io.buf = r->buf.empty() ? nullptr : r->buf.data();
  ++result_.requests;
  volume_->Submit(&r->io, /*ref_read_only=*/false);
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
  uint64_t hash = 0;
  if (r->op == BP_IO_OP_READ && error == 0) hash = Fnv(r->buf.data(), r->buf.size());
  trace_.Line("%.3f done #%llu %s err %d hash %016llx", clock_.Ms(),
              static_cast<unsigned long long>(r->id), OpName(r->op), error,
              static_cast<unsigned long long>(hash));
  const bool modify = r->write_index >= 0;
  if (error != 0) {
    const std::string what = std::string(OpName(r->op)) + " #" + std::to_string(r->id) +
                             " (sectors " + std::to_string(r->first) + "+" +
                             std::to_string(r->count) + ") failed with " + std::strerror(error);
    if (error == EROFS) {
      Fail(what + ": the volume made itself read-only, but it has the only writer");
    } else if (!ErrorExplained(r) && unexplained_.empty()) {
      // Judged after the step (AfterAction): a volume that fenced itself is the better report.
      unexplained_ = what +
                     ", and no store error reached the engine while it was in flight or "
                     "since the volume last proved healthy";
    }
    if (modify) model_->Completed(static_cast<uint32_t>(r->write_index), false, false, ev);
    return;
  }
  switch (r->op) {
    case BP_IO_OP_READ:
      if (r->verify) {
        std::memcpy(image_.data() + r->first * kSector, r->buf.data(), r->buf.size());
      } else {
        const std::string e = model_->CheckRead(r->first, r->count, r->floor, r->buf.data(), r->id);
        if (!e.empty()) Fail(e);
      }
      break;
    case BP_IO_OP_FLUSH:
      model_->Flushed(r->submit_ev, r->id);
      NoteHealthy(r, ev);
      break;
    default:
      if (r->flags & BP_IO_FLAG_FUA) NoteHealthy(r, ev);
      if (modify) {
        model_->Completed(static_cast<uint32_t>(r->write_index), true,
                          (r->flags & BP_IO_FLAG_FUA) != 0, ev);
      }
      break;
  }
}

bool Simulation::ErrorExplained(const Request* r) const {
  // An error must come from store errors the engine was told of: while the request was in
  // flight, or before it when the engine had not yet shown it recovered (a segment whose upload
  // failed stays failed until a retry, and writes waiting for its buffer space time out).
  // Or from an outage while it was in flight: the single-threaded executor runs a task that
  // retries through an outage to its end before any other, so work a real pool would do
  // meanwhile (an upload that frees buffer space) waits, and requests can time out that would
  // not have with threads.
  for (const auto& [start, end] : outages_) {
    if (start <= clock_.Now() && end >= r->submitted) return true;
  }
  if (!engine_error_seen_) return false;
  if (engine_error_event_ >= r->submit_ev) return true;
  return !(healthy_event_ > engine_error_event_ && healthy_event_ < r->submit_ev);
}

void Simulation::NoteHealthy(const Request* r, uint64_t event) {
  // A FLUSH or FUA submitted after the last store error and answered OK proves every upload
  // before it went through.
  if (r->submit_ev > engine_error_event_ && healthy_event_ <= engine_error_event_) {
    healthy_event_ = event;
  }
}

bool Simulation::AfterAction() {
  if (crash_.crashed) {
    ++result_.crashes;
    Teardown();
    return false;
  }
  if (volume_ && volume_->read_only()) {
    Fail("the volume fenced itself (read-only), but it has the only writer" +
         (engine_error_seen_ ? "; the last store error the engine saw: " + last_engine_error_
                             : std::string()));
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
    volume_->Tick(clock_.Now());
    if (work_rng_.Chance(gc_request_chance_)) {
      uint64_t pass = 0;
      const Status s = volume_->RequestGc(&pass);
      trace_.Line("%.3f gc request: %s", clock_.Ms(),
                  s.ok() ? ("pass " + std::to_string(pass)).c_str() : s.ToString().c_str());
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
    if (!volume_) {
      if (!OpenIncarnation()) continue;
      if (finishing) break;
    }
    if (issued_ >= ops_total_ &&
        std::none_of(live_.begin(), live_.end(), [](const auto& r) { return !r->done; })) {
      // The end: a last FLUSH, then a restart that must bring back everything.
      Request* r = NewRequest(-1, BP_IO_OP_FLUSH, 0, 0, 0);
      Submit(r);
      while (result_.ok && volume_ && !r->done) Step(false);
      if (!volume_) continue;  // crashed meanwhile: reopen and finish again
      crash_.enabled = false;
      faults_->CrashNow("final restart");
      ++result_.crashes;
      Teardown();
      finishing = true;
      continue;
    }
    Step(/*allow_issue=*/true);
  }
  Teardown();
  result_.trace_hash = trace_.hash();
  result_.trace_lines = trace_.lines();
  result_.trace = trace_.text();
  result_.tasks = tasks_;
  result_.virtual_seconds = clock_.Ms() / 1000.0;
  return result_;
}

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
                                {"ack-flush-before-sync", kSabAckFlushBeforeSync}};

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

SimResult RunSimulation(const SimConfig& config) {
  Simulation sim(config);
  return sim.Run();
}

bool ParseFaults(const std::string& text, uint32_t* out) {
  return ParseNames(text, kFaultNames, kFaultAll, out);
}
bool ParseMutations(const std::string& text, uint32_t* out) {
  return ParseNames(text, kMutationNames, 0xF, out);
}
bool ParseSabotage(const std::string& text, uint32_t* out) {
  return ParseNames(text, kSabotageNames, 0x7F, out);
}
std::string FaultsName(uint32_t faults) { return NamesOf(faults, kFaultNames, kFaultAll); }
std::string MutationsName(uint32_t m) { return NamesOf(m, kMutationNames, 0xF); }
std::string SabotageName(uint32_t s) { return NamesOf(s, kSabotageNames, 0x7F); }

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
