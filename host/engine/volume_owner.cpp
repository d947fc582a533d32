// The ownership record of a volume (see volume_owner.h): its encoding, the decision a writable
// open makes from it, and the claim and release around a writer's open and clean close.
#include "engine/volume_owner.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <random>

#include <blockpipe/bp_backend.h>
#include <spdlog/spdlog.h>

#include "engine/byte_io.h"
#include "engine/writer_identity.h"
#include "util/crc32c.h"

namespace bp {
namespace {

constexpr size_t kMaxWriterId = 64;
constexpr size_t kMaxHostname = 255;
// A racing writer may replace the record between our read and our conditional write; deciding
// again a few times settles it (each round reads what the other writer wrote).
constexpr int kClaimAttempts = 3;

bool HasConditionalPut(const ObjectStore& store) {
  return (store.Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT) != 0;
}

// Write `object` over what `found` saw: create it when there was nothing, else replace exactly
// the version read. Precondition when someone else wrote the record since.
Status WriteOver(ObjectStore& store, const std::string& key, const OwnerFinding& found,
                 const Bytes& object) {
  const uint64_t caps = store.Capabilities();
  if (!found.present) {
    return store.Put(key, object.data(), object.size(),
                     /*if_absent=*/(caps & BP_BACKEND_CAP_PUT_IF_ABSENT) != 0);
  }
  if ((caps & BP_BACKEND_CAP_CONDITIONAL_PUT) == 0) {
    // Only reachable with [engine] allow_unfenced (or offline tools on such a store): the
    // last writer wins, as documented.
    return store.Put(key, object.data(), object.size(), /*if_absent=*/false);
  }
  std::string new_tag;
  return store.PutIfMatch(key, object.data(), object.size(), found.tag, &new_tag);
}

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t RandomU64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

std::string FormatTime(uint64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  char buf[40];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
    return std::to_string(unix_ms) + " ms after the epoch";
  }
  std::string text = buf;
  const uint64_t now = NowUnixMs();
  if (now >= unix_ms) {
    const uint64_t s = (now - unix_ms) / 1000;
    if (s < 120) {
      text += " (" + std::to_string(s) + " s ago)";
    } else if (s < 2 * 3600) {
      text += " (" + std::to_string(s / 60) + " min ago)";
    } else if (s < 2 * 86400) {
      text += " (" + std::to_string(s / 3600) + " h ago)";
    } else {
      text += " (" + std::to_string(s / 86400) + " days ago)";
    }
  }
  return text;
}

std::string RefusalMessage(const std::string& name, const OwnerFinding& found) {
  if (found.unreadable.ok() && found.record.local_journal) {
    return "volume " + name + " is in use by another blockpipe daemon (" +
           DescribeOwner(found.record) + "; " + OwnerKey(name) +
           ") that runs with the local journal: writes it acknowledged may exist only in its "
           "data dir's journal until uploaded. Start that daemon again on its data dir (it "
           "uploads its journal before serving), or, if that data dir is lost for good, take "
           "the volume over with `blockpipe run --take-over " +
           name + " --force`, accepting the loss of every flushed write its journal still held.";
  }
  const std::string how =
      " If that daemon is really gone (its host is down for good, or its data dir was lost), "
      "take the volume over deliberately by starting this one with `blockpipe run --take-over " +
      name +
      "` (or `--take-over all`); should the old daemon still be running, it is fenced off "
      "at its next upload and its writes fail.";
  if (!found.unreadable.ok()) {
    return "volume " + name + ": its ownership record " + OwnerKey(name) + " is unreadable (" +
           found.unreadable.message() +
           "), so whether another blockpipe daemon is writing the volume cannot be told." + how;
  }
  return "volume " + name + " is in use by another blockpipe daemon (" +
         DescribeOwner(found.record) + "; " + OwnerKey(name) +
         "), and only one daemon may write a volume." + how;
}

void NotReleasing(const std::string& name, const OwnerFinding& found) {
  spdlog::warn("volume {}: not releasing ownership: {} no longer holds this daemon's claim{}", name,
               OwnerKey(name),
               found.present && found.unreadable.ok() && !found.foreign
                   ? " (now " +
                         std::string(found.record.state == OwnerState::kActive ? "held by "
                                                                               : "released by ") +
                         DescribeOwner(found.record) + ")"
                   : "");
}

}  // namespace

WriterIdentity WriterIdentity::ForThisProcess(const std::string& writer_id) {
  WriterIdentity me;
  me.writer_id = writer_id.empty() ? NewWriterId() : writer_id;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    me.hostname = "unknown-host";
  } else {
    me.hostname = host;
  }
  me.pid = static_cast<uint32_t>(::getpid());
  return me;
}

