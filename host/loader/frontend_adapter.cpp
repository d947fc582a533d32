// PluginFrontend and the volume API (see frontend_adapter.h). The volume API functions are
// called from the frontend's own threads, so they take no plugin lock, never throw into plugin
// code, and report refusals through the same per-thread error message plugins use. Each
// frontend gets a table whose submit matches the bp_io layout of the ABI minor it was built
// against, so an old frontend's requests are never read past their end.
#include "loader/frontend_adapter.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include <spdlog/spdlog.h>

#include "loader/call_gate.h"
#include "loader/host_services.h"

// Completes the SDK's opaque type: one frontend reference to a volume.
struct bp_volume {
  std::unique_ptr<bp::VolumeRef> ref;
};

namespace bp {
namespace {

int ApiList(void* ctx, bp_volume_list_fn fn, void* arg) {
  if (ctx == nullptr || fn == nullptr) return BP_ERR_INVALID;
  try {
    for (const auto& v : static_cast<VolumeManager*>(ctx)->List()) {
      const std::string description =
          v.codecs.empty() ? "blockpipe volume" : "blockpipe volume (" + v.codecs + ")";
      fn(arg, v.name.c_str(), description.c_str(), v.size);
    }
    return BP_OK;
  } catch (const std::exception& e) {
    SetPluginError(std::string("listing volumes: ") + e.what());
    return BP_ERR_PERMANENT;
  }
}

int ApiOpen(void* ctx, const char* name, int readonly, bp_volume** volume) {
  if (volume == nullptr) return BP_ERR_INVALID;
  *volume = nullptr;
  if (ctx == nullptr || name == nullptr) return BP_ERR_INVALID;
  try {
    std::unique_ptr<VolumeRef> ref;
    Status st = static_cast<VolumeManager*>(ctx)->OpenRef(name, readonly != 0, &ref);
    if (!st.ok()) {
      SetPluginError(st.message());
      spdlog::debug("frontend open of volume {} refused: {}", name, st.message());
      return st.raw_code();
    }
    *volume = new bp_volume{std::move(ref)};
    return BP_OK;
  } catch (const std::exception& e) {
    SetPluginError(std::string("opening volume: ") + e.what());
    return BP_ERR_PERMANENT;
  }
}

void ApiClose(bp_volume* volume) { delete volume; }

int ApiInfo(bp_volume* volume, bp_volume_info* info) {
  if (volume == nullptr || info == nullptr) return BP_ERR_INVALID;
  // A frontend built against an older SDK passes a smaller struct: fill only what it has.
  const uint32_t size = info->struct_size;
  if (size < sizeof(uint32_t)) return BP_ERR_INVALID;
  bp_volume_info full{};
  full.struct_size = sizeof full;
  try {
    volume->ref->Info(&full);
  } catch (const std::exception& e) {
    SetPluginError(std::string("volume info: ") + e.what());
    return BP_ERR_PERMANENT;
  }
  std::memcpy(info, &full, std::min<size_t>(size, sizeof full));
  info->struct_size = size;
  return BP_OK;
}

// How much of a struct bp_io the host may read (see "HOW BIG IS A bp_io" in bp_frontend.h).
// A frontend built against 1.0 to 1.4 passes the 1.0 layout: nothing after `user` exists, and
// reading struct_size there would read the frontend's next object.
constexpr size_t kIoSize10 = offsetof(bp_io, struct_size);
constexpr uint32_t kIoSizeSinceMinor = 5;  // bp_io.struct_size exists from 1.5 on
constexpr size_t kIoSize15 = offsetof(bp_io, reserved) + sizeof(bp_io::reserved);

// The engine reads only the 1.0 fields of a request, which every valid bp_io has, so a request
// reaches it as the frontend's own pointer. A field added after 1.5 changes that: the engine
// may read it only where the request's size covers it, and a request that lacks it must reach
// the engine as if it were zero. This assert stops the build until the field is handled here.
static_assert(sizeof(bp_io) == kIoSize15,
              "struct bp_io grew: decide here how the engine sees requests from frontends whose "
              "bp_io ends before the new field");

// Flag bits the engine knows. An unknown bit may change what a request promises (a newer
// frontend's durability or atomicity flag), so it is refused rather than ignored.
constexpr uint32_t kKnownIoFlags = BP_IO_FLAG_FUA | BP_IO_FLAG_NO_HOLE | BP_IO_FLAG_FAST_ZERO;

// The size of a request from a frontend built against 1.5 or later: struct_size, where 0 means
// the 1.0 layout and a value that does not cover struct_size itself is invalid (0 returned).
size_t DeclaredIoSize(const bp_io* io) {
  if (io->struct_size == 0) return kIoSize10;
  if (io->struct_size < kIoSize15) return 0;
  return std::min<size_t>(io->struct_size, sizeof(bp_io));
}

void SubmitToVolume(bp_volume* volume, bp_io* io) {
  if (volume == nullptr || (io->flags & ~kKnownIoFlags) != 0) {
    if (io->done != nullptr) io->done(io, EINVAL);
    return;
  }
  try {
    volume->ref->Submit(io);
  } catch (const std::exception& e) {
    // Submit completes requests through done; an exception means it did not get that far.
    spdlog::error("volume request failed before it started: {}", e.what());
    if (io->done != nullptr) io->done(io, EIO);
  }
}

// submit for frontends built against 1.0 to 1.4: their bp_io has the 1.0 layout.
void ApiSubmit10(bp_volume* volume, bp_io* io) {
  if (io == nullptr) return;
  SubmitToVolume(volume, io);
}

// submit for frontends built against 1.5 or later.
void ApiSubmit(bp_volume* volume, bp_io* io) {
  if (io == nullptr) return;
  if (DeclaredIoSize(io) == 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      spdlog::warn(
          "a frontend submitted a request with struct_size {}, which must be 0 (the 1.0 "
          "layout) or at least {}; such requests fail with EINVAL",
          io->struct_size, kIoSize15);
    }
    if (io->done != nullptr) io->done(io, EINVAL);
    return;
  }
  SubmitToVolume(volume, io);
}

// extents (since 1.7): a memory-only query, safe on the frontend's event-loop threads.
int ApiExtents(bp_volume* volume, uint64_t offset, uint64_t length, bp_extent* out,
               uint32_t max_extents, uint32_t* count) {
  if (count != nullptr) *count = 0;
  if (volume == nullptr || out == nullptr || count == nullptr || max_extents == 0) {
    return BP_ERR_INVALID;
  }
  try {
    std::vector<bp_extent> extents;
    extents.reserve(std::min<uint32_t>(max_extents, 1024));
    Status st = volume->ref->Extents(offset, length, max_extents, &extents);
    if (!st.ok()) {
      SetPluginError(st.message());
      return st.raw_code();
    }
    const size_t n = std::min<size_t>(extents.size(), max_extents);
    std::copy(extents.begin(), extents.begin() + static_cast<ptrdiff_t>(n), out);
    *count = static_cast<uint32_t>(n);
    return BP_OK;
  } catch (const std::exception& e) {
    SetPluginError(std::string("volume extents: ") + e.what());
    return BP_ERR_PERMANENT;
  }
}

class PluginFrontend final : public FrontendInstance {
 public:
  PluginFrontend(std::shared_ptr<LoadedPlugin> plugin, std::unique_ptr<bp_config> config,
                 std::unique_ptr<bp_volume_api> api, void* handle, std::string label)
      : plugin_(std::move(plugin)),
        fn_(plugin_->frontend()),
        config_(std::move(config)),
        api_(std::move(api)),
        handle_(handle),
        label_(std::move(label)),
        gate_(plugin_->thread_model(), &plugin_->plugin_mutex()) {}

