// Volume check (`blockpipe fsck`): a read-only inspection of one volume's objects that reads and
// authenticates everything the volume could need — every checkpoint kept in the store, the
// header and map of every segment, and every unit the recovered map still points to, each
// decoded through the codec chain — and reports every problem it finds with the object's name
// and the logical range of the volume it affects, instead of stopping at the first one the way
// opening a volume does.
//
// It never writes: the store it is given is wrapped so that a put or delete would fail, and it
// does none of the repairs a writable open makes (moving damaged objects to quarantine/,
// reclaiming dead segments, writing checkpoints). It does not use Volume at all, only the
// object-format readers recovery uses, so the normal open path is untouched by it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/volume_meta.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

struct FsckProblem {
  std::string object;  // the object's key
  std::string what;    // what is wrong with it, and what that means for the volume
  // Byte ranges of the volume whose data depends on the object ("0-65535"), when known.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [first byte, last byte]
};

struct FsckReport {
  std::string volume;
  std::vector<FsckProblem> problems;
  std::vector<std::string> notes;  // worth knowing, not damage (e.g. quarantined objects)
  uint64_t checkpoints_checked = 0;
  uint64_t segments_checked = 0;
  uint64_t units_checked = 0;
  uint64_t stored_bytes_checked = 0;  // bytes of units read
  uint64_t logical_bytes_mapped = 0;  // bytes of the volume that hold data
  uint64_t newest_checkpoint = 0;     // seq of the checkpoint recovery would start from, 0 none
  uint64_t last_segment = 0;          // end of the valid segment prefix
  uint64_t snapshots_checked = 0;     // snapshot records whose map was rebuilt
  uint64_t clone_refs_checked = 0;    // clone reference records held by the volume
  bool ok() const { return problems.empty(); }
};

struct FsckOptions {
  uint32_t threads = 4;  // unit reads in parallel
  // Called now and then with a one-line progress message (may be empty).
  std::function<void(const std::string&)> progress;
  // Opens the codec chains of a clone's bases (their segments are read with them). Without it
  // a clone's shared segments are not checked (a problem is reported).
  CodecFactory* codecs = nullptr;
};

// Check one volume whose metadata and codec chain are already open. Returns an error only when
// the check itself cannot proceed (the store cannot be listed); damage goes into *report.
Status CheckVolume(ObjectStore& store, const VolumeMeta& meta, const CodecChain& chain,
                   const FsckOptions& options, FsckReport* report);

// The store seen through a filter that refuses every put and delete (Permanent), for fsck and
// other inspections that must be read-only by construction.
std::shared_ptr<ObjectStore> ReadOnlyView(std::shared_ptr<ObjectStore> store);

}  // namespace bp
