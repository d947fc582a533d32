// The delay filter: every call waits for its operation kind's latency (plus a random jitter)
// before it is passed on, and the bytes it moves wait for their share of a bandwidth cap, shared
// by all concurrent calls of one direction. Waits are per call and never under a lock, so
// parallel calls overlap their latency the way requests to a remote store do: 20 ms with eight
// calls in flight still completes about 400 calls a second. Reference: docs/plugins/filter-delay.md.
#include <blockpipe/bp_filter.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "filter_values.h"
#include "pacer.h"
#include "plugin_support.h"

namespace delayfilter {
namespace {

using bpplugin::OpKind;
using std::chrono::nanoseconds;

// Longest latency or jitter accepted: longer would make a stopping daemon wait that long for
// each call in flight.
constexpr nanoseconds kMaxLatency = std::chrono::minutes(1);

const struct bp_config_key kConfigKeys[] = {
    {"latency", BP_CFG_STRING, "0", 0,
     "Added to every call before it is passed on, e.g. \"20ms\" (units ns, us, ms, s, m; at "
     "most 1m)."},
    {"read_latency", BP_CFG_STRING, nullptr, 0,
     "Latency of reads (get, ranged read, get_tagged) instead of `latency`."},
    {"write_latency", BP_CFG_STRING, nullptr, 0,
     "Latency of writes (put, put_parts, put_if_match) instead of `latency`."},
    {"delete_latency", BP_CFG_STRING, nullptr, 0, "Latency of deletes instead of `latency`."},
    {"list_latency", BP_CFG_STRING, nullptr, 0, "Latency of each list call instead of `latency`."},
    {"jitter", BP_CFG_STRING, "0", 0,
     "A random extra delay, uniform between 0 and this, drawn per call."},
    {"bandwidth", BP_CFG_SIZE, "0", 0,
     "Bytes per second in each direction, shared by all concurrent calls (\"100MiB\"); 0 is "
     "unlimited."},
    {"upload_bandwidth", BP_CFG_SIZE, nullptr, 0,
     "Bytes per second of writes instead of `bandwidth`."},
    {"download_bandwidth", BP_CFG_SIZE, nullptr, 0,
     "Bytes per second of reads instead of `bandwidth`."},
    {nullptr, 0, nullptr, 0, nullptr},
};

const char* const kLatencyKeys[bpplugin::kOpKinds] = {"read_latency", "write_latency",
                                                      "delete_latency", "list_latency"};

struct Delay {
  const bp_filter_next* next = nullptr;
  std::array<nanoseconds, bpplugin::kOpKinds> latency{};
  nanoseconds jitter{0};
  std::unique_ptr<Pacer> up, down;
  mutable std::atomic<uint64_t> jitter_state{std::random_device{}()};

  // Sleep the operation's latency plus jitter.
  void Wait(OpKind kind) const {
    nanoseconds d = latency[kind];
    if (jitter.count() > 0) {
      // splitmix64 over one atomic counter: drawing never takes a lock, and the plugin keeps no
      // thread_local state (a dlopen'd module's TLS can fail to load under ThreadSanitizer:
      // "cannot allocate memory in static TLS block"). Jitter need not repeat between runs.
      uint64_t z = jitter_state.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      d += nanoseconds(static_cast<int64_t>(z % (static_cast<uint64_t>(jitter.count()) + 1)));
    }
    if (d.count() > 0) std::this_thread::sleep_for(d);
  }
};

Delay* Of(void* handle) { return static_cast<Delay*>(handle); }

template <typename Fn>
int Guard(const char* operation, Fn&& fn) noexcept {
  return bpplugin::Guard("delay: ", operation, std::forward<Fn>(fn));
}

int Invalid(const std::string& message) {
  return bpplugin::SetError(BP_ERR_INVALID, "delay: " + message);
}

bool ReadDuration(const bp_config* config, const char* key, nanoseconds* out, std::string* error) {
  const std::string text = bpplugin::ConfigString(config, key);
  if (!bpplugin::ConfigHas(config, key)) return true;
  std::string why;
  if (bpplugin::ParseDuration(text, kMaxLatency, out, &why)) return true;
  *error = std::string(key) + " " + why;
  return false;
}

int DelayOpen(const bp_config* config, const bp_filter_next* next, void** handle) {
  *handle = nullptr;
  return Guard("open", [&] {
    auto d = std::make_unique<Delay>();
    d->next = next;
    std::string error;
    nanoseconds base{0};
    if (!ReadDuration(config, "latency", &base, &error)) return Invalid(error);
    for (int k = 0; k < bpplugin::kOpKinds; ++k) {
      d->latency[k] = base;
      if (!ReadDuration(config, kLatencyKeys[k], &d->latency[k], &error)) return Invalid(error);
    }
    if (!ReadDuration(config, "jitter", &d->jitter, &error)) return Invalid(error);
    int64_t both = 0, up = -1, down = -1;
    const int64_t kMax = int64_t{1} << 50;
    if (!bpplugin::ConfigIntInRange(config, "bandwidth", 0, kMax, &both, &error) ||
        !bpplugin::ConfigIntInRange(config, "upload_bandwidth", 0, kMax, &up, &error) ||
        !bpplugin::ConfigIntInRange(config, "download_bandwidth", 0, kMax, &down, &error)) {
      return Invalid(error);
    }
    d->up = std::make_unique<Pacer>(static_cast<uint64_t>(up >= 0 ? up : both));
    d->down = std::make_unique<Pacer>(static_cast<uint64_t>(down >= 0 ? down : both));
    *handle = d.release();
    return BP_OK;
  });
}

void DelayClose(void* handle) { delete Of(handle); }

int DelayGet(void* handle, const char* key, bp_buf* out) {
  return Guard("get", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpRead);
    const size_t before = bp_host->buf_size(out);
    const int rc = d.next->get(d.next->ctx, key, out);
    if (rc == BP_OK) d.down->Transfer(bp_host->buf_size(out) - before);
    return rc;
  });
}

