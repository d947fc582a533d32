// GarbageCollector implementation (see collector.h).
#include "engine/collector.h"

#include <algorithm>
#include <unordered_set>

#include "engine/store_usage.h"

namespace bp {

GarbageCollector::GarbageCollector(const EngineOptions& options) : options_(options) {}

bool GarbageCollector::ShouldScan(Clock::TimePoint now) const {
  if (copying_) return false;
  if (pass_pending()) return true;
  if (!options_.gc_enabled) return false;
  // The interval spaces scans that find nothing; while there is work, the next batch follows
  // as soon as the rate allows.
  if (working_) return true;
  return now - last_scan_ >= std::chrono::milliseconds(options_.gc_interval_ms);
}

void GarbageCollector::Relocated(uint64_t seq, uint64_t landing) {
  uint64_t& at = in_flight_[seq];
  at = std::max(at, landing);
}

bool GarbageCollector::InFlight(uint64_t durable_seq, uint64_t* landing) {
  *landing = 0;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second <= durable_seq) {
      it = in_flight_.erase(it);
      continue;
    }
    *landing = std::max(*landing, it->second);
    ++it;
  }
  return *landing != 0;
}

std::vector<uint64_t> GarbageCollector::Candidates(const VolumeState& state, uint64_t durable_seq,
                                                   uint64_t max_seq,
                                                   const std::function<bool(uint64_t seq)>& held) {
  uint64_t landing;
  InFlight(durable_seq, &landing);  // forget what has landed
  struct Scored {
    double dead;
    uint64_t seq;
  };
  std::vector<Scored> scored;
  for (const auto& [seq, info] : state.segments) {
    if (seq > max_seq) break;
    const uint64_t total = SegmentBlocks(info);
    if (total == 0 || skip_.count(seq) != 0 || in_flight_.count(seq) != 0) continue;
    if (held && held(seq)) continue;
    const uint64_t live = state.map.LiveBlocks(seq);
    if (live == 0 || live >= total) continue;  // wholly dead ones need no copy, only reclaiming
    const double dead = static_cast<double>(total - live) / static_cast<double>(total);
    if (dead >= options_.gc_min_dead_ratio) scored.push_back(Scored{dead, seq});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    return a.dead != b.dead ? a.dead > b.dead : a.seq < b.seq;
  });
  std::vector<uint64_t> out;
  out.reserve(scored.size());
  for (const Scored& s : scored) out.push_back(s.seq);
  return out;
}

std::vector<GcMove> GarbageCollector::LiveRuns(const VolumeState& state,
                                               const std::vector<uint64_t>& segs,
                                               uint64_t max_blocks) {
  // Take candidates in order until their live blocks fill the batch, then find their runs in
  // one walk over the map (the map has no index by segment; a walk costs microseconds per
  // thousand extents, far less than the copy it plans).
  std::unordered_set<uint64_t> chosen;
  uint64_t planned = 0;
  for (uint64_t seq : segs) {
    if (planned >= max_blocks) break;
    chosen.insert(seq);
    planned += state.map.LiveBlocks(seq);
  }
  std::vector<GcMove> runs;
  uint64_t taken = 0;
  for (auto it = state.map.extents().begin(); it != state.map.extents().end(); ++it) {
    const Extent& e = it->second;
    if (e.kind != ExtentKind::kData || chosen.count(e.seq) == 0) continue;
    const uint64_t n = std::min(e.blocks, max_blocks - taken);
    runs.push_back(GcMove{it->first, n, e.seq, e.index});
    taken += n;
    if (taken >= max_blocks) break;
  }
  return runs;
}

uint64_t GarbageCollector::Allowance(Clock::TimePoint now, uint64_t client_reads) {
  if (counters_.client_bytes != seen_client_bytes_) {
    seen_client_bytes_ = counters_.client_bytes;
    last_client_write_ = now;
    last_client_request_ = now;
  }
  if (client_reads != seen_client_reads_) {
    seen_client_reads_ = client_reads;
    last_client_request_ = now;
  }
  paced_ = !pass_pending() && now - last_client_request_ < kClientsIdle;
  if (!paced_) {
    refilled_ = now;  // the bucket starts again from where it was when clients come back
    return UINT64_MAX;
  }
  const bool writing = now - last_client_write_ < kClientsIdle;
  const double rate = static_cast<double>(options_.gc_rate) * (writing ? 1.0 : kReadersShare);
  if (refilled_ == Clock::TimePoint{}) {
    tokens_ = rate;  // start with one second's worth
  } else {
    const double seconds = std::chrono::duration<double>(now - refilled_).count();
    tokens_ = std::min(rate, tokens_ + rate * std::max(0.0, seconds));
  }
  refilled_ = now;
  return tokens_ <= 0 ? 0 : static_cast<uint64_t>(tokens_);
}

void GarbageCollector::BatchStarted(uint64_t planned) {
  copying_ = true;
  working_ = true;
  counters_.batches++;
  if (paced_) tokens_ -= static_cast<double>(planned);
}

void GarbageCollector::BatchDone(uint64_t bytes, uint64_t read_bytes) {
  copying_ = false;
  counters_.rewritten_bytes += bytes;
  if (paced_) tokens_ -= static_cast<double>(read_bytes);
}

void GarbageCollector::Idle(Clock::TimePoint now, bool settled) {
  last_scan_ = now;
  working_ = false;
  if (settled && !copying_) counters_.passes_done = counters_.passes_requested;
}

uint64_t GarbageCollector::Request(uint64_t durable_seq) {
  pass_through_ = std::max(pass_through_, durable_seq);
  return ++counters_.passes_requested;
}

GcCounters GarbageCollector::counters() const {
  GcCounters c = counters_;
  c.running = copying_ || pass_pending();
  return c;
}

}  // namespace bp
