// Fuzz target: a whole client conversation through the NBD core. The input is what a client
// would send after the server's greeting — the 32-bit client flags, then options (IHAVEOPT
// magic, option, length, data) — framed exactly as the live connection frames it (option count
// cap, oversized data skipped and refused, too much data or a bad magic drops the client). Each
// option goes through bpnbd::Negotiation backed by the host's real volume API over in-memory
// volumes; every answer is checked against the protocol (nbd_properties.h). Once an export is
// entered, the remaining bytes are 28-byte request headers validated against that export.
//
// The first input byte picks the server side: bit 0/1 the export catalog (every volume, an
// allow-list of "alpha", or read-only), bit 2 whether the server is shutting down.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "export_catalog.h"
#include "nbd_protocol.h"
#include "negotiation.h"
#include "request_check.h"
#include "support/fuzz_check.h"
#include "support/identity_volumes.h"
#include "support/nbd_properties.h"

namespace {

using namespace bpnbd;

struct Server {
  bptest::IdentityVolumes volumes{
      {{"default", 1u << 20}, {"alpha", 64u << 10}, {"beta", 8u << 20}}};
  ExportCatalog everything{volumes.api(), {}, false};
  ExportCatalog allow_alpha{volumes.api(), {"alpha"}, false};
  ExportCatalog read_only{volumes.api(), {}, true};

  Server() { FUZZ_CHECK(volumes.status().ok(), volumes.status().ToString()); }
  const ExportCatalog* Catalog(uint8_t selector) const {
    switch (selector & 3) {
      case 1: return &allow_alpha;
      case 2: return &read_only;
      default: return &everything;
    }
  }
};

Server& TheServer() {
  // Built on first use and kept for the process: creating volumes per input would dominate.
  static Server* server = new Server();
  return *server;
}

void RunRequests(bptest::InputCursor& in, const ExportInfo& info) {
  while (in.remaining() >= kRequestHeaderSize) {
    RequestHeader h = DecodeRequestHeader(in.here());
    in.Skip(kRequestHeaderSize);
    if (h.magic != kRequestMagic) return;  // the connection drops the client here
    if (h.type == kCmdDisc) return;
    uint32_t decision = CheckRequest(h, info);
    bptest::CheckRequestDecision(h, info, decision);
    // A WRITE's payload follows its header whether or not it was accepted.
    if (h.type == kCmdWrite) in.Skip(h.length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& server = TheServer();
  bptest::InputCursor in(data, size);
  const uint8_t selector = in.U8();
  if (in.remaining() < 4) return 0;
  const uint32_t client_flags = in.BigEndian(4);
  if (client_flags & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes)) return 0;

  Negotiation negotiation(server.Catalog(selector), client_flags);
  if (selector & 4) negotiation.SetShuttingDown();
  const bool no_zeroes = client_flags & kClientFlagNoZeroes;

  std::vector<uint8_t> out;
  for (uint32_t seen = 0; in.remaining() >= 16; ++seen) {
    if (in.BigEndian(4) != static_cast<uint32_t>(kOptMagic >> 32) ||
        in.BigEndian(4) != static_cast<uint32_t>(kOptMagic)) {
      return 0;
    }
    const uint32_t option = in.BigEndian(4);
    const uint32_t length = in.BigEndian(4);
    if (seen >= kMaxOptionsPerConnection || length > kMaxSkippedOptionData) return 0;
    if (length > in.remaining()) return 0;  // the server would still be waiting for data
    out.clear();
    Negotiation::Next next;
    if (length > kMaxBufferedOptionData) {
      next = negotiation.HandleOversizedOption(option, &out);
    } else {
      // A private copy: the negotiation must not read past the option's own bytes.
      std::vector<uint8_t> option_data(in.here(), in.here() + length);
      next = negotiation.HandleOption(option, option_data.data(), option_data.size(), &out);
    }
    in.Skip(length);
    bptest::CheckNegotiationOutput(option, next, no_zeroes, out, negotiation.export_info());
    if (next == Negotiation::Next::kClose) return 0;
    if (next == Negotiation::Next::kTransmission) {
      VolumeHandle volume = negotiation.TakeVolume();
      FUZZ_CHECK(static_cast<bool>(volume), "entered transmission without an open volume");
      RunRequests(in, negotiation.export_info());
      return 0;
    }
  }
  return 0;
}
