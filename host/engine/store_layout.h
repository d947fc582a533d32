// Store layout: the one place that names the objects blockpipe keeps in a store. Every key the
// daemon, fsck, volume copy and preflight build or take apart is made here, as RocksDB's
// filename.cc does for the files of a database, so the table "Objects of a volume" in
// docs/format.md has one home in the code:
//
//   volumes/<name>/meta                                        volume metadata
//   volumes/<name>/owner                                       ownership record
//   volumes/<name>/seg/<seq:016x>                              segment
//   volumes/<name>/ckpt/<seq:016x>                             checkpoint
//   volumes/<name>/quarantine/<kind>-<seq:016x>.<unix seconds> a segment or checkpoint that a
//                                                              writable open moved aside
//   volumes/<name>/snap/<snapshot>                             snapshot record
//   volumes/<name>/refs/<clone uuid:32x>                       a clone's reference to this volume
//
// <seq> is 16 lower-case hex digits, so a listing sorted by key is sorted by sequence.
// Builders take a valid volume name (IsValidVolumeName: callers check names where they enter,
// config, control socket, command line) and never fail. Parsers accept exactly what the builders
// make and nothing else: a wrong prefix, upper-case or missing hex digits, trailing bytes or a
// name that is not valid (a slash in it, say) is refused. Everything here is a pure function of
// its arguments and safe to call from any thread, except ListVolumeNames, which lists a store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// Valid volume names: 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. A valid
// name holds no '/', so a volume's prefix never contains another volume's.
bool IsValidVolumeName(const std::string& name);

// "volumes/": every volume's objects are under it, and nothing else of blockpipe's is.
std::string VolumesPrefix();
// "volumes/<name>/": every object of one volume, and only of that one.
std::string VolumePrefix(const std::string& name);
std::string MetaKey(const std::string& name);                      // "volumes/<name>/meta"
std::string OwnerKey(const std::string& name);                     // "volumes/<name>/owner"
std::string SegmentPrefix(const std::string& name);                // "volumes/<name>/seg/"
std::string SegmentKey(const std::string& name, uint64_t seq);     // "…/seg/<seq:016x>"
std::string CheckpointPrefix(const std::string& name);             // "volumes/<name>/ckpt/"
std::string CheckpointKey(const std::string& name, uint64_t seq);  // "…/ckpt/<seq:016x>"
std::string QuarantinePrefix(const std::string& name);             // "volumes/<name>/quarantine/"
std::string SnapshotPrefix(const std::string& name);               // "volumes/<name>/snap/"
// "volumes/<name>/snap/<snapshot>": snapshot names follow the volume name rule (IsValidVolumeName).
std::string SnapshotKey(const std::string& name, const std::string& snapshot);
std::string CloneRefPrefix(const std::string& name);  // "volumes/<name>/refs/"
// "volumes/<name>/refs/<clone uuid as 32 lower-case hex digits>": the record by which a clone
// keeps the segments of this volume it shares alive (snapshot_format.h).
std::string CloneRefKey(const std::string& name, const std::string& clone_uuid_hex);

// The kinds a quarantine key names.
inline constexpr const char* kQuarantinedSegment = "seg";
inline constexpr const char* kQuarantinedCheckpoint = "ckpt";
// Where a writer moves segments past the valid prefix and checkpoints that fail validation, so
// that opening for writing never destroys bytes an operator may want to inspect or recover, and
// its own put-if-absent of those names cannot collide with them:
// "volumes/<name>/quarantine/<kind>-<seq:016x>.<unix seconds>", kind kQuarantinedSegment or
// kQuarantinedCheckpoint.
std::string QuarantineKey(const std::string& name, const std::string& kind, uint64_t seq,
                          uint64_t unix_seconds);

// Parse "<prefix><16 lower-case hex digits>" (prefix: SegmentPrefix or CheckpointPrefix); false
// for anything else, *seq untouched.
bool ParseSeqKey(const std::string& key, const std::string& prefix, uint64_t* seq);
// Parse SnapshotKey(name, snapshot) with a valid snapshot name; false for anything else.
bool ParseSnapshotKey(const std::string& name, const std::string& key, std::string* snapshot);
// Parse CloneRefKey(name, hex) with exactly 32 lower-case hex digits; false for anything else.
bool ParseCloneRefKey(const std::string& name, const std::string& key, std::string* clone_uuid_hex);
// Parse "volumes/<name>/meta" with a valid name: how a volume is found in a store. False for
// anything else, *name untouched.
bool ParseMetaKey(const std::string& key, std::string* name);
// Parse a key QuarantineKey(name, …) makes: kind "seg" or "ckpt", 16 hex digits, a decimal
// number of seconds without leading zeros. False for anything else, outputs untouched.
bool ParseQuarantineKey(const std::string& name, const std::string& key, std::string* kind,
                        uint64_t* seq, uint64_t* unix_seconds);

// What a key is to the volume `name`.
enum class VolumeKeyKind {
  kOutside,      // not under VolumePrefix(name)
  kMeta,         // MetaKey(name)
  kOwner,        // OwnerKey(name)
  kSegment,      // SegmentKey(name, seq)
  kCheckpoint,   // CheckpointKey(name, seq)
  kQuarantined,  // anything under QuarantinePrefix(name): moved aside, not part of the volume
  kSnapshot,     // SnapshotKey(name, snapshot)
  kCloneRef,     // CloneRefKey(name, clone uuid)
  kUnknown,      // under the volume's prefix but none of the above (not of the volume format)
};
// Classify `key`; for a segment or checkpoint *seq (if not null) gets its sequence number.
// Anything under quarantine/ counts as quarantined, well-formed or not: an operator may have put
// it there, and it is not part of the volume either way.
VolumeKeyKind ClassifyVolumeKey(const std::string& name, const std::string& key,
                                uint64_t* seq = nullptr);

// The key that the object `key` of volume `from` has in volume `to` (a copy under another
// name): the same path below the volume's prefix. False if `key` is not under VolumePrefix(from).
bool RebaseVolumeKey(const std::string& key, const std::string& from, const std::string& to,
                     std::string* out);

// The names of the volumes in `store` (those with a ParseMetaKey key), ascending. The one
// discovery rule of the daemon, preflight and the offline commands. Errors are the listing's,
// with context "listing volumes".
Status ListVolumeNames(ObjectStore& store, std::vector<std::string>* names);

}  // namespace bp
