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
//
// Which mutex a call takes (if any) is decided at run time from the thread model, which Clang's
// thread-safety analysis cannot follow, so Pass (the held gate) is exempt from it. Nothing in the
// host is BP_GUARDED_BY these mutexes: they guard the plugin's own state, which the host never
// touches.
#pragma once

#include <string>

#include <blockpipe/bp_common.h>
#include <blockpipe/bp_thread_safety.h>
#include <spdlog/spdlog.h>

#include "loader/host_services.h"
#include "loader/plugin_library.h"
#include "util/status.h"

namespace bp {

class CallGate {
 public:
  // The gate held by one call; released at end of scope.
  class Pass {
   public:
    // mu may be null (a PARALLEL plugin): then nothing is held.
    explicit Pass(Mutex* mu) BP_NO_THREAD_SAFETY_ANALYSIS : mu_(mu) {
      if (mu_ != nullptr) mu_->Lock();
    }
    ~Pass() BP_NO_THREAD_SAFETY_ANALYSIS {
      if (mu_ != nullptr) mu_->Unlock();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

   private:
    Mutex* const mu_;
  };

  CallGate(uint32_t thread_model, Mutex* plugin_mutex)
      : plugin_mutex_(plugin_mutex), model_(thread_model) {}

  // Hold the returned pass for the duration of the callback.
  [[nodiscard]] Pass Enter() {
    switch (model_) {
      case BP_THREAD_PARALLEL: return Pass(nullptr);
      case BP_THREAD_SERIALIZE_HANDLE: return Pass(&handle_mutex_);
      default: return Pass(plugin_mutex_);
    }
  }

  // The lock for a call outside any handle's gate. With no handle there is no per-handle lock,
  // so every model but PARALLEL serializes such calls plugin-wide: two opens of a
  // SERIALIZE_HANDLE plugin never run at once.
  [[nodiscard]] static Pass EnterOutsideHandle(uint32_t thread_model, Mutex* plugin_mutex) {
    return Pass(thread_model == BP_THREAD_PARALLEL ? nullptr : plugin_mutex);
  }

 private:
  Mutex* plugin_mutex_;
  Mutex handle_mutex_;
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
