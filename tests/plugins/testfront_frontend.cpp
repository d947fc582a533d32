// blockpipe-frontend-testfront: a frontend for the loader tests that drives the host's volume
// API instead of a network protocol. start() lists the volumes and, for each, opens a
// reference, reads its info, writes a 4 KiB pattern with FUA, reads it back and compares;
// results are reported as host metrics (testfront_volumes_listed, testfront_roundtrips_ok,
// testfront_roundtrips_failed). fail_open / fail_start make those steps fail with a message.
#include <blockpipe/bp_frontend.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Instance {
  const bp_volume_api* volumes;
  bool fail_start;
};

// Waits for one request's completion, which may arrive on a host thread.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int error = 0;
};

void OnDone(bp_io* io, int error) {
  auto* w = static_cast<Waiter*>(io->user);
  std::lock_guard<std::mutex> lock(w->mu);
  w->done = true;
  w->error = error;
  w->cv.notify_all();
}

int RunIo(const bp_volume_api* api, bp_volume* v, uint32_t op, uint32_t flags, void* buf,
          uint64_t len) {
  Waiter w;
  bp_io io{};
  io.struct_size = sizeof io;
  io.op = op;
  io.flags = flags;
  io.offset = 0;
  io.length = len;
  io.buf = buf;
  io.done = OnDone;
  io.user = &w;
  api->submit(v, &io);
  std::unique_lock<std::mutex> lock(w.mu);
  if (!w.cv.wait_for(lock, std::chrono::seconds(20), [&] { return w.done; })) {
    // The request still references io and w; waiting longer is the only safe choice.
    w.cv.wait(lock, [&] { return w.done; });
    return -1;
  }
  return w.error;
}

void CollectName(void* arg, const char* name, const char*, uint64_t) {
  static_cast<std::vector<std::string>*>(arg)->push_back(name);
}

bool RoundTrip(const bp_volume_api* api, const std::string& name) {
  bp_volume* v = nullptr;
  if (api->open(api->ctx, name.c_str(), 0, &v) != BP_OK || v == nullptr) return false;
  bp_volume_info info{};
  info.struct_size = sizeof info;
  bool ok = api->info(v, &info) == BP_OK && info.size >= 4096;
  std::vector<unsigned char> out(4096), in(4096, 0);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(i * 7 + name.size());
  ok = ok && RunIo(api, v, BP_IO_OP_WRITE, BP_IO_FLAG_FUA, out.data(), out.size()) == 0;
  ok = ok && RunIo(api, v, BP_IO_OP_READ, 0, in.data(), in.size()) == 0;
  ok = ok && std::memcmp(in.data(), out.data(), out.size()) == 0;
  api->close(v);
  return ok;
}

int FrontOpen(const bp_config* cfg, const bp_volume_api* volumes, void** handle) {
  *handle = nullptr;
  if (bp_host->config_bool(cfg, "fail_open")) {
    std::string msg = "cannot listen on ";
    msg += bp_host->config_list_count(cfg, "listen") ? bp_host->config_list_item(cfg, "listen", 0)
                                                     : "?";
    msg += ": address already in use (`fail_open` = true)";
    bp_host->set_error(msg.c_str());
    return BP_ERR_PERMANENT;
  }
  *handle = new Instance{volumes, bp_host->config_bool(cfg, "fail_start") != 0};
  return BP_OK;
}

int FrontStart(void* handle) {
  auto* inst = static_cast<Instance*>(handle);
  if (inst->fail_start) {
    bp_host->set_error("start refused (fail_start = true)");
    return BP_ERR_PERMANENT;
  }
  std::vector<std::string> names;
  if (inst->volumes->list(inst->volumes->ctx, CollectName, &names) != BP_OK)
    return BP_ERR_PERMANENT;
  bp_host->metric_add("testfront", "volumes_listed", static_cast<int64_t>(names.size()));
  for (const auto& n : names) {
    bp_host->metric_add("testfront",
                        RoundTrip(inst->volumes, n) ? "roundtrips_ok" : "roundtrips_failed", 1);
  }
  return BP_OK;
}

void FrontStop(void*) {}
void FrontClose(void* handle) { delete static_cast<Instance*>(handle); }

const bp_config_key kKeys[] = {
    {"listen", BP_CFG_LIST, nullptr, 1, "Addresses (only echoed in messages)."},
    {"fail_open", BP_CFG_BOOL, "false", 0, "Make open fail."},
    {"fail_start", BP_CFG_BOOL, "false", 0, "Make start fail."},
    {nullptr, 0, nullptr, 0, nullptr},
};

bp_frontend_plugin plugin = [] {
  bp_frontend_plugin p{};
  p.header.name = "testfront";
  p.header.description = "volume API exerciser for tests";
  p.config_keys = kKeys;
  p.open = FrontOpen;
  p.start = FrontStart;
  p.stop = FrontStop;
  p.close = FrontClose;
  return p;
}();

}  // namespace

BP_REGISTER_FRONTEND(plugin, BP_THREAD_SERIALIZE_ALL)
