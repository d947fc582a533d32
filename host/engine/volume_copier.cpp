// Copying a volume between object stores (see volume_copier.h): plan from both listings, copy
// the data objects in parallel with put-if-absent, re-check the source, write `meta` last,
// verify both listings.
#include "engine/volume_copier.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <blockpipe/bp_backend.h>

#include "engine/object_format.h"
#include "engine/snapshot_format.h"
#include "engine/store_layout.h"
#include "engine/volume_meta.h"

namespace bp {
namespace {

constexpr uint32_t kMaxJobs = 64;
// How many names an error message lists before "and N more".
constexpr size_t kNamesInMessages = 3;

// Spreads writes over time so a copy can run beside production traffic: each caller reserves
// the next slot of `bytes / rate` seconds on a shared clock and sleeps until its slot starts.
class WritePacer {
 public:
  explicit WritePacer(uint64_t bytes_per_second) : rate_(bytes_per_second) {}
  void Wait(uint64_t bytes) {
    if (rate_ == 0) return;
    using Clock = std::chrono::steady_clock;
    const auto cost = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
    Clock::time_point start;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      if (next_ < now) next_ = now;
      start = next_;
      next_ += cost;
    }
    std::this_thread::sleep_until(start);
  }

 private:
  uint64_t rate_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};
};

// "a, b, c and 4 more"
std::string SomeNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesInMessages; ++i) {
    out += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kNamesInMessages) {
    out += " and " + std::to_string(names.size() - kNamesInMessages) + " more";
  }
  return out;
}

// The ownership record says which daemon writes the volume in *that* store: a copy must not
// arrive owned by the source's writer, and a destination's own record is not part of the copy.
bool IsOwnerRecord(const std::string& name, const std::string& key) {
  return ClassifyVolumeKey(name, key) == VolumeKeyKind::kOwner;
}

bool IsQuarantined(const std::string& name, const std::string& key) {
  return ClassifyVolumeKey(name, key) == VolumeKeyKind::kQuarantined;
}

// The objects of volume `name` that a copy carries, ascending by key; meta included, the
// ownership record left out.
Status ListVolumeObjects(ObjectStore& store, const std::string& name, bool include_quarantine,
                         std::vector<ObjectInfo>* out, uint64_t* quarantined) {
  const std::string prefix = VolumePrefix(name);
  std::vector<ObjectInfo> all;
  BP_RETURN_IF_ERROR(
      store.List(prefix, &all).WithContext("listing " + prefix + " in " + store.Describe()));
  out->clear();
  if (quarantined != nullptr) *quarantined = 0;
  for (auto& object : all) {
    if (IsOwnerRecord(name, object.key)) continue;
    // Clone references name clones in the source store; the copy has none of them.
    if (ClassifyVolumeKey(name, object.key) == VolumeKeyKind::kCloneRef) continue;
    if (!include_quarantine && IsQuarantined(name, object.key)) {
      if (quarantined != nullptr) ++*quarantined;
      continue;
    }
    out->push_back(std::move(object));
  }
  std::sort(out->begin(), out->end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return Status::Ok();
}

// The uuid in the plain header of any blockpipe object (meta, segment, checkpoint, snapshot), from its
// first 80 bytes. Corrupt for anything that is not a blockpipe object with a valid header.
Status ReadObjectUuid(ObjectStore& store, const std::string& key, Uuid* uuid) {
  uint8_t header[kObjectHeaderLength];
  uint64_t nread = 0;
  BP_RETURN_IF_ERROR(store.Read(key, 0, sizeof(header), header, &nread));
  if (nread < sizeof(header)) return Status::Corrupt("shorter than a blockpipe object header");
  const uint32_t magic = static_cast<uint32_t>(header[0]) | static_cast<uint32_t>(header[1]) << 8 |
                         static_cast<uint32_t>(header[2]) << 16 |
                         static_cast<uint32_t>(header[3]) << 24;
  ObjectHeader decoded;
  for (ObjectType type : {ObjectType::kVolumeMeta, ObjectType::kSegment, ObjectType::kCheckpoint,
                          ObjectType::kSnapshot}) {
    if (magic == static_cast<uint32_t>(type)) {
      BP_RETURN_IF_ERROR(DecodeObjectHeader(header, sizeof(header), type, &decoded));
      *uuid = decoded.uuid;
      return Status::Ok();
    }
  }
  return Status::Corrupt("not a blockpipe object (unknown magic)");
}

std::string DescribeMeta(const Bytes& object) {
  VolumeMeta meta;
  if (!DecodeVolumeMetaObject(object.data(), object.size(), &meta).ok())
    return "unreadable metadata";
  return "uuid " + UuidToHex(meta.uuid) + ", " + std::to_string(meta.size) + " bytes";
}

}  // namespace

