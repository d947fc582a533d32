// MemoryStore: an ObjectStore held in process memory, for unit tests and fault injection. Beyond
// the plain store it can fail the next N operations of a kind, delay them, hold puts until
// released (to line up concurrent flushes), store a truncated object while reporting success
// (a torn write), and pretend it lacks put-if-absent or conditional put. Version tags are "v"
// plus a store-wide counter, new on every write. With SetDeferSync it behaves like a local
// store with deferred durability (BP_BACKEND_CAP_DEFER_SYNC): it remembers which objects were
// put with PutPartsDeferSync and not synced since, and LosePower does to them what a crash of
// the machine may do. Every method is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "pipeline/object_store.h"

namespace bp {

class MemoryStore : public ObjectStore {
 public:
  enum class Op { kGet, kRead, kPut, kDelete, kList, kSync };

  MemoryStore();

  Status Get(const std::string& key, Bytes* out) override BP_EXCLUDES(mu_);
  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override BP_EXCLUDES(mu_);
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override
      BP_EXCLUDES(mu_);
  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override BP_EXCLUDES(mu_);
  Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                    const std::string& expected_tag, std::string* new_tag) override
      BP_EXCLUDES(mu_);
  Status Delete(const std::string& key) override BP_EXCLUDES(mu_);
  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override BP_EXCLUDES(mu_);
  Status Sync(const std::vector<std::string>& keys) override BP_EXCLUDES(mu_);
  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override BP_EXCLUDES(mu_);
  uint64_t Capabilities() const override BP_EXCLUDES(mu_);
  // It copies every put into its map anyway, so joining parts first costs nothing extra.
  bool TakesParts() const override { return true; }
  std::string Describe() const override { return "memory://"; }

  // ---- fault injection ----
  // The next `count` operations of `op` whose key contains `key_part` fail with `status`.
  void FailNext(Op op, Status status, int count = 1, const std::string& key_part = "")
      BP_EXCLUDES(mu_);
  // The next put (plain or put-if-match) whose key contains key_part stores the object and then
  // reports `status`, as when a reply is lost after the store committed. Fault hooks of kPut
  // and kGet apply to PutIfMatch and GetTagged too.
  void FailNextPutAfterStoring(Status status, const std::string& key_part = "") BP_EXCLUDES(mu_);
  // Every operation of `op` sleeps this long first (0 to stop).
  void SetDelay(Op op, uint32_t milliseconds) BP_EXCLUDES(mu_);
  // Puts whose key contains key_part wait (bounded by the timeout, then fail Transient) until
  // ResumePuts.
  void PausePuts(const std::string& key_part = "") BP_EXCLUDES(mu_);
  void ResumePuts() BP_EXCLUDES(mu_);
  // Number of puts currently waiting in PausePuts.
  int PausedPuts() const BP_EXCLUDES(mu_);
  // The next put whose key contains key_part stores only its first `keep` bytes and succeeds.
  void TruncateNextPut(uint64_t keep, const std::string& key_part = "") BP_EXCLUDES(mu_);
  // Clear the BP_BACKEND_CAP_PUT_IF_ABSENT bit (puts then ignore if_absent, like a plain store).
  void SetPutIfAbsentSupported(bool supported) BP_EXCLUDES(mu_);
  // Clear BP_BACKEND_CAP_CONDITIONAL_PUT (GetTagged/PutIfMatch then answer Unsupported).
  void SetConditionalPutSupported(bool supported) BP_EXCLUDES(mu_);
  // Declare BP_BACKEND_CAP_LOCAL_READS (off by default: a stand-in for a remote store).
  void SetLocalReads(bool local) BP_EXCLUDES(mu_);
  // Declare BP_BACKEND_CAP_DEFER_SYNC (off by default: every put is durable).
  void SetDeferSync(bool defer) BP_EXCLUDES(mu_);
  // What a crash of the machine does to the objects put with deferred durability and not
  // synced since: `fate(key)` picks, per object, 0 = it survived, 1 = it is gone, 2 = it is
  // torn (its bytes after the first 4 KiB are zeros, the size unchanged: a file whose name and
  // first pages reached the disk and whose other pages did not). Afterwards no object is
  // unsynced. Returns how many were lost or torn.
  size_t LosePower(const std::function<int(const std::string& key)>& fate) BP_EXCLUDES(mu_);
  // Keys put with deferred durability and not synced since, ascending.
  std::vector<std::string> UnsyncedKeys() const BP_EXCLUDES(mu_);
  // Run `hook` (once, without the lock) inside the next PutIfMatch of a key containing key_part,
  // after its fault hooks and before it compares tags: a racing writer's window.
  void BeforeNextPutIfMatch(std::function<void()> hook, const std::string& key_part = "")
      BP_EXCLUDES(mu_);

