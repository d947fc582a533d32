// Completions: request completions collected while the volume's lock is held and delivered
// after it is released, so a frontend's done callback never runs under the engine's lock (it
// may submit the next request at once). Declare it before the lock: it fires on destruction,
// after the lock's own destructor has released the mutex. Not thread-safe.
#pragma once

#include <utility>
#include <vector>

#include <blockpipe/bp_frontend.h>

namespace bp {

class Completions {
 public:
  Completions() = default;
  Completions(const Completions&) = delete;
  Completions& operator=(const Completions&) = delete;
  ~Completions() { Fire(); }

  void Add(bp_io* io, int error) { items_.emplace_back(io, error); }
  // Deliver what was collected so far (called by the destructor too).
  void Fire() {
    auto items = std::move(items_);
    items_.clear();
    for (auto& [io, error] : items) io->done(io, error);
  }

 private:
  std::vector<std::pair<bp_io*, int>> items_;
};

}  // namespace bp
