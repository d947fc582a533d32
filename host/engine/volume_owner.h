// Volume ownership: the advisory record `volumes/<name>/owner` that lets the daemon which opened
// a volume for writing keep it. A writable open reads the record and takes the volume when there
// is none, when it was released at a clean close, or when it names this writer's own data dir
// (a restart after a crash, kill -9 included); an active record of another writer refuses the
// open with a message naming that writer, unless the operator asked to take the volume over.
// Like ZFS's hostid check on pool import it costs a GET and a PUT per open and close, never a
// heartbeat. The record is created with put-if-absent and replaced only with put-if-match
// against the version read (BP_BACKEND_CAP_CONDITIONAL_PUT), so of two openers racing for it —
// both claiming, both taking over, or one releasing while another takes over — exactly one
// wins and the other is refused. On a store without conditional put (allowed only with
// [engine] allow_unfenced) the replace is a plain put and the race is open again; the
// put-if-absent of segments (volume_commit.cpp) still fences a second writer where it exists.
// The byte layout is in docs/format.md ("Volume ownership"); the key is OwnerKey (store_layout.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "engine/store_layout.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// The writer opening volumes: the stable id of its data dir, plus where it runs (for messages).
struct WriterIdentity {
  std::string writer_id;  // 32 hex digits
  std::string hostname;
  uint32_t pid = 0;
  // The daemon acknowledges flushes from its local journal ([engine] durability = "local"):
  // recorded in its claims, so another data dir does not take the volume over lightly.
  bool local_journal = false;

  // This process: hostname and pid filled in; a random writer id when `writer_id` is empty.
  static WriterIdentity ForThisProcess(const std::string& writer_id);
};

enum class OwnerState : uint32_t {
  kActive = 1,    // a daemon has the volume open for writing
  kReleased = 2,  // its last writer closed it cleanly; anyone may take it
};

struct OwnerRecord {
  OwnerState state = OwnerState::kActive;
  std::string writer_id;
  // Random per claim: tells this open's record from one an earlier run of the same data dir
  // left, so a close releases only a record that is still its own.
  uint64_t claim_id = 0;
  std::string hostname;
  uint32_t pid = 0;
  uint64_t since_unix_ms = 0;  // active: when it was claimed; released: when it was released
  // The writer runs with the local journal: flushed writes may be only in its data dir's
  // journal until uploaded (extension kOwnerExtLocalJournal).
  bool local_journal = false;
  std::vector<Extension> extensions;  // others, kept as read
};

// The whole object (header + plain body); the header carries the volume's uuid.
Bytes EncodeOwnerObject(const Uuid& uuid, const OwnerRecord& record);
// Corrupt/Unsupported with a reason.
Status DecodeOwnerObject(const uint8_t* p, size_t n, Uuid* uuid, OwnerRecord* out);

// What the store holds for a volume, as a writable open sees it.
struct OwnerFinding {
  bool present = false;
  Status unreadable;     // present, but the record does not decode (damage, newer format)
  bool foreign = false;  // a readable record of another volume of that name (a leftover)
  OwnerRecord record;    // when present and readable
  std::string tag;       // its version tag, when present and the store has conditional put
};

// Owner-record extension tag: the writer runs with the local journal (no bytes). Not critical: a
// blockpipe that predates it reads the record as before (and would let --take-over through
// without --force).
constexpr uint16_t kOwnerExtLocalJournal = 1;

enum class OwnerDecision {
  kTake,      // no record, released, a leftover, or this writer's own data dir
  kTakeOver,  // another writer's active (or unreadable) record, overridden on purpose
  kRefuse,    // another writer's active (or unreadable) record
};

// The rule, without I/O. An active record of another writer that runs with the local journal
// is taken over only with force as well as take_over (its journal may hold flushed writes).
OwnerDecision DecideOwnership(const OwnerFinding& found, const std::string& writer_id,
                              bool take_over, bool force = false);

// True when `take_over` (volume names or "all") covers volume `name`.
bool TakeOverCovers(const std::vector<std::string>& take_over, const std::string& name);

// "host db1, data dir id 3f…, pid 4242, since 2024-05-01 12:00:00 UTC (3 min ago)"
std::string DescribeOwner(const OwnerRecord& record);

// Read the record of volume `name` (uuid: the volume's), with its version tag when the store
// has conditional put. Only store errors other than a missing object fail; a damaged record is
// reported in the finding.
Status ReadOwner(ObjectStore& store, const std::string& name, const Uuid& uuid,
                 OwnerFinding* found);

// The refusal for a writable open, or Ok when DecideOwnership would let `me` take the volume.
// Reads only.
Status CheckOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                      const WriterIdentity& me, bool take_over, bool force = false);

// Take the volume for a writable open: decide, then write an active record for `me`: put-if-
// absent when there was none, put-if-match against the version decided on when there was one
// (plain puts on a store that lacks either). Precondition with the refusal message when another
// writer holds it — also when another opener won a race for the record between our read and
// our write: take_over overrides only the owner seen before the race, never the winner.
// *claimed receives the record written.
Status ClaimOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                      const WriterIdentity& me, bool take_over, OwnerRecord* claimed,
                      bool force = false);

// At a clean close: mark the record released if it is still exactly our claim (a writer that
// took the volume over since, or a newer run of this data dir, is left alone). The release is
// a put-if-match against the version that showed our claim, so a take-over that lands between
// the read and the write is never undone. Logs the outcome; errors are returned for the log,
// and are not fatal.
Status ReleaseOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                        const OwnerRecord& claimed);

// For messages about an existing volume: "; in use by host … since …" / "; released by …" or
// "" (no record, unreadable, or a store error). Reads only.
std::string OwnerNote(ObjectStore& store, const std::string& name);

}  // namespace bp
