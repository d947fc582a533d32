/*
** blockpipe plugin SDK — optional helper: lock rules the compiler checks (C++ only).
**
** Not part of the ABI: nothing here crosses the plugin boundary, and a plugin that never
** includes this header loses nothing. It gives C++ plugin authors (and the host, which uses it
** for its own locks) Clang's thread-safety analysis: a member declared
**
**     bp::Mutex mu_;
**     uint64_t next_seq_ BP_GUARDED_BY(mu_);
**     void SealLocked() BP_REQUIRES(mu_);
**
** is then rejected at compile time when it is touched without mu_ held, or when SealLocked is
** called without it. Build with clang and -Wthread-safety (the project's CI adds -Werror). With
** other compilers every macro expands to nothing and the classes are plain std::mutex wrappers.
**
** THE PIECES
**   BP_CAPABILITY / BP_SCOPED_CAPABILITY   mark a lock type / an RAII holder
**   BP_GUARDED_BY(mu)                      a member read or written only with mu held
**   BP_PT_GUARDED_BY(mu)                   the pointee of a pointer member, likewise
**   BP_REQUIRES(mu...)                     the caller holds mu
**   BP_EXCLUDES(mu...)                     the caller must NOT hold mu (the function takes it)
**   BP_ACQUIRE / BP_RELEASE                the function takes / drops the lock
**   BP_TRY_ACQUIRE(ok, mu...)              the function takes the lock when it returns ok
**   BP_ASSERT_HELD(mu)                     tells the analysis mu is held (checked at run time
**                                          only where the wrapper can)
**   BP_NO_THREAD_SAFETY_ANALYSIS           opt a function out; say why in a comment
**   bp::Mutex, bp::MutexLock, bp::CondVar  an annotated mutex, its scoped holder (which may be
**                                          unlocked and relocked inside its scope), and a
**                                          condition variable whose waits name the Mutex held
**
** THREAD RULES
**   bp::Mutex is not recursive. A CondVar wait releases and retakes the Mutex it is given,
**   which the caller holds. All of it is as thread-safe as std::mutex.
*/
#ifndef BLOCKPIPE_BP_THREAD_SAFETY_H
#define BLOCKPIPE_BP_THREAD_SAFETY_H

#if defined(__clang__)
#define BP__TSA(x) __attribute__((x))
#else
#define BP__TSA(x)
#endif

#define BP_CAPABILITY(name) BP__TSA(capability(name))
#define BP_SCOPED_CAPABILITY BP__TSA(scoped_lockable)
#define BP_GUARDED_BY(mu) BP__TSA(guarded_by(mu))
#define BP_PT_GUARDED_BY(mu) BP__TSA(pt_guarded_by(mu))
#define BP_REQUIRES(...) BP__TSA(requires_capability(__VA_ARGS__))
#define BP_EXCLUDES(...) BP__TSA(locks_excluded(__VA_ARGS__))
#define BP_ACQUIRE(...) BP__TSA(acquire_capability(__VA_ARGS__))
#define BP_RELEASE(...) BP__TSA(release_capability(__VA_ARGS__))
#define BP_TRY_ACQUIRE(...) BP__TSA(try_acquire_capability(__VA_ARGS__))
#define BP_ASSERT_HELD(mu) BP__TSA(assert_capability(mu))
#define BP_RETURN_CAPABILITY(mu) BP__TSA(lock_returned(mu))
#define BP_NO_THREAD_SAFETY_ANALYSIS BP__TSA(no_thread_safety_analysis)

#ifdef __cplusplus
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace bp {

class BP_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() BP_ACQUIRE() { mu_.lock(); }
  void Unlock() BP_RELEASE() { mu_.unlock(); }
  /* Takes the mutex if it is free, without waiting; true if taken. */
  bool TryLock() BP_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  /* For the analysis only: states that the caller holds this mutex (e.g. in a callback the
  ** analysis cannot follow). No run-time check. */
  void AssertHeld() const BP_ASSERT_HELD(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

/* Holds a Mutex for its scope. Unlock() and Lock() drop and retake it inside the scope (for a
** stretch of work that must run without the lock); the destructor releases it only if held. */
class BP_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) BP_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() BP_RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() BP_RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  void Lock() BP_ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

/* A condition variable. Each wait names the Mutex it releases and retakes, which the caller
** holds (checked by the analysis at the call site); it must be the same Mutex for every wait
** on one CondVar (as with std::condition_variable). */
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) BP_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  /* Waits until `until` at the latest; true if woken before it (maybe spuriously). */
  template <class Clock, class Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& until) BP_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, until) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace bp
#endif /* __cplusplus */

#endif /* BLOCKPIPE_BP_THREAD_SAFETY_H */