const char* CopyPhaseName(CopyPhase phase) {
  switch (phase) {
    case CopyPhase::kPlanning: return "planning";
    case CopyPhase::kCopying: return "copying";
    case CopyPhase::kRecheckingSource: return "re-checking source";
    case CopyPhase::kWritingMeta: return "writing meta";
    case CopyPhase::kVerifying: return "verifying";
    case CopyPhase::kDone: return "done";
  }
  return "?";
}

struct CopyItem {
  std::string source_key, destination_key;
  uint64_t size = 0;
  bool at_destination = false;  // listed at the destination, same size: compare, never write
};

struct VolumeCopier::Plan {
  std::string source_prefix, destination_prefix;
  std::vector<ObjectInfo> source_objects;  // what is copied, meta included, as first listed
  std::vector<CopyItem> items;             // everything but meta
  Bytes source_meta;                       // as stored at the source
  Bytes destination_meta;                  // what the destination's meta must hold
  bool meta_at_destination = false;        // already there and identical
  Uuid uuid{};
};

VolumeCopier::VolumeCopier(ObjectStore& source, ObjectStore& destination, VolumeCopyOptions options)
    : source_(source), destination_(destination), options_(std::move(options)) {
  if (options_.destination_name.empty()) options_.destination_name = options_.name;
}

VolumeCopyProgress VolumeCopier::Progress() const {
  VolumeCopyProgress p;
  p.phase = phase_.load();
  p.objects_total = objects_total_.load();
  p.objects_done = objects_done_.load();
  p.bytes_total = bytes_total_.load();
  p.bytes_done = bytes_done_.load();
  return p;
}

Status VolumeCopier::Run(VolumeCopyReport* report) {
  *report = VolumeCopyReport{};
  report->source = source_.Describe();
  report->destination = destination_.Describe();
  report->name = options_.name;
  report->destination_name = options_.destination_name;
  report->destination_lacks_put_if_absent =
      (destination_.Capabilities() & BP_BACKEND_CAP_PUT_IF_ABSENT) == 0;

  Plan plan;
  phase_ = CopyPhase::kPlanning;
  BP_RETURN_IF_ERROR(MakePlan(&plan, report));
  phase_ = CopyPhase::kCopying;
  BP_RETURN_IF_ERROR(CopyObjects(plan, report));
  if (!plan.meta_at_destination) {
    phase_ = CopyPhase::kRecheckingSource;
    BP_RETURN_IF_ERROR(RecheckSource(plan));
  }
  phase_ = CopyPhase::kWritingMeta;
  BP_RETURN_IF_ERROR(WriteMeta(plan, report));
  phase_ = CopyPhase::kVerifying;
  BP_RETURN_IF_ERROR(Verify(plan));
  report->already_complete = plan.meta_at_destination;
  phase_ = CopyPhase::kDone;
  return Status::Ok();
}

