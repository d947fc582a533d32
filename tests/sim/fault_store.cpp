// Seeded fault injection between the engine's RetryingStore and the in-memory store (see
// fault_store.h).
#include "fault_store.h"

#include "engine/object_format.h"
#include "engine/store_layout.h"
#include "sim_volume.h"

namespace bp::sim {
namespace {

// What `key` is to the volume whose prefix holds it (kOutside for keys under no volume).
VolumeKeyKind KindOf(const std::string& key) {
  static const std::string root = "volumes/";
  if (key.compare(0, root.size(), root) != 0) return VolumeKeyKind::kOutside;
  const size_t slash = key.find('/', root.size());
  if (slash == std::string::npos) return VolumeKeyKind::kOutside;
  return ClassifyVolumeKey(key.substr(root.size(), slash - root.size()), key);
}
// Segments and checkpoints of any volume of the run (the first one and its clones).
bool IsSegment(const std::string& key) { return KindOf(key) == VolumeKeyKind::kSegment; }
bool IsCheckpoint(const std::string& key) { return KindOf(key) == VolumeKeyKind::kCheckpoint; }
// The ownership record names the host (gethostname), whose length is no part of a run: its
// size stays out of the trace so a seed's trace is the same on every machine.
bool SizeInTrace(const std::string& key) { return KindOf(key) != VolumeKeyKind::kOwner; }
const char* KindName(int kind) {
  static const char* names[] = {"read", "write", "delete", "list"};
  return names[kind];
}

}  // namespace

FaultStore::FaultStore(std::shared_ptr<MemoryStore> inner, FaultConfig config, Rng rng,
                       SimClock* clock, SimExecutor* executor, CrashState* crash, Trace* trace)
    : inner_(std::move(inner)),
      config_(config),
      rng_(rng),
      clock_(clock),
      executor_(executor),
      crash_(crash),
      trace_(trace) {}

Status FaultStore::Crashed() const {
  return Status::Permanent("simulated crash: the host is down");
}

void FaultStore::CrashNow(const std::string& where) {
  if (crash_->crashed) return;
  crash_->crashed = true;
  crash_->budget--;
  crash_->where = where;
  trace_->Line("%.3f CRASH %s", clock_->Ms(), where.c_str());
  if ((config_.mutations & kMutLoseAckedPutAtCrash) && !last_acked_segment_.empty()) {
    trace_->Line("mutation: lose acked %s", last_acked_segment_.c_str());
    inner_->Erase(last_acked_segment_);
  }
}

double FaultStore::CrashOdds(Kind kind, const std::string& key) const {
  double p = crash_->per_op;
  // Weigh the moments the brief names: mid-checkpoint, mid-reclaim, mid-recovery.
  if (kind == Kind::kWrite && IsCheckpoint(key)) p *= 10;
  if (kind == Kind::kDelete) p *= 6;
  if (crash_->opening) p *= 8;
  if (!crash_->control.empty() && !executor_->running()) p *= 8;
  return p;
}

bool FaultStore::MaybeCrash(Kind kind, const std::string& key, const char* when) {
  if (!crash_->enabled || crash_->crashed || crash_->budget <= 0) return false;
  // A landed put whose reply never arrives is the classic ambiguity: weigh it up too.
  const double boost = (kind == Kind::kWrite && when[0] == 'a') ? 3 : 1;
  if (!rng_.Chance(boost * CrashOdds(kind, key))) return false;
  const bool in_control = !crash_->control.empty() && !executor_->running();
  CrashNow(std::string(when) + " " + KindName(static_cast<int>(kind)) + " " + key +
           (crash_->opening ? " (during open)" : "") +
           (in_control ? " (during " + crash_->control + ")" : ""));
  return true;
}

Status FaultStore::Before(Kind kind, const std::string& key) {
  if (crash_->crashed) return Crashed();
  // Every call takes some virtual time; with slow faults, some take seconds.
  uint64_t us = rng_.Range(50, 2000);
  if ((config_.kinds & kFaultSlow) && rng_.Chance(config_.p_slow)) {
    us = rng_.Range(100'000, 4'000'000);
    // A call of a second or more can make requests queued behind it time out, as an outage
    // can: record it among the windows that explain errors.
    if (us >= 1'000'000 && config_.outages) {
      config_.outages->emplace_back(clock_->Now(), clock_->Now() + std::chrono::microseconds(us));
    }
    trace_->Line("fault slow %s %s %llu us", KindName(static_cast<int>(kind)), key.c_str(),
                 static_cast<unsigned long long>(us));
  }
  clock_->Advance(std::chrono::microseconds(us));
  if (MaybeCrash(kind, key, "before")) return Crashed();
  if (config_.kinds & kFaultTransient) {
    const Clock::TimePoint now = clock_->Now();
    if (now >= outage_until_ && rng_.Chance(config_.p_outage)) {
      outage_until_ = now + std::chrono::milliseconds(rng_.Range(1000, 40000));
      if (config_.outages) config_.outages->emplace_back(now, outage_until_);
      trace_->Line(
          "%.3f fault outage until %.3f", clock_->Ms(),
          clock_->Ms() + std::chrono::duration<double, std::milli>(outage_until_ - now).count());
    }
    if (now < outage_until_ || rng_.Chance(config_.p_transient)) {
      ++injected_;
      trace_->Line("fault transient %s %s", KindName(static_cast<int>(kind)), key.c_str());
      return Status::Transient("simulated transient error on " + key);
    }
  }
  return Status::Ok();
}

Status FaultStore::After(Kind kind, const std::string& key, Status applied) {
  if (MaybeCrash(kind, key, "after")) return Crashed();
  if (applied.ok() && (config_.kinds & kFaultLostReply) && rng_.Chance(config_.p_lost_reply)) {
    ++injected_;
    trace_->Line("fault lost-reply %s %s", KindName(static_cast<int>(kind)), key.c_str());
    return Status::Transient("simulated lost reply for " + key);
  }
  return applied;
}

Status FaultStore::Get(const std::string& key, Bytes* out) {
  BP_RETURN_IF_ERROR(Before(Kind::kRead, key));
  if (unreadable_.count(key) != 0) return Status::Transient("mutation: " + key + " unreadable");
  if (not_yet_applied_.count(key) != 0) return Status::NotFound(key);
  Status s = inner_->Get(key, out);
  trace_->Line("get %s -> %d %zu", key.c_str(), s.raw_code(),
               config_.trace_sizes && SizeInTrace(key) ? out->size() : size_t{0});
  return s;
}

Status FaultStore::GetTagged(const std::string& key, Bytes* out, std::string* tag) {
  BP_RETURN_IF_ERROR(Before(Kind::kRead, key));
  Status s = inner_->GetTagged(key, out, tag);
  trace_->Line("get-tagged %s -> %d %zu", key.c_str(), s.raw_code(),
               config_.trace_sizes && SizeInTrace(key) ? out->size() : size_t{0});
  return s;
}

Status FaultStore::PutIfMatch(const std::string& key, const void* data, uint64_t length,
                              const std::string& expected_tag, std::string* new_tag) {
  BP_RETURN_IF_ERROR(Before(Kind::kWrite, key));
  Status s = inner_->PutIfMatch(key, data, length, expected_tag, new_tag);
  trace_->Line(
      "put-if-match %s %llu -> %d", key.c_str(),
      static_cast<unsigned long long>(config_.trace_sizes && SizeInTrace(key) ? length : 0),
      s.raw_code());
  return After(Kind::kWrite, key, s);
}

Status FaultStore::Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                        uint64_t* nread) {
  BP_RETURN_IF_ERROR(Before(Kind::kRead, key));
  if (not_yet_applied_.count(key) != 0) return Status::NotFound(key);
  Status s = inner_->Read(key, offset, length, buf, nread);
  if (config_.trace_sizes) {
    trace_->Line("read %s %llu+%llu -> %d", key.c_str(), static_cast<unsigned long long>(offset),
                 static_cast<unsigned long long>(length), s.raw_code());
  } else {
    trace_->Line("read %s -> %d", key.c_str(), s.raw_code());
  }
  return s;
}

Status FaultStore::Put(const std::string& key, const void* data, uint64_t length, bool if_absent) {
  const auto* p = static_cast<const uint8_t*>(data);
  return DoPut(key, Bytes(p, p + length), if_absent);
}

Status FaultStore::PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) {
  Bytes joined;
  JoinParts(parts, &joined);
  return DoPut(key, std::move(joined), if_absent);
}

