// CallGate: enforces a plugin's declared thread model around each callback on one handle.
//   SERIALIZE_ALL     one plugin-wide mutex (shared by every handle of the plugin)
//   SERIALIZE_HANDLE  one mutex per handle (this gate)
//   PARALLEL          no lock
// An unknown model is treated as the strictest, SERIALIZE_ALL.
//
// Calls that belong to no handle's gate — a plugin's open (there is no handle yet), a
// handle-less callback such as a codec's rekey, the close of a handle a failed open returned —
// go through CallOutsideHandle, and every adapter opens its instances with OpenPluginInstance,
// so the thread model is applied in this one place.
#pragma once

#include <mutex>
#include <string>

#include <blockpipe/bp_common.h>
#include <spdlog/spdlog.h>

#include "loader/host_services.h"
#include "loader/plugin_library.h"
#include "util/status.h"

namespace bp {

class CallGate {
 public:
  CallGate(uint32_t thread_model, std::mutex* plugin_mutex)
      : plugin_mutex_(plugin_mutex), model_(thread_model) {}

  // Hold the returned lock for the duration of the callback.
  std::unique_lock<std::mutex> Enter() {
    switch (model_) {
      case BP_THREAD_PARALLEL: return {};
      case BP_THREAD_SERIALIZE_HANDLE: return std::unique_lock<std::mutex>(handle_mutex_);
      default: return std::unique_lock<std::mutex>(*plugin_mutex_);
    }
  }

  // The lock for a call outside any handle's gate. With no handle there is no per-handle lock,
  // so every model but PARALLEL serializes such calls plugin-wide: two opens of a
  // SERIALIZE_HANDLE plugin never run at once.
  static std::unique_lock<std::mutex> EnterOutsideHandle(uint32_t thread_model,
                                                         std::mutex* plugin_mutex) {
    if (thread_model == BP_THREAD_PARALLEL) return {};
    return std::unique_lock<std::mutex>(*plugin_mutex);
  }

 private:
  std::mutex* plugin_mutex_;
  std::mutex handle_mutex_;
  uint32_t model_;
};

// Run `call()` — one call into `plugin` that no handle's gate covers — under the plugin's
// thread model, with this thread's plugin error cleared first, and return what it returns.
template <typename Call>
auto CallOutsideHandle(LoadedPlugin& plugin, Call&& call) {
  auto lock = CallGate::EnterOutsideHandle(plugin.thread_model(), &plugin.plugin_mutex());
  ClearPluginError();
  return call();
}

// Open one instance of `plugin`: `open(&handle)` calls the plugin's open callback and returns its
// int. A failure is PluginStatus(rc, error_context); a handle that a failed open returned anyway
// is closed with `close` (logged, since the ABI says a failed open leaves it NULL); a success
// without a handle is Permanent("<what> returned no handle"). On success *handle is the new
// instance's handle, which the caller hands to a CallGate. Open and close run through
// CallOutsideHandle.
template <typename Open>
Status OpenPluginInstance(LoadedPlugin& plugin, const std::string& error_context,
                          const std::string& what, Open&& open, void (*close)(void* handle),
                          void** handle) {
  void* opened = nullptr;
  const int rc = CallOutsideHandle(plugin, [&] { return open(&opened); });
  Status st = PluginStatus(rc, error_context);
  if (!st.ok()) {
    if (opened != nullptr) {
      spdlog::warn("{} plugin {} returned a handle from a failed open; closing it",
                   KindName(plugin.kind()), plugin.name());
      CallOutsideHandle(plugin, [&] { close(opened); });
    }
    return st;
  }
  if (opened == nullptr) return Status::Permanent(what + " returned no handle");
  *handle = opened;
  return Status::Ok();
}

}  // namespace bp