Status VolumeCopier::MakePlan(Plan* plan, VolumeCopyReport* report) {
  const std::string& name = options_.name;
  const std::string& new_name = options_.destination_name;
  if (!IsValidVolumeName(name)) return Status::Invalid("invalid volume name `" + name + "`");
  if (!IsValidVolumeName(new_name)) {
    return Status::Invalid("invalid destination volume name `" + new_name +
                           "` (1-64 characters of A-Z a-z 0-9 . _ -, not starting with . or -)");
  }
  if (options_.jobs == 0 || options_.jobs > kMaxJobs) {
    return Status::Invalid("jobs must be between 1 and " + std::to_string(kMaxJobs));
  }
  if (name == new_name && source_.Describe() == destination_.Describe()) {
    return Status::Invalid("source and destination are the same volume (" + name + " in " +
                           source_.Describe() + ")");
  }
  plan->source_prefix = VolumePrefix(name);
  plan->destination_prefix = VolumePrefix(new_name);

  // --- the source: its objects and metadata ---
  BP_RETURN_IF_ERROR(ListVolumeObjects(source_, name, options_.include_quarantine,
                                       &plan->source_objects, &report->quarantine_left_out));
  const std::string meta_key = MetaKey(name);
  const bool has_meta = std::any_of(plan->source_objects.begin(), plan->source_objects.end(),
                                    [&](const ObjectInfo& o) { return o.key == meta_key; });
  if (!has_meta) {
    if (!plan->source_objects.empty()) {
      return Status::NotFound(source_.Describe() + " has objects under " + plan->source_prefix +
                              " but no " + meta_key +
                              ": not a volume (an interrupted copy or deletion?)");
    }
    return Status::NotFound("no volume `" + name + "` in " + source_.Describe());
  }
  BP_RETURN_IF_ERROR(source_.Get(meta_key, &plan->source_meta)
                         .WithContext("reading " + meta_key + " from " + source_.Describe()));
  VolumeMeta meta;
  BP_RETURN_IF_ERROR(
      DecodeVolumeMetaObject(plan->source_meta.data(), plan->source_meta.size(), &meta)
          .WithContext(source_.Describe() + " " + meta_key));
  if (meta.name != name) {
    return Status::Corrupt(source_.Describe() + " " + meta_key + " names volume `" + meta.name +
                           "`");
  }
  std::vector<CloneBase> bases;
  BP_RETURN_IF_ERROR(
      DecodeCloneBases(meta.extensions, &bases).WithContext(source_.Describe() + " " + meta_key));
  if (!bases.empty()) {
    // Its shared segments are the base volumes' objects, which a copy of one volume does not
    // carry: the copy could not be read.
    return Status::Unsupported("volume `" + name + "` is a clone of " + bases.back().volume + "@" +
                               bases.back().snapshot +
                               " and shares its segments; copy the base volume, or a volume "
                               "made from the clone's content, instead");
  }
  plan->uuid = meta.uuid;
  report->uuid = UuidToHex(meta.uuid);

  if (new_name == name) {
    plan->destination_meta = plan->source_meta;
  } else {
    // Renaming rewrites only the name. Refuse unless re-encoding the unchanged metadata gives
    // back exactly the stored bytes: then nothing this build does not understand can be lost.
    if (EncodeVolumeMetaObject(meta) != plan->source_meta) {
      return Status::Unsupported("cannot rename volume `" + name +
                                 "`: its metadata holds fields this blockpipe cannot rewrite "
                                 "faithfully; copy it under its own name");
    }
    meta.name = new_name;
    plan->destination_meta = EncodeVolumeMetaObject(meta);
  }

  // --- the destination ---
  std::vector<ObjectInfo> destination_all;
  BP_RETURN_IF_ERROR(
      destination_.List(VolumesPrefix(), &destination_all)
          .WithContext("listing " + VolumesPrefix() + " in " + destination_.Describe()));
  // One uuid, one volume per store: the engine keys its caches by uuid.
  for (const auto& object : destination_all) {
    const std::string& key = object.key;
    std::string other;
    if (!ParseMetaKey(key, &other) || other == new_name) continue;
    Uuid uuid{};
    Status st = ReadObjectUuid(destination_, key, &uuid);
    if (!st.ok() && !st.IsCorrupt() && !st.IsNotFound()) {
      return st.WithContext("reading " + key + " in " + destination_.Describe());
    }
    if (st.ok() && uuid == plan->uuid) {
      return Status::Precondition(
          destination_.Describe() + " already holds this volume (uuid " + report->uuid + ") as `" +
          other +
          "`; a store cannot hold two volumes with one uuid (their cached "
          "data would be confused), so it cannot be copied there again under another name");
    }
  }

  std::map<std::string, uint64_t> at_destination;  // this volume's objects there, by key
  for (const auto& object : destination_all) {
    const VolumeKeyKind kind = ClassifyVolumeKey(new_name, object.key);
    if (kind != VolumeKeyKind::kOutside && kind != VolumeKeyKind::kOwner) {
      at_destination[object.key] = object.size;
    }
  }
  const std::string destination_meta_key = MetaKey(new_name);
  for (const auto& object : plan->source_objects) {
    if (object.key == meta_key) continue;
    CopyItem item;
    item.source_key = object.key;
    // Listed under the source's prefix, so always rebased.
    RebaseVolumeKey(object.key, name, new_name, &item.destination_key);
    item.size = object.size;
    plan->items.push_back(std::move(item));
  }

  const std::string where = destination_.Describe() + " " + plan->destination_prefix;
  if (at_destination.count(destination_meta_key) != 0) {
    // A volume of that name exists there: fine only if it is this very copy, complete.
    Bytes existing;
    BP_RETURN_IF_ERROR(
        destination_.Get(destination_meta_key, &existing)
            .WithContext("reading " + destination_meta_key + " from " + destination_.Describe()));
    if (existing != plan->destination_meta) {
      VolumeMeta theirs;
      const bool same_volume =
          DecodeVolumeMetaObject(existing.data(), existing.size(), &theirs).ok() &&
          theirs.uuid == plan->uuid;
      return Status::Precondition(
          destination_.Describe() + " already has a volume `" + new_name + "` (" +
          DescribeMeta(existing) +
          (same_volume
               ? ") that is this volume with different metadata (changed since it was copied)"
               : ") that is a different volume") +
          "; nothing was written. Copy under another name (--to-name) or delete it there first");
    }
    std::vector<std::string> differences;
    std::map<std::string, uint64_t> expected;
    for (const auto& item : plan->items) expected[item.destination_key] = item.size;
    expected[destination_meta_key] = plan->destination_meta.size();
    for (const auto& [key, size] : at_destination) {
      if (!options_.include_quarantine && IsQuarantined(new_name, key)) continue;
      auto it = expected.find(key);
      if (it == expected.end() || it->second != size) differences.push_back(key);
    }
    for (const auto& [key, size] : expected) {
      if (at_destination.count(key) == 0) differences.push_back(key);
    }
    if (!differences.empty()) {
      return Status::Precondition(
          destination_.Describe() + " already has volume `" + new_name + "` (uuid " + report->uuid +
          ", a copy of this one) but its objects differ from the source (" +
          SomeNames(differences) +
          "): it has been used since it was copied, or the source has changed. Nothing was "
          "written; delete it there first to copy again");
    }
    for (auto& item : plan->items) item.at_destination = true;
    plan->meta_at_destination = true;
  } else {
    // No volume there. Objects under its prefix are leftovers of an earlier, interrupted copy
    // of this volume (reused when identical, removed when the source no longer has them) or
    // something else, which stops the copy.
    std::map<std::string, CopyItem*> by_key;
    for (auto& item : plan->items) by_key[item.destination_key] = &item;
    std::vector<std::string> stale, foreign, conflicting;
    for (const auto& [key, size] : at_destination) {
      auto it = by_key.find(key);
      if (it != by_key.end()) {
        if (it->second->size == size) {
          it->second->at_destination = true;
        } else {
          conflicting.push_back(key);
        }
        continue;
      }
      Uuid uuid{};
      Status st = ReadObjectUuid(destination_, key, &uuid);
      if (!st.ok() && !st.IsCorrupt()) {
        if (st.IsNotFound()) continue;  // gone since the listing
        return st.WithContext("reading " + key + " in " + destination_.Describe());
      }
      (st.ok() && uuid == plan->uuid ? stale : foreign).push_back(key);
    }
    if (!foreign.empty()) {
      return Status::Precondition(where + " holds objects that are not part of volume `" + name +
                                  "` (" + SomeNames(foreign) +
                                  "); there is no volume there (no meta). "
                                  "Nothing was written; remove them or copy under another name");
    }
    if (!conflicting.empty()) {
      return Status::Precondition(where +
                                  " holds objects with this volume's names but other sizes (" +
                                  SomeNames(conflicting) +
                                  "), left by an earlier copy of a "
                                  "different state of it. Nothing was written; remove the "
                                  "destination's " +
                                  plan->destination_prefix + " objects and copy again");
    }
    for (const auto& key : stale) {
      Status st = destination_.Delete(key);
      if (!st.ok())
        return st.WithContext("removing leftover " + key + " from " + destination_.Describe());
      ++report->leftovers_removed;
    }
  }

  report->objects = plan->items.size() + 1;
  report->bytes = plan->destination_meta.size();
  for (const auto& item : plan->items) report->bytes += item.size;
  objects_total_ = report->objects;
  bytes_total_ = report->bytes;
  return Status::Ok();
}

