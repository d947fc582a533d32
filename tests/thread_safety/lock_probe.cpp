// Compiled, never run, by the thread-safety-* tests (thread_safety.cmake) with the very flags the
// host libraries get from BLOCKPIPE_THREAD_SAFETY. BP_PROBE selects one function: 0 is correct
// locking and must compile cleanly; every other value breaks one rule and must be rejected with
// an error. If the flags stop reaching the host (or stop being errors, or clang stops checking
// the SDK's annotations), these tests fail instead of the checking silently ending.
#include <blockpipe/bp_thread_safety.h>

namespace {

class Counter {
 public:
  void Add(int n) BP_EXCLUDES(mu_) {
#if BP_PROBE == 0
    bp::MutexLock lock(&mu_);
    AddLocked(n);
    lock.Unlock();  // a stretch without the lock ...
    lock.Lock();    // ... and back
    value_ += n;
    while (value_ < 0) changed_.Wait(&mu_);
#elif BP_PROBE == 1
    value_ += n;  // no lock held
#elif BP_PROBE == 2
    AddLocked(n);  // requires mu_
#elif BP_PROBE == 3
    bp::MutexLock lock(&mu_);
    lock.Unlock();
    value_ += n;  // dropped before the access
#elif BP_PROBE == 4
    (void)n;
    changed_.Wait(&mu_);  // a wait needs the lock held
#endif
  }

 private:
  void AddLocked(int n) BP_REQUIRES(mu_) { value_ += n; }

  bp::Mutex mu_;
  bp::CondVar changed_;  // waits on mu_
  int value_ BP_GUARDED_BY(mu_) = 0;
};

}  // namespace

int LockProbe(int n) {
  Counter c;
  c.Add(n);
  return 0;
}
