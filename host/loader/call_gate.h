// CallGate: enforces a plugin's declared thread model around each callback on one handle.
//   SERIALIZE_ALL     one plugin-wide mutex (shared by every handle of the plugin)
//   SERIALIZE_HANDLE  one mutex per handle (this gate)
//   PARALLEL          no lock
// An unknown model is treated as the strictest, SERIALIZE_ALL.
#pragma once

#include <mutex>

#include <blockpipe/bp_common.h>

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

 private:
  std::mutex* plugin_mutex_;
  std::mutex handle_mutex_;
  uint32_t model_;
};

}  // namespace bp