Bytes EncodeOwnerObject(const Uuid& uuid, const OwnerRecord& record) {
  Bytes body;
  ByteWriter w(&body);
  w.U32(static_cast<uint32_t>(record.state));
  w.Str(record.writer_id);
  w.U64(record.claim_id);
  w.Str(record.hostname);
  w.U32(record.pid);
  w.U64(record.since_unix_ms);
  std::vector<Extension> extensions = record.extensions;
  if (record.local_journal) {
    Extension journal;
    journal.tag = kOwnerExtLocalJournal;
    extensions.push_back(std::move(journal));
  }
  WriteExtensions(w, extensions);
  return EncodePlainObject(ObjectType::kVolumeOwner, uuid, body);
}

Status DecodeOwnerObject(const uint8_t* p, size_t n, Uuid* uuid, OwnerRecord* out) {
  ObjectHeader h;
  BP_RETURN_IF_ERROR(DecodeObjectHeader(p, n, ObjectType::kVolumeOwner, &h));
  if (h.object_length() != n || h.data_length != 0 || h.body_logical_length != h.body_length ||
      h.seq != 0) {
    return Status::Corrupt("owner record has inconsistent lengths");
  }
  const uint8_t* body = p + kObjectHeaderLength;
  if (Crc32c(body, h.body_length) != h.body_crc) {
    return Status::Corrupt("owner record checksum mismatch");
  }
  OwnerRecord r;
  ByteReader in(body, h.body_length);
  const uint32_t state = in.U32();
  in.Str(&r.writer_id, kMaxWriterId);
  r.claim_id = in.U64();
  in.Str(&r.hostname, kMaxHostname);
  r.pid = in.U32();
  r.since_unix_ms = in.U64();
  if (!in.ok()) return Status::Corrupt("owner record is truncated");
  std::vector<Extension> extensions;
  BP_RETURN_IF_ERROR(ReadExtensions(in, &extensions));
  if (!in.ok()) return Status::Corrupt("owner record is truncated");
  for (Extension& e : extensions) {
    if (e.tag == kOwnerExtLocalJournal) {
      r.local_journal = true;
    } else {
      r.extensions.push_back(std::move(e));
    }
  }
  if (in.remaining() != 0) return Status::Corrupt("owner record has trailing bytes");
  if (state != static_cast<uint32_t>(OwnerState::kActive) &&
      state != static_cast<uint32_t>(OwnerState::kReleased)) {
    return Status::Corrupt("owner record has unknown state " + std::to_string(state));
  }
  if (r.writer_id.empty()) return Status::Corrupt("owner record names no writer");
  r.state = static_cast<OwnerState>(state);
  *uuid = h.uuid;
  *out = std::move(r);
  return Status::Ok();
}

OwnerDecision DecideOwnership(const OwnerFinding& found, const std::string& writer_id,
                              bool take_over, bool force) {
  if (!found.present || found.foreign) return OwnerDecision::kTake;
  if (found.unreadable.ok()) {
    if (found.record.state == OwnerState::kReleased) return OwnerDecision::kTake;
    if (found.record.writer_id == writer_id) return OwnerDecision::kTake;
    if (found.record.local_journal && !force) return OwnerDecision::kRefuse;
  }
  return take_over ? OwnerDecision::kTakeOver : OwnerDecision::kRefuse;
}

bool TakeOverCovers(const std::vector<std::string>& take_over, const std::string& name) {
  for (const auto& t : take_over) {
    if (t == "all" || t == name) return true;
  }
  return false;
}

std::string DescribeOwner(const OwnerRecord& record) {
  return "host " + record.hostname + ", data dir id " + record.writer_id + ", pid " +
         std::to_string(record.pid) + ", since " + FormatTime(record.since_unix_ms);
}

Status ReadOwner(ObjectStore& store, const std::string& name, const Uuid& uuid,
                 OwnerFinding* found) {
  *found = OwnerFinding{};
  Bytes object;
  Status s = HasConditionalPut(store) ? store.GetTagged(OwnerKey(name), &object, &found->tag)
                                      : Status::Unsupported("");
  // A wrapper that passes the capability on without the tagged read (a read-only view) still
  // gets the record, just without a tag to replace it by.
  if (s.code() == Status::Code::kUnsupported) s = store.Get(OwnerKey(name), &object);
  if (s.IsNotFound()) return Status::Ok();
  BP_RETURN_IF_ERROR(s.WithContext("volume " + name + ": reading " + OwnerKey(name)));
  found->present = true;
  Uuid recorded{};
  found->unreadable = DecodeOwnerObject(object.data(), object.size(), &recorded, &found->record);
  found->foreign = found->unreadable.ok() && recorded != uuid;
  return Status::Ok();
}

Status CheckOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                      const WriterIdentity& me, bool take_over, bool force) {
  OwnerFinding found;
  BP_RETURN_IF_ERROR(ReadOwner(store, name, uuid, &found));
  if (DecideOwnership(found, me.writer_id, take_over, force) == OwnerDecision::kRefuse) {
    return Status::Precondition(RefusalMessage(name, found));
  }
  return Status::Ok();
}

