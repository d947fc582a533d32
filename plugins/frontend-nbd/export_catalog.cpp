// ExportCatalog implementation: listing through the host's callback-style list(), the allow-list,
// and the mapping of bp_volume_info flags onto NBD transmission flags. Write-side capabilities
// are hidden on read-only exports so clients never offer operations that can only fail.
#include "export_catalog.h"

#include <algorithm>

#include "nbd_protocol.h"

namespace bpnbd {

namespace {

// Payload limits we advertise: the protocol's portable minimum is 32 MiB, and a request length is
// a 32-bit field, so nothing larger than 2 GiB makes sense as a single buffer.
constexpr uint32_t kDefaultMaxPayload = 32u << 20;
constexpr uint32_t kCeilingMaxPayload = 1u << 31;

// A snapshot's export "VOLUME@SNAPSHOT" follows its volume's rules (allow-list, client
// identities): whoever may use the volume may read its snapshots, and nobody else.
std::string RuleName(const std::string& name) { return name.substr(0, name.find('@')); }

void CollectEntry(void* arg, const char* name, const char* description, uint64_t size) {
  auto* out = static_cast<std::vector<ExportEntry>*>(arg);
  if (!name) return;
  out->push_back(ExportEntry{name, description ? description : "", size});
}

}  // namespace

VolumeHandle& VolumeHandle::operator=(VolumeHandle&& other) noexcept {
  if (this != &other) {
    Close();
    api_ = other.api_;
    volume_ = other.volume_;
    other.api_ = nullptr;
    other.volume_ = nullptr;
  }
  return *this;
}

void VolumeHandle::Close() {
  if (volume_) api_->close(volume_);
  volume_ = nullptr;
}

void VolumeHandle::Extents(uint64_t offset, uint64_t length, uint32_t max,
                           std::vector<bp_extent>* out) const {
  out->clear();
  if (max > 0 && BP_VOLUME_API_HAS(api_, extents)) {
    out->resize(max);
    uint32_t count = 0;
    if (api_->extents(volume_, offset, length, out->data(), max, &count) == BP_OK && count > 0 &&
        count <= max) {
      out->resize(count);
      return;
    }
    out->clear();
  }
  out->push_back(bp_extent{length, 0, 0});
}

bool ExportCatalog::RestrictsClients(const std::string& volume) const {
  return clients_.count(RuleName(volume)) != 0;
}

bool ExportCatalog::PermitsClient(const std::string& volume, const std::string& identity,
                                  const std::string& common_name) const {
  auto it = clients_.find(RuleName(volume));
  if (it == clients_.end()) return true;
  if (identity.empty() && common_name.empty()) return false;
  for (const std::string& allowed : it->second) {
    if ((!identity.empty() && allowed == identity) ||
        (!common_name.empty() && allowed == common_name)) {
      return true;
    }
  }
  return false;
}

bool ExportCatalog::Allowed(const std::string& volume) const {
  const std::string rule = RuleName(volume);
  return allowed_.empty() || std::find(allowed_.begin(), allowed_.end(), rule) != allowed_.end();
}

bool ExportCatalog::List(std::vector<ExportEntry>* out) const {
  std::vector<ExportEntry> all;
  if (api_->list(api_->ctx, CollectEntry, &all) != BP_OK) return false;
  out->clear();
  for (ExportEntry& entry : all) {
    if (Allowed(entry.name) && entry.name.size() <= kMaxStringLength)
      out->push_back(std::move(entry));
  }
  return true;
}

bool ExportCatalog::Resolve(const std::string& requested, std::string* volume) const {
  std::string name = requested.empty() ? "default" : requested;
  if (name.size() > kMaxStringLength || !Allowed(name)) return false;
  *volume = std::move(name);
  return true;
}

bool ExportCatalog::Open(const std::string& volume, VolumeHandle* handle, ExportInfo* info,
                         std::string* error) const {
  bp_volume* raw = nullptr;
  int rc = api_->open(api_->ctx, volume.c_str(), read_only_ ? 1 : 0, &raw);
  if (rc != BP_OK || raw == nullptr) {
    *error = rc == BP_ERR_NOT_FOUND ? "no export named \"" + volume + "\""
                                    : "export \"" + volume + "\" cannot be opened now";
    return false;
  }
  VolumeHandle opened(api_, raw);

  bp_volume_info vi{};
  vi.struct_size = sizeof vi;
  if (api_->info(raw, &vi) != BP_OK) {
    *error = "export \"" + volume + "\" cannot be described now";
    return false;
  }

  ExportInfo out;
  out.name = volume;
  out.size = vi.size;
  out.read_only = read_only_ || (vi.flags & BP_VOLUME_READ_ONLY);
  out.min_block = 1;
  out.preferred_block = vi.preferred_block ? vi.preferred_block : 4096;
  uint32_t max_payload = vi.max_request ? vi.max_request : kDefaultMaxPayload;
  out.max_payload = std::min(max_payload, kCeilingMaxPayload);
  // The preferred size must not exceed the maximum for clients to honour both.
  out.preferred_block = std::min(out.preferred_block, out.max_payload);

  uint16_t tx = kTxHasFlags;
  if (out.read_only) tx |= kTxReadOnly;
  if (vi.flags & BP_VOLUME_CAN_FLUSH) tx |= kTxSendFlush;
  if (vi.flags & BP_VOLUME_CAN_FUA) tx |= kTxSendFua;
  if (vi.flags & BP_VOLUME_CAN_CACHE) tx |= kTxSendCache;
  if (vi.flags & BP_VOLUME_CAN_MULTI_CONN) tx |= kTxCanMultiConn;
  if (!out.read_only) {
    if (vi.flags & BP_VOLUME_CAN_TRIM) tx |= kTxSendTrim;
    if (vi.flags & BP_VOLUME_CAN_ZERO) {
      tx |= kTxSendWriteZeroes;
      if (vi.flags & BP_VOLUME_CAN_FAST_ZERO) tx |= kTxSendFastZero;
    }
  }
  out.transmission_flags = tx;

  std::vector<ExportEntry> entries;
  if (List(&entries)) {
    for (const ExportEntry& entry : entries) {
      if (entry.name == volume) out.description = entry.description.substr(0, kMaxStringLength);
    }
  }
  *info = std::move(out);
  *handle = std::move(opened);
  return true;
}

}  // namespace bpnbd
