// VolumeCopier: copies one volume's objects from one object store to another, byte for byte, so
// a volume moves between backends (a directory, S3, Azure …) without being decoded: the codec
// chain and each codec's header travel in the metadata, and an encrypted volume arrives still
// encrypted under the same password. The copy is built to be interrupted and rerun:
//
//  * Segments and checkpoints go first, with bounded parallelism and put-if-absent; the `meta`
//    object, which is what makes a volume exist, is written last. Until then the destination
//    holds objects but no volume that a daemon would discover or open.
//  * A rerun reuses every object already at the destination whose content is identical
//    (compared byte for byte, not by name or size) and removes leftovers of an earlier attempt
//    that the source no longer has (recognised by the volume's uuid in their header). Anything
//    else already there — another volume's objects, a different object under one of our names —
//    stops the copy before a byte is written.
//  * The source is listed again after the data is copied and before `meta` is written; if its
//    objects changed (a daemon still writing), the copy fails without creating the volume.
//  * At the end both sides are listed and compared by name and size.
//
// A volume may get a new name at the destination: the name lives only in the object keys and
// in the plain metadata body, and no codec binds it (authenticating codecs bind the uuid, which
// is kept). A store must never hold two volumes with one uuid — the engine's caches are keyed by
// uuid — so a destination that already has this uuid under another name is refused.
//
// Thread-safe to poll: Progress() may be called from any thread while Run() works.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

struct VolumeCopyOptions {
  std::string name;                   // the volume in the source store
  std::string destination_name;       // its name at the destination; empty: the same name
  uint32_t jobs = 4;                  // objects in flight at once, 1–64
  bool include_quarantine = false;    // also copy volumes/<name>/quarantine/*
  uint64_t max_bytes_per_second = 0;  // pace writes to the destination; 0: unlimited
};

enum class CopyPhase {
  kPlanning,          // listing both sides, reading the metadata
  kCopying,           // segments and checkpoints
  kRecheckingSource,  // listing the source again
  kWritingMeta,
  kVerifying,  // listing both sides again
  kDone,
};
const char* CopyPhaseName(CopyPhase phase);

struct VolumeCopyProgress {
  CopyPhase phase = CopyPhase::kPlanning;
  uint64_t objects_total = 0, objects_done = 0;  // done: written or found identical
  uint64_t bytes_total = 0, bytes_done = 0;
};

struct VolumeCopyReport {
  std::string source, destination;           // store descriptions
  std::string name, destination_name, uuid;  // uuid in hex
  uint64_t objects = 0, bytes = 0;           // the copied volume, meta included
  uint64_t objects_written = 0, bytes_written = 0;
  uint64_t objects_reused = 0, bytes_reused = 0;  // already there with identical content
  uint64_t leftovers_removed = 0;                 // stale objects of an earlier interrupted copy
  uint64_t quarantine_left_out = 0;  // quarantined objects not copied (include_quarantine off)
  bool already_complete = false;     // the destination already held this exact copy
  bool destination_lacks_put_if_absent = false;
};

class VolumeCopier {
 public:
  // Both stores must outlive the copier. Nothing is read or written before Run().
  VolumeCopier(ObjectStore& source, ObjectStore& destination, VolumeCopyOptions options);

  // Copy, then verify. Errors say what was found and what (if anything) was left behind;
  // *report is filled as far as the copy got.
  Status Run(VolumeCopyReport* report);

  VolumeCopyProgress Progress() const;

 private:
  struct Plan;
  Status MakePlan(Plan* plan, VolumeCopyReport* report);
  Status CopyObjects(const Plan& plan, VolumeCopyReport* report);
  Status RecheckSource(const Plan& plan);
  Status WriteMeta(const Plan& plan, VolumeCopyReport* report);
  Status Verify(const Plan& plan);

  ObjectStore& source_;
  ObjectStore& destination_;
  VolumeCopyOptions options_;

  std::atomic<CopyPhase> phase_{CopyPhase::kPlanning};
  std::atomic<uint64_t> objects_total_{0}, objects_done_{0};
  std::atomic<uint64_t> bytes_total_{0}, bytes_done_{0};
};

}  // namespace bp