Status VolumeCopier::CopyObjects(const Plan& plan, VolumeCopyReport* report) {
  WritePacer pacer(options_.max_bytes_per_second);
  std::mutex mu;  // guards first_error and the report's counters
  Status first_error;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};

  auto same_at_destination = [&](const CopyItem& item, const Bytes& data) -> Status {
    Bytes there;
    BP_RETURN_IF_ERROR(
        destination_.Get(item.destination_key, &there)
            .WithContext("reading " + item.destination_key + " from " + destination_.Describe()));
    if (there == data) return Status::Ok();
    return Status::Precondition(
        destination_.Describe() + " " + item.destination_key +
        " already exists with different content (" + std::to_string(there.size()) +
        " bytes there, " + std::to_string(data.size()) +
        " in the source); nothing was overwritten and no volume was created there. Remove the "
        "destination's " +
        plan.destination_prefix + " objects and copy again");
  };

  auto copy_one = [&](const CopyItem& item) -> Status {
    Bytes data;
    BP_RETURN_IF_ERROR(
        source_.Get(item.source_key, &data)
            .WithContext("reading " + item.source_key + " from " + source_.Describe()));
    if (data.size() != item.size) {
      return Status::Precondition("the source changed during the copy: " + item.source_key +
                                  " was listed with " + std::to_string(item.size) +
                                  " bytes and read with " + std::to_string(data.size()));
    }
    bool written = false;
    if (item.at_destination) {
      BP_RETURN_IF_ERROR(same_at_destination(item, data));
    } else {
      pacer.Wait(data.size());
      Status st =
          destination_.Put(item.destination_key, data.data(), data.size(), /*if_absent=*/true);
      if (st.IsPrecondition()) {
        BP_RETURN_IF_ERROR(same_at_destination(item, data));
      } else if (!st.ok()) {
        return st.WithContext("writing " + item.destination_key + " to " + destination_.Describe());
      } else {
        written = true;
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    (written ? report->objects_written : report->objects_reused) += 1;
    (written ? report->bytes_written : report->bytes_reused) += item.size;
    return Status::Ok();
  };

  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      const size_t i = next.fetch_add(1);
      if (i >= plan.items.size()) return;
      Status st = copy_one(plan.items[i]);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = st;
        failed = true;
        return;
      }
      objects_done_ += 1;
      bytes_done_ += plan.items[i].size;
    }
  };

  const size_t threads = std::min<size_t>(options_.jobs, std::max<size_t>(plan.items.size(), 1));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!first_error.ok()) {
    return first_error.WithContext("copy stopped; the destination has no volume `" +
                                   options_.destination_name + "` (rerun to resume)");
  }
  return Status::Ok();
}

