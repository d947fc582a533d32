// Metric registry and Prometheus text rendering (see metrics.h). Lookups take a shared lock and
// creation an exclusive one, so the common case (an existing counter) never serializes threads.
#include "util/metrics.h"

#include <mutex>

namespace bp {
namespace {

constexpr std::string_view kPrefix = "blockpipe_";

// HELP text may not contain raw newlines or backslashes in the exposition format.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Metrics& Metrics::Global() {
  static Metrics* global = new Metrics();  // never destroyed: plugins may report during exit
  return *global;
}

Metrics::Entry& Metrics::Find(const std::string& name, const std::string& help, bool gauge) {
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = entries_[name];
  if (!slot) {
    slot = std::make_unique<Entry>();
    slot->help = help;
    slot->gauge = gauge;
  }
  return *slot;
}

std::atomic<int64_t>& Metrics::Counter(const std::string& name, const std::string& help) {
  return Find(IsValidMetricName(name) ? name : "invalid_metric_name_total", help, false).value;
}

std::atomic<int64_t>& Metrics::Gauge(const std::string& name, const std::string& help) {
  return Find(IsValidMetricName(name) ? name : "invalid_metric_name", help, true).value;
}

InFlightGauge::InFlightGauge(const std::string& name, const std::string& help)
    : now_(Metrics::Global().Gauge(name, help)),
      peak_(Metrics::Global().Gauge(name + "_peak", "Most at once since start: " + help)) {}

void InFlightGauge::Enter() {
  const int64_t now = now_.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void InFlightGauge::Exit() { now_.fetch_sub(1, std::memory_order_relaxed); }

bool Metrics::Add(const std::string& name, int64_t delta) {
  if (!IsValidMetricName(name)) return false;
  Find(name, "", false).value.fetch_add(delta, std::memory_order_relaxed);
  return true;
}

bool Metrics::SetGauge(const std::string& name, int64_t value, const std::string& help) {
  if (!IsValidMetricName(name)) return false;
  Find(name, help, true).value.store(value, std::memory_order_relaxed);
  return true;
}

int64_t Metrics::Value(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? 0 : it->second->value.load(std::memory_order_relaxed);
}

std::string Metrics::RenderPrometheus() const {
  std::shared_lock lock(mu_);
  std::string out;
  for (const auto& [name, entry] : entries_) {
    const std::string full = std::string(kPrefix) + name;
    if (!entry->help.empty()) out += "# HELP " + full + " " + EscapeHelp(entry->help) + "\n";
    out += "# TYPE " + full + (entry->gauge ? " gauge\n" : " counter\n");
    out += full + " " + std::to_string(entry->value.load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

std::string RenderMetrics() { return Metrics::Global().RenderPrometheus(); }

}  // namespace bp
