// LocalJournal: the host's local durability tier ([engine] durability = "local"). A FLUSH or
// FUA is acknowledged once the segments it covers are committed here, in a SQLite database on
// local disk (WAL, synchronous=FULL, one transaction per group commit); the segments still
// upload to the object store in the background, and each leaves the journal once the store has
// acknowledged it. After a crash the daemon replays, before serving, the journaled segments the
// store lacks (Volume::Recover), so a flushed write is never lost on the same host.
//
// A row holds one of two things, each after the volume's codec chain (an encrypted volume's
// journal never holds plaintext) and with a CRC-32C of the bytes:
//  - a *segment image*: the segment object exactly as it will be uploaded, keyed by the
//    volume's uuid and the segment's seq;
//  - a *delta* (part 1, 2, …) of a segment still being filled: the blocks and ranges its
//    buffer changed since the previous delta, encoded as a segment object of the same seq.
//    A FLUSH of a few KiB then commits a few KiB here and the buffer keeps filling, so the
//    store still gets one full segment per segment size, not one tiny segment per FLUSH.
//    Replay applies a seq's deltas in order to an empty buffer and uploads the segment that
//    buffer makes. A seq's image, once journaled, replaces its deltas.
// A row whose checksum fails is treated as the end of the journal for that volume: replay
// stops before it (a torn or damaged tail replays up to its last valid commit; SQLite's WAL
// itself drops a torn commit).
//
// The size bound (`[journal] max_size`) is a promise about disk use, never a reason to drop
// anything: Reserve refuses a batch that would take the journal past it, and the volume then
// lets its FLUSH wait for the uploads instead (backpressure). A full disk makes Append fail
// (Transient, "the disk is full"), which fails the FLUSH: errors, never a lost acknowledged
// write. Append also refuses, before writing anything, a commit that would leave its file
// system without the room the journal needs to shrink again: forgetting uploaded rows writes
// to the WAL, and the checkpoint after it grows the database file to the size committed so far.
// Without that room a journal that filled its disk could never drop a row again. (Dropped rows
// leave free pages that later rows reuse; the file itself does not shrink.)
//
// One journal per data dir, shared by every volume of the daemon. Thread-safe: every method
// takes the journal's own mutex (SQLite calls are serialized on one connection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "engine/object_format.h"
#include "pipeline/object_store.h"
#include "util/sqlite_db.h"
#include "util/status.h"

namespace bp {

// The journal database's file name inside its directory.
inline constexpr const char* kJournalFileName = "journal.db";

struct JournalBacklog {
  uint64_t segments = 0;  // segments (whole or as deltas) the store has not acknowledged yet
  uint64_t bytes = 0;     // the encoded size of their rows
};

// One journaled row as listed (no image).
struct JournalRow {
  std::string volume;
  Uuid uuid{};
  uint64_t seq = 0;
  uint32_t delta = 0;  // 0: the segment's image; k >= 1: its k-th delta
  uint64_t size = 0;
};

class LocalJournal {
 public:
  // Open (creating dir and database when absent) the journal in `dir`. max_bytes: the bound on
  // the encoded bytes it holds (0: unbounded).
  static Status Open(const std::string& dir, uint64_t max_bytes,
                     std::unique_ptr<LocalJournal>* out);
  // Open an existing journal for checking (fsck); NotFound when `dir` holds none.
  static Status OpenExisting(const std::string& dir, std::unique_ptr<LocalJournal>* out);

  const std::string& path() const { return path_; }
  uint64_t max_bytes() const { return max_bytes_; }

  // Reserve room for `bytes` more: false when that would pass the bound (unless the journal is
  // empty and nothing else is reserved: one batch larger than the bound still goes in, or a
  // flush could never complete ahead of its upload). Release with Append or Unreserve.
  bool Reserve(uint64_t bytes) BP_EXCLUDES(mu_);
  void Unreserve(uint64_t bytes) BP_EXCLUDES(mu_);

  struct Segment {
    uint64_t seq = 0;
    ObjectParts parts;   // the encoded object, in order
    uint32_t delta = 0;  // 0: the segment's image; k >= 1: its k-th delta
  };
  // Commit `segments` of volume `uuid` (named `volume`, for messages and fsck) in one
  // transaction: durable when this returns Ok. `reserved`: bytes Reserve granted for them
  // (released either way). A row already present is replaced; a segment's image also drops
  // the deltas of that seq.
  Status Append(const Uuid& uuid, const std::string& volume, const std::vector<Segment>& segments,
                uint64_t reserved) BP_EXCLUDES(mu_);
  // Forget every segment (image and deltas) of a volume at or below `through` (all:
  // UINT64_MAX).
  Status DropThrough(const Uuid& uuid, uint64_t through) BP_EXCLUDES(mu_);

  // The rows of volume `uuid` (of every volume when uuid is null), by seq and then delta.
  Status List(const Uuid* uuid, std::vector<JournalRow>* out) BP_EXCLUDES(mu_);
  // The bytes of one row (delta 0: the segment's image), its checksum verified (Corrupt when
  // it fails, NotFound when the row is gone).
  Status Read(const Uuid& uuid, uint64_t seq, uint32_t delta, Bytes* image) BP_EXCLUDES(mu_);

  JournalBacklog Backlog() const BP_EXCLUDES(mu_);

 private:
  LocalJournal(std::string path, uint64_t max_bytes, std::unique_ptr<SqliteDb> db)
      : path_(std::move(path)), max_bytes_(max_bytes), db_(std::move(db)) {}
  Status Init() BP_EXCLUDES(mu_);
  Status Recount() BP_REQUIRES(mu_);
  // Transient "the disk is full" when committing `bytes` more would leave the journal's file
  // system without room to drop rows and checkpoint afterwards.
  Status CheckRoom(uint64_t bytes) BP_REQUIRES(mu_);
  // The integer a `PRAGMA name` query returns.
  Status Pragma(const char* name, int64_t* value) const BP_REQUIRES(mu_);

  const std::string path_;
  const uint64_t max_bytes_;
  mutable Mutex mu_;
  std::unique_ptr<SqliteDb> db_ BP_GUARDED_BY(mu_);
  SqliteStatement insert_ BP_GUARDED_BY(mu_);
  SqliteStatement insert_delta_ BP_GUARDED_BY(mu_);
  SqliteStatement drop_deltas_ BP_GUARDED_BY(mu_);
  JournalBacklog backlog_ BP_GUARDED_BY(mu_);
  uint64_t reserved_ BP_GUARDED_BY(mu_) = 0;
};

// What `blockpipe fsck` reports about a journal.
struct JournalCheck {
  JournalBacklog backlog;
  uint64_t volumes = 0;
  std::vector<std::string> problems;  // empty: clean
};
// Check every row: its checksum, its object header (a segment of that uuid and seq, of exactly
// the stored length), and per volume the continuity of the seqs and of each seq's deltas.
Status CheckJournal(LocalJournal& journal, JournalCheck* out);

}  // namespace bp
