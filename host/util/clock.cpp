// RealClock: the steady and system clocks of the machine (see clock.h).
#include "util/clock.h"

namespace bp {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  uint64_t UnixMs() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
  void WaitUntil(CondVar* cv, Mutex* mu, TimePoint until) override BP_REQUIRES(mu) {
    cv->WaitUntil(mu, until);
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock clock;
  return &clock;
}

}  // namespace bp
