// The faults filter's ABI surface: config keys, open (settings checked key by key), and one
// wrapper per operation that asks the FaultPlan what to do with the call. Injected failures carry
// a message saying they were injected and which call they hit, and are counted in the metrics
// faults_injected_transient, faults_injected_permanent, faults_lost_replies, faults_stalls and
// faults_outage_failures. Reference: docs/plugins/filter-faults.md.
#include <blockpipe/bp_filter.h>

#include <memory>
#include <string>
#include <thread>

#include "fault_plan.h"
#include "filter_values.h"
#include "plugin_support.h"

namespace faultsfilter {
namespace {

using bpplugin::OpKind;

// The longest stall accepted.
constexpr std::chrono::nanoseconds kMaxStall = std::chrono::minutes(10);

const struct bp_config_key kConfigKeys[] = {
    {"seed", BP_CFG_INT, "1", 0,
     "Seed of the fault decisions: the same seed and call order give the same faults."},
    {"operations", BP_CFG_LIST, "read,write,delete,list", 0,
     "Operation kinds subject to faults: read (get, ranged read, get_tagged), write (put, "
     "put_parts, put_if_match), delete, list."},
    {"prefixes", BP_CFG_LIST, nullptr, 0,
     "Only keys starting with one of these are subject to faults (default: every key)."},
    {"transient_rate", BP_CFG_STRING, "0", 0,
     "Share of selected calls failed with a transient error before they reach the store "
     "(\"2%\" or \"0.02\")."},
    {"lost_reply_rate", BP_CFG_STRING, "0", 0,
     "Share of selected writes and deletes passed on, whose reply is then replaced by a "
     "transient error: the operation happened, the caller cannot know."},
    {"permanent_rate", BP_CFG_STRING, "0", 0,
     "Share of selected calls failed with a permanent error (never retried)."},
    {"stall_rate", BP_CFG_STRING, "0", 0, "Share of selected calls that sleep for `stall` first."},
    {"stall", BP_CFG_STRING, "0", 0, "How long a stalled call sleeps, e.g. \"5s\" (at most 10m)."},
    {"outage_file", BP_CFG_PATH, nullptr, 0,
     "While a file exists at this path, every selected call fails with a transient error "
     "without reaching the store; create and remove it to switch an outage on and off."},
    {nullptr, 0, nullptr, 0, nullptr},
};

struct Faults {
  const bp_filter_next* next = nullptr;
  std::unique_ptr<FaultPlan> plan;
};

Faults* Of(void* handle) { return static_cast<Faults*>(handle); }

template <typename Fn>
int Guard(const char* operation, Fn&& fn) noexcept {
  return bpplugin::Guard("faults: ", operation, std::forward<Fn>(fn));
}

int Invalid(const std::string& message) {
  return bpplugin::SetError(BP_ERR_INVALID, "faults: " + message);
}

bool ReadRate(const bp_config* config, const char* key, double* out, std::string* error) {
  std::string why;
  if (bpplugin::ParseRate(bpplugin::ConfigString(config, key), out, &why)) return true;
  *error = std::string(key) + " " + why;
  return false;
}

int FaultsOpen(const bp_config* config, const bp_filter_next* next, void** handle) {
  *handle = nullptr;
  return Guard("open", [&] {
    FaultSettings s;
    std::string error;
    s.seed = static_cast<uint64_t>(bp_host->config_int(config, "seed"));
    const size_t kinds = bp_host->config_list_count(config, "operations");
    for (bool& k : s.kinds) k = false;
    for (size_t i = 0; i < kinds; ++i) {
      const std::string name = bp_host->config_list_item(config, "operations", i);
      OpKind kind;
      if (!bpplugin::ParseOpKind(name, &kind)) {
        return Invalid("operations: unknown kind \"" + name +
                       "\" (known: read, write, delete, list)");
      }
      s.kinds[kind] = true;
    }
    const size_t prefixes = bp_host->config_list_count(config, "prefixes");
    for (size_t i = 0; i < prefixes; ++i) {
      s.prefixes.emplace_back(bp_host->config_list_item(config, "prefixes", i));
    }
    if (!ReadRate(config, "transient_rate", &s.transient_rate, &error) ||
        !ReadRate(config, "lost_reply_rate", &s.lost_reply_rate, &error) ||
        !ReadRate(config, "permanent_rate", &s.permanent_rate, &error) ||
        !ReadRate(config, "stall_rate", &s.stall_rate, &error)) {
      return Invalid(error);
    }
    if (s.transient_rate + s.lost_reply_rate + s.permanent_rate > 1.0 + 1e-9) {
      return Invalid("transient_rate + lost_reply_rate + permanent_rate must not exceed 1");
    }
    std::string why;
    if (!bpplugin::ParseDuration(bpplugin::ConfigString(config, "stall"), kMaxStall, &s.stall,
                                 &why)) {
      return Invalid("stall " + why);
    }
    if (s.stall_rate > 0 && s.stall.count() == 0) {
      return Invalid("stall_rate is set but stall is 0: set stall = \"5s\" or similar");
    }
    s.outage_file = bpplugin::ConfigString(config, "outage_file");
    auto f = std::make_unique<Faults>();
    f->next = next;
    f->plan = std::make_unique<FaultPlan>(std::move(s));
    *handle = f.release();
    return BP_OK;
  });
}

void FaultsClose(void* handle) { delete Of(handle); }

std::string Describe(const char* op, const char* key, uint64_t call) {
  return std::string(op) + " " + key + " (selected call " + std::to_string(call) + ")";
}

// Run `call` (the pass-on to next) as the plan decides.
template <typename Call>
int Apply(void* handle, OpKind kind, const char* op, const char* key, Call&& call) {
  return Guard(op, [&] {
    FaultPlan& plan = *Of(handle)->plan;
    if (key == nullptr || !plan.Selects(kind, key)) return call();
    if (plan.InOutage()) {
      bp_host->metric_add("faults", "outage_failures", 1);
      return bpplugin::SetError(BP_ERR_TRANSIENT, "faults: outage (" + plan.settings().outage_file +
                                                      " exists): " + op + " " + key);
    }
    const Decision d = plan.Decide(kind);
    if (d.stall.count() > 0) {
      bp_host->metric_add("faults", "stalls", 1);
      std::this_thread::sleep_for(d.stall);
    }
    switch (d.fault) {
      case Fault::kNone: break;
      case Fault::kTransient:
        bp_host->metric_add("faults", "injected_transient", 1);
        return bpplugin::SetError(
            BP_ERR_TRANSIENT, "faults: injected transient error in " + Describe(op, key, d.call));
      case Fault::kPermanent:
        bp_host->metric_add("faults", "injected_permanent", 1);
        return bpplugin::SetError(
            BP_ERR_PERMANENT, "faults: injected permanent error in " + Describe(op, key, d.call));
      case Fault::kLostReply: {
        const int rc = call();
        bp_host->metric_add("faults", "lost_replies", 1);
        return bpplugin::SetError(BP_ERR_TRANSIENT,
                                  "faults: reply lost (injected) for " + Describe(op, key, d.call) +
                                      "; the store answered " + std::to_string(rc));
      }
    }
    return call();
  });
}

const bp_filter_next& Next(void* handle) { return *Of(handle)->next; }

int FaultsGet(void* handle, const char* key, bp_buf* out) {
  return Apply(handle, bpplugin::kOpRead, "get", key,
               [&] { return Next(handle).get(Next(handle).ctx, key, out); });
}

int FaultsRead(void* handle, const char* key, uint64_t offset, uint64_t length, void* buf,
               uint64_t* nread) {
  return Apply(handle, bpplugin::kOpRead, "read", key, [&] {
    return Next(handle).read(Next(handle).ctx, key, offset, length, buf, nread);
  });
}

int FaultsGetTagged(void* handle, const char* key, bp_buf* out, char* tag) {
  return Apply(handle, bpplugin::kOpRead, "get_tagged", key,
               [&] { return Next(handle).get_tagged(Next(handle).ctx, key, out, tag); });
}

int FaultsPut(void* handle, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Apply(handle, bpplugin::kOpWrite, "put", key,
               [&] { return Next(handle).put(Next(handle).ctx, key, data, length, flags); });
}

int FaultsPutParts(void* handle, const char* key, const bp_span* parts, size_t count,
                   uint32_t flags) {
  return Apply(handle, bpplugin::kOpWrite, "put_parts", key,
               [&] { return Next(handle).put_parts(Next(handle).ctx, key, parts, count, flags); });
}

int FaultsPutIfMatch(void* handle, const char* key, const void* data, uint64_t length,
                     const char* expected_tag, char* new_tag) {
  return Apply(handle, bpplugin::kOpWrite, "put_if_match", key, [&] {
    return Next(handle).put_if_match(Next(handle).ctx, key, data, length, expected_tag, new_tag);
  });
}

int FaultsDel(void* handle, const char* key) {
  return Apply(handle, bpplugin::kOpDelete, "delete", key,
               [&] { return Next(handle).del(Next(handle).ctx, key); });
}

int FaultsList(void* handle, const char* prefix, const char* cursor, bp_list* out) {
  return Apply(handle, bpplugin::kOpList, "list", prefix,
               [&] { return Next(handle).list(Next(handle).ctx, prefix, cursor, out); });
}

struct bp_filter_plugin plugin = [] {
  struct bp_filter_plugin p {};
  p.header.name = "faults";
  p.header.version = "1.0";
  p.header.description = "injects errors, lost replies, stalls and outages (for tests)";
  p.config_keys = kConfigKeys;
  p.open = FaultsOpen;
  p.close = FaultsClose;
  p.get = FaultsGet;
  p.read = FaultsRead;
  p.put = FaultsPut;
  p.put_parts = FaultsPutParts;
  p.get_tagged = FaultsGetTagged;
  p.put_if_match = FaultsPutIfMatch;
  p.del = FaultsDel;
  p.list = FaultsList;
  return p;
}();

}  // namespace
}  // namespace faultsfilter

BP_REGISTER_FILTER(faultsfilter::plugin, BP_THREAD_PARALLEL)
