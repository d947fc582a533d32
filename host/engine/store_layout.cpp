// Building and parsing of every object key (see store_layout.h).
#include "engine/store_layout.h"

#include <algorithm>

namespace bp {
namespace {

constexpr char kVolumes[] = "volumes/";
constexpr char kMeta[] = "meta";
constexpr char kOwner[] = "owner";
constexpr char kSegments[] = "seg/";
constexpr char kCheckpoints[] = "ckpt/";
constexpr char kQuarantine[] = "quarantine/";
constexpr char kSnapshots[] = "snap/";
constexpr char kCloneRefs[] = "refs/";
constexpr size_t kUuidHexDigits = 32;
constexpr size_t kSeqDigits = 16;

// v as 16 lower-case hex digits appended to *out (a segment key is built for every unit read,
// so without snprintf).
void AppendHex16(std::string* out, uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[kSeqDigits];
  for (size_t i = kSeqDigits; i-- > 0; v >>= 4) buf[i] = kDigits[v & 0xF];
  out->append(buf, kSeqDigits);
}

std::string Hex16(uint64_t v) {
  std::string s;
  AppendHex16(&s, v);
  return s;
}

// prefix-of-volume + part + 16 hex digits, built in one allocation.
std::string SeqKey(const std::string& name, const char* part, size_t part_length, uint64_t seq) {
  std::string key;
  key.reserve(sizeof(kVolumes) - 1 + name.size() + 1 + part_length + kSeqDigits);
  key.append(kVolumes, sizeof(kVolumes) - 1).append(name).append(1, '/').append(part, part_length);
  AppendHex16(&key, seq);
  return key;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Exactly 16 lower-case hex digits at s[at, at + 16).
bool ParseHex16(const std::string& s, size_t at, uint64_t* out) {
  if (s.size() < at + kSeqDigits) return false;
  uint64_t v = 0;
  for (size_t i = at; i < at + kSeqDigits; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

// A decimal number as std::to_string writes it: digits only, no leading zero, no overflow.
bool ParseDecimal(const std::string& s, size_t at, uint64_t* out) {
  if (at >= s.size() || (s[at] == '0' && s.size() > at + 1)) return false;
  uint64_t v = 0;
  for (size_t i = at; i < s.size(); ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

bool IsValidVolumeName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string VolumesPrefix() { return kVolumes; }
std::string VolumePrefix(const std::string& name) { return kVolumes + name + "/"; }
std::string MetaKey(const std::string& name) { return VolumePrefix(name) + kMeta; }
std::string OwnerKey(const std::string& name) { return VolumePrefix(name) + kOwner; }
std::string SegmentPrefix(const std::string& name) { return VolumePrefix(name) + kSegments; }
std::string CheckpointPrefix(const std::string& name) { return VolumePrefix(name) + kCheckpoints; }
std::string QuarantinePrefix(const std::string& name) { return VolumePrefix(name) + kQuarantine; }

std::string SnapshotPrefix(const std::string& name) { return VolumePrefix(name) + kSnapshots; }
std::string SnapshotKey(const std::string& name, const std::string& snapshot) {
  return SnapshotPrefix(name) + snapshot;
}
std::string CloneRefPrefix(const std::string& name) { return VolumePrefix(name) + kCloneRefs; }
std::string CloneRefKey(const std::string& name, const std::string& clone_uuid_hex) {
  return CloneRefPrefix(name) + clone_uuid_hex;
}

std::string SegmentKey(const std::string& name, uint64_t seq) {
  return SeqKey(name, kSegments, sizeof(kSegments) - 1, seq);
}
std::string CheckpointKey(const std::string& name, uint64_t seq) {
  return SeqKey(name, kCheckpoints, sizeof(kCheckpoints) - 1, seq);
}
std::string QuarantineKey(const std::string& name, const std::string& kind, uint64_t seq,
                          uint64_t unix_seconds) {
  return QuarantinePrefix(name) + kind + "-" + Hex16(seq) + "." + std::to_string(unix_seconds);
}

bool ParseSeqKey(const std::string& key, const std::string& prefix, uint64_t* seq) {
  if (key.size() != prefix.size() + kSeqDigits || !StartsWith(key, prefix)) return false;
  return ParseHex16(key, prefix.size(), seq);
}

bool ParseSnapshotKey(const std::string& name, const std::string& key, std::string* snapshot) {
  const std::string prefix = SnapshotPrefix(name);
  if (!StartsWith(key, prefix)) return false;
  std::string candidate = key.substr(prefix.size());
  if (!IsValidVolumeName(candidate)) return false;
  *snapshot = std::move(candidate);
  return true;
}

bool ParseCloneRefKey(const std::string& name, const std::string& key,
                      std::string* clone_uuid_hex) {
  const std::string prefix = CloneRefPrefix(name);
  if (key.size() != prefix.size() + kUuidHexDigits || !StartsWith(key, prefix)) return false;
  uint64_t half = 0;
  if (!ParseHex16(key, prefix.size(), &half) || !ParseHex16(key, prefix.size() + 16, &half)) {
    return false;
  }
  *clone_uuid_hex = key.substr(prefix.size());
  return true;
}

bool ParseMetaKey(const std::string& key, std::string* name) {
  const std::string prefix = kVolumes;
  const std::string suffix = std::string("/") + kMeta;
  if (key.size() <= prefix.size() + suffix.size() || !StartsWith(key, prefix) ||
      key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  std::string candidate = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  if (!IsValidVolumeName(candidate)) return false;  // a slash in it, among others
  *name = std::move(candidate);
  return true;
}

bool ParseQuarantineKey(const std::string& name, const std::string& key, std::string* kind,
                        uint64_t* seq, uint64_t* unix_seconds) {
  const std::string prefix = QuarantinePrefix(name);
  if (!StartsWith(key, prefix)) return false;
  for (const std::string k : {kQuarantinedSegment, kQuarantinedCheckpoint}) {
    const size_t digits = prefix.size() + k.size() + 1;  // past "<kind>-"
    if (key.compare(prefix.size(), k.size() + 1, k + "-") != 0) continue;
    uint64_t s = 0, t = 0;
    if (!ParseHex16(key, digits, &s) || key.size() <= digits + kSeqDigits ||
        key[digits + kSeqDigits] != '.' || !ParseDecimal(key, digits + kSeqDigits + 1, &t)) {
      return false;
    }
    *kind = k;
    *seq = s;
    *unix_seconds = t;
    return true;
  }
  return false;
}

VolumeKeyKind ClassifyVolumeKey(const std::string& name, const std::string& key, uint64_t* seq) {
  if (!StartsWith(key, VolumePrefix(name))) return VolumeKeyKind::kOutside;
  uint64_t parsed = 0;
  if (ParseSeqKey(key, SegmentPrefix(name), &parsed)) {
    if (seq != nullptr) *seq = parsed;
    return VolumeKeyKind::kSegment;
  }
  if (ParseSeqKey(key, CheckpointPrefix(name), &parsed)) {
    if (seq != nullptr) *seq = parsed;
    return VolumeKeyKind::kCheckpoint;
  }
  if (key == MetaKey(name)) return VolumeKeyKind::kMeta;
  if (key == OwnerKey(name)) return VolumeKeyKind::kOwner;
  if (StartsWith(key, QuarantinePrefix(name))) return VolumeKeyKind::kQuarantined;
  std::string ignored;
  if (ParseSnapshotKey(name, key, &ignored)) return VolumeKeyKind::kSnapshot;
  if (ParseCloneRefKey(name, key, &ignored)) return VolumeKeyKind::kCloneRef;
  return VolumeKeyKind::kUnknown;
}

bool RebaseVolumeKey(const std::string& key, const std::string& from, const std::string& to,
                     std::string* out) {
  const std::string prefix = VolumePrefix(from);
  if (!StartsWith(key, prefix)) return false;
  *out = VolumePrefix(to) + key.substr(prefix.size());
  return true;
}

Status ListVolumeNames(ObjectStore& store, std::vector<std::string>* names) {
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(store.List(VolumesPrefix(), &objects).WithContext("listing volumes"));
  names->clear();
  for (const auto& o : objects) {
    std::string name;
    if (ParseMetaKey(o.key, &name)) names->push_back(std::move(name));
  }
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

}  // namespace bp