Status VolumeCopier::RecheckSource(const Plan& plan) {
  std::vector<ObjectInfo> now;
  BP_RETURN_IF_ERROR(
      ListVolumeObjects(source_, options_.name, options_.include_quarantine, &now, nullptr));
  std::map<std::string, uint64_t> before, after;
  for (const auto& o : plan.source_objects) before[o.key] = o.size;
  for (const auto& o : now) after[o.key] = o.size;
  std::vector<std::string> added, removed, resized;
  for (const auto& [key, size] : after) {
    auto it = before.find(key);
    if (it == before.end()) {
      added.push_back(key);
    } else if (it->second != size) {
      resized.push_back(key);
    }
  }
  for (const auto& [key, size] : before) {
    if (after.count(key) == 0) removed.push_back(key);
  }
  Bytes meta;
  Status st = source_.Get(MetaKey(options_.name), &meta);
  if (!st.ok() && !st.IsNotFound()) return st.WithContext("re-reading the source's metadata");
  const bool meta_changed = !st.ok() || meta != plan.source_meta;
  if (added.empty() && removed.empty() && resized.empty() && !meta_changed) return Status::Ok();

  std::string what;
  auto describe = [&](const char* label, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    what += (what.empty() ? "" : "; ") + std::string(label) + " " + SomeNames(keys);
  };
  describe("added", added);
  describe("removed", removed);
  describe("changed", resized);
  if (meta_changed) what += (what.empty() ? "" : "; ") + std::string("its metadata changed");
  return Status::Precondition(
      "the source volume `" + options_.name + "` changed during the copy (" + what +
      "): something is still writing to it. Copy a stopped or idle volume; the destination has "
      "no volume `" +
      options_.destination_name +
      "` (meta was not written), and a rerun reuses "
      "what was copied");
}

