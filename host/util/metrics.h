// Metrics: process-wide counters and gauges, rendered in the Prometheus text exposition format
// for `blockpipe stats` and the control server. Host code keeps a reference from Counter() for
// hot paths; plugins reach Add() through the host services table (metric_add), their names
// prefixed with the plugin's. Every exported name gets the "blockpipe_" prefix. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace bp {

class Metrics {
 public:
  // The registry the daemon exports.
  static Metrics& Global();

  // A counter, created at zero on first use. The reference stays valid for the registry's life,
  // so callers on the data path look it up once. name: [a-z0-9_]+ without the prefix.
  std::atomic<int64_t>& Counter(const std::string& name, const std::string& help = "");
  // Add to a counter by name (creates it). Invalid names are ignored and return false.
  bool Add(const std::string& name, int64_t delta);
  // Set a gauge (a value that goes up and down, such as open volumes).
  bool SetGauge(const std::string& name, int64_t value, const std::string& help = "");
  // A gauge, created at zero on first use; like Counter, for callers that update it often.
  std::atomic<int64_t>& Gauge(const std::string& name, const std::string& help = "");
  // Current value, 0 for an unknown name.
  int64_t Value(const std::string& name) const;

  // "# HELP …\n# TYPE blockpipe_x counter\nblockpipe_x 12\n" for every metric, sorted by name.
  std::string RenderPrometheus() const;

 private:
  struct Entry {
    std::atomic<int64_t> value{0};
    std::string help;
    bool gauge = false;
  };
  Entry& Find(const std::string& name, const std::string& help, bool gauge);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

// Counts operations of one kind that are running (a gauge NAME) and the most that ever ran at
// once (a gauge NAME_peak): how many GETs or uploads a workload really keeps in flight, which is
// what the read-ahead and upload settings are for. Thread-safe; Enter/Exit cost two atomics.
class InFlightGauge {
 public:
  InFlightGauge(const std::string& name, const std::string& help);
  void Enter();
  void Exit();
  // Enter() now, Exit() at the end of the scope.
  class Scope {
   public:
    explicit Scope(InFlightGauge* g) : g_(g) { g_->Enter(); }
    ~Scope() { g_->Exit(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    InFlightGauge* g_;
  };

 private:
  std::atomic<int64_t>& now_;
  std::atomic<int64_t>& peak_;
};

// [a-z0-9_]+, what Prometheus accepts after our prefix without escaping.
bool IsValidMetricName(std::string_view name);

// Metrics::Global().RenderPrometheus(), for the control server's stats op.
std::string RenderMetrics();

}  // namespace bp