Status ClaimOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                      const WriterIdentity& me, bool take_over, OwnerRecord* claimed, bool force) {
  const std::string key = OwnerKey(name);
  bool lost_race = false;
  for (int attempt = 1;; ++attempt) {
    OwnerFinding found;
    BP_RETURN_IF_ERROR(ReadOwner(store, name, uuid, &found));
    // After a lost race the record is the winner's, claimed this very moment: --take-over was
    // meant for the owner seen before, not for a daemon starting beside us.
    const OwnerDecision decision =
        DecideOwnership(found, me.writer_id, take_over && !lost_race, force);
    if (decision == OwnerDecision::kRefuse) {
      std::string message = RefusalMessage(name, found);
      if (lost_race) {
        message = "volume " + name +
                  ": another blockpipe daemon claimed it at the same moment "
                  "and won. " +
                  message;
      }
      return Status::Precondition(message);
    }

    OwnerRecord mine;
    mine.state = OwnerState::kActive;
    mine.writer_id = me.writer_id;
    mine.claim_id = RandomU64();
    mine.hostname = me.hostname;
    mine.pid = me.pid;
    mine.since_unix_ms = NowUnixMs();
    mine.local_journal = me.local_journal;
    const Bytes object = EncodeOwnerObject(uuid, mine);
    Status put = WriteOver(store, key, found, object);
    if (put.IsPrecondition() && attempt < kClaimAttempts) {
      lost_race = true;  // someone wrote the record since we read it
      continue;
    }
    BP_RETURN_IF_ERROR(put.WithContext("volume " + name + ": writing " + key));
    if (decision == OwnerDecision::kTakeOver && found.unreadable.ok() &&
        found.record.local_journal) {
      spdlog::warn(
          "volume {}: taken over from {} with --force: flushed writes that only its local "
          "journal held are lost",
          name, DescribeOwner(found.record));
    } else if (decision == OwnerDecision::kTakeOver) {
      spdlog::warn(
          "volume {}: taken over from {} as requested (--take-over); if that daemon is "
          "still running, it is fenced off at its next upload",
          name,
          found.unreadable.ok()
              ? DescribeOwner(found.record)
              : "an unreadable ownership record (" + found.unreadable.message() + ")");
    } else if (found.foreign) {
      spdlog::warn(
          "volume {}: replaced a leftover ownership record of an earlier volume of "
          "this name",
          name);
    } else if (found.present && found.record.state == OwnerState::kActive) {
      spdlog::warn(
          "volume {}: taken back from an earlier run of this data dir that did not stop "
          "cleanly ({})",
          name, DescribeOwner(found.record));
    } else {
      spdlog::info("volume {}: owned by this daemon (host {}, data dir id {}, pid {})", name,
                   me.hostname, me.writer_id, me.pid);
    }
    *claimed = std::move(mine);
    return Status::Ok();
  }
}

Status ReleaseOwnership(ObjectStore& store, const std::string& name, const Uuid& uuid,
                        const OwnerRecord& claimed) {
  OwnerFinding found;
  BP_RETURN_IF_ERROR(ReadOwner(store, name, uuid, &found));
  if (!found.present || !found.unreadable.ok() || found.foreign ||
      found.record.state != OwnerState::kActive || found.record.writer_id != claimed.writer_id ||
      found.record.claim_id != claimed.claim_id) {
    NotReleasing(name, found);
    return Status::Ok();
  }
  OwnerRecord released = claimed;
  released.state = OwnerState::kReleased;
  released.local_journal = false;  // a clean close uploaded everything its journal held
  released.since_unix_ms = NowUnixMs();
  const Bytes object = EncodeOwnerObject(uuid, released);
  Status put = WriteOver(store, OwnerKey(name), found, object);
  if (put.IsPrecondition()) {
    // Taken over between our read and our write: the new owner's record stays.
    OwnerFinding now;
    if (ReadOwner(store, name, uuid, &now).ok()) NotReleasing(name, now);
    return Status::Ok();
  }
  BP_RETURN_IF_ERROR(put.WithContext("volume " + name + ": releasing " + OwnerKey(name)));
  spdlog::info("volume {}: ownership released", name);
  return Status::Ok();
}

std::string OwnerNote(ObjectStore& store, const std::string& name) {
  Bytes object;
  if (!store.Get(OwnerKey(name), &object).ok()) return "";
  Uuid uuid{};
  OwnerRecord record;
  if (!DecodeOwnerObject(object.data(), object.size(), &uuid, &record).ok()) return "";
  return std::string(record.state == OwnerState::kActive ? "; in use by " : "; released by ") +
         DescribeOwner(record);
}

}  // namespace bp