Status VolumeCopier::WriteMeta(const Plan& plan, VolumeCopyReport* report) {
  const std::string key = MetaKey(options_.destination_name);
  const uint64_t size = plan.destination_meta.size();
  if (plan.meta_at_destination) {
    report->objects_reused += 1;
    report->bytes_reused += size;
  } else {
    Status st = destination_.Put(key, plan.destination_meta.data(), size, /*if_absent=*/true);
    if (st.IsPrecondition()) {
      Bytes there;
      BP_RETURN_IF_ERROR(destination_.Get(key, &there).WithContext("reading " + key));
      if (there != plan.destination_meta) {
        return Status::Precondition("a different volume `" + options_.destination_name +
                                    "` appeared in " + destination_.Describe() +
                                    " during the copy (" + DescribeMeta(there) +
                                    "); its objects were not touched");
      }
      report->objects_reused += 1;
      report->bytes_reused += size;
    } else if (!st.ok()) {
      return st.WithContext("writing " + key + " to " + destination_.Describe() +
                            " (every other object is copied: rerun to finish)");
    } else {
      report->objects_written += 1;
      report->bytes_written += size;
    }
  }
  objects_done_ += 1;
  bytes_done_ += size;
  return Status::Ok();
}

Status VolumeCopier::Verify(const Plan& plan) {
  std::vector<ObjectInfo> there;
  BP_RETURN_IF_ERROR(ListVolumeObjects(destination_, options_.destination_name,
                                       options_.include_quarantine, &there, nullptr));
  std::map<std::string, uint64_t> expected, found;
  for (const auto& item : plan.items) expected[item.destination_key] = item.size;
  expected[MetaKey(options_.destination_name)] = plan.destination_meta.size();
  for (const auto& o : there) found[o.key] = o.size;
  std::vector<std::string> missing, extra, wrong_size;
  for (const auto& [key, size] : expected) {
    auto it = found.find(key);
    if (it == found.end()) {
      missing.push_back(key);
    } else if (it->second != size) {
      wrong_size.push_back(key);
    }
  }
  for (const auto& [key, size] : found) {
    if (expected.count(key) == 0) extra.push_back(key);
  }
  if (missing.empty() && extra.empty() && wrong_size.empty()) return Status::Ok();
  std::string what;
  if (!missing.empty()) what += "missing " + SomeNames(missing);
  if (!wrong_size.empty())
    what += (what.empty() ? "" : "; ") + std::string("wrong size ") + SomeNames(wrong_size);
  if (!extra.empty())
    what += (what.empty() ? "" : "; ") + std::string("unexpected ") + SomeNames(extra);
  return Status::Corrupt("verification failed: the destination listing of " +
                         plan.destination_prefix + " in " + destination_.Describe() +
                         " does not match the source (" + what + ")");
}

}  // namespace bp
