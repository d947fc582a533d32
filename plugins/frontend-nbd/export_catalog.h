// ExportCatalog: the frontend's view of the host's volumes as NBD exports. It applies the
// `exports` allow-list, maps the default export name "" to the volume "default", opens per-
// connection volume references (VolumeHandle, closed on destruction) and turns bp_volume_info
// into what the handshake advertises: size, transmission flags and block-size constraints.
// Thread-safe: it holds only immutable settings and calls the host's thread-safe volume API.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <blockpipe/bp_frontend.h>

namespace bpnbd {

// One open volume reference. Move-only; closing is the destructor's job so no path can leak it.
class VolumeHandle {
 public:
  VolumeHandle() = default;
  VolumeHandle(const bp_volume_api* api, bp_volume* volume) : api_(api), volume_(volume) {}
  VolumeHandle(VolumeHandle&& other) noexcept { *this = std::move(other); }
  VolumeHandle& operator=(VolumeHandle&& other) noexcept;
  VolumeHandle(const VolumeHandle&) = delete;
  VolumeHandle& operator=(const VolumeHandle&) = delete;
  ~VolumeHandle() { Close(); }

  explicit operator bool() const { return volume_ != nullptr; }
  // Hands the request to the host; io->done runs exactly once, on any thread.
  void Submit(bp_io* io) const { api_->submit(volume_, io); }
  // The allocation of [offset, offset+length): at most max extents into *out, at least one.
  // A host without the extents slot (ABI < 1.7), or a failed query, yields one data extent
  // over the whole range, which is always true. Never blocks on I/O.
  void Extents(uint64_t offset, uint64_t length, uint32_t max, std::vector<bp_extent>* out) const;
  void Close();

 private:
  const bp_volume_api* api_ = nullptr;
  bp_volume* volume_ = nullptr;
};

// What a client learns about an export during negotiation.
struct ExportInfo {
  std::string name;         // the volume name
  std::string description;  // may be empty
  uint64_t size = 0;
  uint16_t transmission_flags = 0;  // kTx* bits
  uint32_t min_block = 1;
  uint32_t preferred_block = 4096;
  uint32_t max_payload = 32u << 20;  // largest READ/WRITE payload the server accepts
  bool read_only = false;
};

struct ExportEntry {
  std::string name;
  std::string description;
  uint64_t size = 0;
};

class ExportCatalog {
 public:
  // Volume name → TLS client identities allowed to use it (see PermitsClient).
  using ClientRules = std::map<std::string, std::vector<std::string>>;

  ExportCatalog(const bp_volume_api* api, std::vector<std::string> allowed, bool read_only,
                ClientRules clients = {})
      : api_(api),
        allowed_(std::move(allowed)),
        read_only_(read_only),
        clients_(std::move(clients)) {}

  // True when `volume` has a list of allowed TLS client identities: it is then served only to
  // TLS clients on that list.
  bool RestrictsClients(const std::string& volume) const;
  // Whether a client may use `volume`: always for a volume without rules; otherwise the client's
  // TLS identity (PSK identity or certificate subject) or certificate common name must be
  // listed. identity is empty for a plaintext client.
  bool PermitsClient(const std::string& volume, const std::string& identity,
                     const std::string& common_name) const;

  // Every volume the client may use, in the host's order. False if the host's list failed.
  bool List(std::vector<ExportEntry>* out) const;

  // Client-facing name → volume name; false when the name is not exportable ("" maps to
  // "default" when such a volume exists).
  bool Resolve(const std::string& requested, std::string* volume) const;

  // Opens a reference to an exportable volume and describes it. On failure returns false with a
  // message suitable for the client.
  bool Open(const std::string& volume, VolumeHandle* handle, ExportInfo* info,
            std::string* error) const;

 private:
  bool Allowed(const std::string& volume) const;

  const bp_volume_api* api_;
  std::vector<std::string> allowed_;
  bool read_only_;
  ClientRules clients_;
};

}  // namespace bpnbd