  ~PluginFrontend() override {
    Stop();
    auto lock = gate_.Enter();
    fn_.close(handle_);
  }

  Status Start() override {
    auto lock = gate_.Enter();
    if (started_) return Status::Ok();
    started_ = true;
    ClearPluginError();
    return PluginStatus(fn_.start(handle_), label_ + ": start");
  }

  void Stop() override {
    auto lock = gate_.Enter();
    if (!started_ || stopped_) return;
    stopped_ = true;
    fn_.stop(handle_);
  }

  std::string name() const override { return label_; }

 private:
  std::shared_ptr<LoadedPlugin> plugin_;
  const bp_frontend_plugin& fn_;
  std::unique_ptr<bp_config> config_;   // read by the plugin until close
  std::unique_ptr<bp_volume_api> api_;  // valid until close, as the SDK promises
  void* handle_;
  std::string label_;
  CallGate gate_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace

bp_volume_api MakeVolumeApi(VolumeManager* volumes, uint32_t frontend_minor) {
  bp_volume_api api{};
  api.struct_size = sizeof api;
  api.ctx = volumes;
  api.list = ApiList;
  api.open = ApiOpen;
  api.close = ApiClose;
  api.info = ApiInfo;
  api.submit = frontend_minor >= kIoSizeSinceMinor ? ApiSubmit : ApiSubmit10;
  api.extents = ApiExtents;
  return api;
}

Status OpenPluginFrontend(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                          VolumeManager* volumes, const std::string& label,
                          std::unique_ptr<FrontendInstance>* out) {
  if (volumes == nullptr) return Status::Invalid(label + ": no volume manager to serve");
  auto cfg = std::make_unique<bp_config>(MakePluginConfig(std::move(config)));
  auto api = std::make_unique<bp_volume_api>(MakeVolumeApi(volumes, plugin->abi_minor()));
  void* handle = nullptr;
  BP_RETURN_IF_ERROR(OpenPluginInstance(
      *plugin, label, label + ": open",
      [&](void** h) { return plugin->frontend().open(cfg.get(), api.get(), h); },
      plugin->frontend().close, &handle));
  *out = std::make_unique<PluginFrontend>(std::move(plugin), std::move(cfg), std::move(api), handle,
                                          label);
  return Status::Ok();
}

}  // namespace bp