Status FaultStore::PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                                     bool if_absent) {
  Bytes joined;
  JoinParts(parts, &joined);
  return DoPut(key, std::move(joined), if_absent, /*defer_sync=*/true);
}

Status FaultStore::Sync(const std::vector<std::string>& keys) {
  const std::string first = keys.empty() ? std::string() : keys.front();
  BP_RETURN_IF_ERROR(Before(Kind::kWrite, first));
  Status s = inner_->Sync(keys);
  trace_->Line("sync %s +%zu -> %d", first.c_str(), keys.size(), s.raw_code());
  return After(Kind::kWrite, first, s);
}

Status FaultStore::DoPut(const std::string& key, Bytes bytes, bool if_absent, bool defer_sync) {
  Status before = Before(Kind::kWrite, key);
  if (before.IsTransient() && (config_.mutations & kMutSwallowPutError) && IsSegment(key)) {
    trace_->Line("mutation: swallow error of put %s", key.c_str());
    return Status::Ok();
  }
  BP_RETURN_IF_ERROR(before);
  const uint64_t size = bytes.size();
  if ((config_.mutations & kMutDeferredApply) && IsSegment(key)) {
    if (if_absent && (not_yet_applied_.count(key) != 0 || inner_->Has(key))) {
      return Status::Precondition(key + " exists");
    }
    not_yet_applied_.insert(key);
    trace_->Line("mutation: put %s acked before it is applied", key.c_str());
    executor_->Submit([this, key, bytes = std::move(bytes)] {
      if (crash_->crashed) return;
      inner_->Poke(key, bytes);
      not_yet_applied_.erase(key);
    });
    return Status::Ok();
  }
  Status s = defer_sync ? inner_->PutPartsDeferSync(key, {ObjectPart{bytes.data(), bytes.size()}},
                                                    if_absent)
                        : inner_->Put(key, bytes.data(), bytes.size(), if_absent);
  trace_->Line("put %s %llu%s%s -> %d", key.c_str(),
               static_cast<unsigned long long>(config_.trace_sizes && SizeInTrace(key) ? size : 0),
               if_absent ? " if-absent" : "", defer_sync ? " deferred" : "", s.raw_code());
  if (s.ok() && IsSegment(key)) last_acked_segment_ = key;
  s = After(Kind::kWrite, key, s);
  if (s.IsTransient() && if_absent && !crash_->crashed &&
      (config_.mutations & kMutUnresolvedLostReply)) {
    unreadable_.insert(key);
  }
  return s;
}

Status FaultStore::Delete(const std::string& key) {
  BP_RETURN_IF_ERROR(Before(Kind::kDelete, key));
  Status s = inner_->Delete(key);
  trace_->Line("delete %s -> %d", key.c_str(), s.raw_code());
  return After(Kind::kDelete, key, s);
}

Status FaultStore::List(const std::string& prefix, std::vector<ObjectInfo>* out) {
  BP_RETURN_IF_ERROR(Before(Kind::kList, prefix));
  Status s = inner_->List(prefix, out);
  if (s.ok() && !not_yet_applied_.empty()) {
    std::vector<ObjectInfo> visible;
    for (auto& o : *out) {
      if (not_yet_applied_.count(o.key) == 0) visible.push_back(std::move(o));
    }
    out->swap(visible);
  }
  trace_->Line("list %s -> %d %zu", prefix.c_str(), s.raw_code(), out->size());
  return s;
}

}  // namespace bp::sim