  // ---- direct access for tests ----
  bool Has(const std::string& key) const BP_EXCLUDES(mu_);
  Bytes Peek(const std::string& key) const BP_EXCLUDES(mu_);        // empty when absent
  void Poke(const std::string& key, Bytes bytes) BP_EXCLUDES(mu_);  // create/replace, no checks
  void Erase(const std::string& key) BP_EXCLUDES(mu_);
  std::vector<std::string> Keys(const std::string& prefix = "") const BP_EXCLUDES(mu_);
  uint64_t CountOps(Op op) const BP_EXCLUDES(mu_);  // successful and failed operations so far

 private:
  struct Failure {
    Op op;
    Status status;
    int remaining;
    std::string key_part;
  };
  struct Object {
    Bytes bytes;
    uint64_t version = 0;
  };
  // Applies delays and scheduled failures (it sleeps, so never with the lock held).
  Status Inject(Op op, const std::string& key) BP_EXCLUDES(mu_);
  // Waits out PausePuts (releasing the lock while it waits).
  Status WaitWhilePaused(const std::string& key) BP_REQUIRES(mu_);
  // Store the bytes (honouring TruncateNextPut) and report a scheduled after-put failure.
  Status StoreLocked(const std::string& key, const void* data, uint64_t length) BP_REQUIRES(mu_);
  void SetLocked(const std::string& key, Bytes bytes) BP_REQUIRES(mu_);

  mutable Mutex mu_;
  CondVar resume_cv_;  // puts_paused_ became false (waits on mu_)
  std::map<std::string, Object> objects_ BP_GUARDED_BY(mu_);
  uint64_t next_version_ BP_GUARDED_BY(mu_) = 1;
  std::vector<Failure> failures_ BP_GUARDED_BY(mu_);
  uint32_t delay_ms_[6] BP_GUARDED_BY(mu_) = {0, 0, 0, 0, 0, 0};
  uint64_t op_counts_[6] BP_GUARDED_BY(mu_) = {0, 0, 0, 0, 0, 0};
  bool defer_sync_ BP_GUARDED_BY(mu_) = false;
  std::set<std::string> unsynced_ BP_GUARDED_BY(mu_);
  bool puts_paused_ BP_GUARDED_BY(mu_) = false;
  std::string pause_key_part_ BP_GUARDED_BY(mu_);
  int paused_puts_ BP_GUARDED_BY(mu_) = 0;
  bool truncate_armed_ BP_GUARDED_BY(mu_) = false;
  uint64_t truncate_keep_ BP_GUARDED_BY(mu_) = 0;
  std::string truncate_key_part_ BP_GUARDED_BY(mu_);
  bool put_if_absent_ BP_GUARDED_BY(mu_) = true;
  bool conditional_put_ BP_GUARDED_BY(mu_) = true;
  bool local_reads_ BP_GUARDED_BY(mu_) = false;
  std::function<void()> before_put_if_match_ BP_GUARDED_BY(mu_);
  std::string before_put_if_match_key_part_ BP_GUARDED_BY(mu_);
  std::vector<Failure> after_put_failures_ BP_GUARDED_BY(mu_);
};

}  // namespace bp