int DelayRead(void* handle, const char* key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) {
  return Guard("read", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpRead);
    const int rc = d.next->read(d.next->ctx, key, offset, length, buf, nread);
    if (rc == BP_OK) d.down->Transfer(*nread);
    return rc;
  });
}

int DelayGetTagged(void* handle, const char* key, bp_buf* out, char* tag) {
  return Guard("get_tagged", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpRead);
    const size_t before = bp_host->buf_size(out);
    const int rc = d.next->get_tagged(d.next->ctx, key, out, tag);
    if (rc == BP_OK) d.down->Transfer(bp_host->buf_size(out) - before);
    return rc;
  });
}

int DelayPut(void* handle, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Guard("put", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpWrite);
    d.up->Transfer(length);
    return d.next->put(d.next->ctx, key, data, length, flags);
  });
}

int DelayPutParts(void* handle, const char* key, const bp_span* parts, size_t count,
                  uint32_t flags) {
  return Guard("put_parts", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpWrite);
    uint64_t total = 0;
    for (size_t i = 0; i < count; ++i) total += parts[i].length;
    d.up->Transfer(total);
    return d.next->put_parts(d.next->ctx, key, parts, count, flags);
  });
}

int DelayPutIfMatch(void* handle, const char* key, const void* data, uint64_t length,
                    const char* expected_tag, char* new_tag) {
  return Guard("put_if_match", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpWrite);
    d.up->Transfer(length);
    return d.next->put_if_match(d.next->ctx, key, data, length, expected_tag, new_tag);
  });
}

int DelayDel(void* handle, const char* key) {
  return Guard("del", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpDelete);
    return d.next->del(d.next->ctx, key);
  });
}

int DelayList(void* handle, const char* prefix, const char* cursor, bp_list* out) {
  return Guard("list", [&] {
    const Delay& d = *Of(handle);
    d.Wait(bpplugin::kOpList);
    return d.next->list(d.next->ctx, prefix, cursor, out);
  });
}

struct bp_filter_plugin plugin = [] {
  struct bp_filter_plugin p {};
  p.header.name = "delay";
  p.header.version = "1.0";
  p.header.description = "adds latency per operation and a shared bandwidth cap";
  p.config_keys = kConfigKeys;
  p.open = DelayOpen;
  p.close = DelayClose;
  p.get = DelayGet;
  p.read = DelayRead;
  p.put = DelayPut;
  p.put_parts = DelayPutParts;
  p.get_tagged = DelayGetTagged;
  p.put_if_match = DelayPutIfMatch;
  p.del = DelayDel;
  p.list = DelayList;
  return p;
}();

}  // namespace
}  // namespace delayfilter

BP_REGISTER_FILTER(delayfilter::plugin, BP_THREAD_PARALLEL)
