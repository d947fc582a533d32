// Fuzz target: a whole client conversation through the NBD core. The input is what a client
// would send after the server's greeting — the 32-bit client flags, then options (IHAVEOPT
// magic, option, length, data) — framed exactly as the live connection frames it (option count
// cap, oversized data skipped and refused, too much data or a bad magic drops the client). Each
// option goes through bpnbd::Negotiation backed by the host's real volume API over in-memory
// volumes; every answer is checked against the protocol (nbd_properties.h). Once an export is
// entered, the remaining bytes are 28-byte request headers validated against that export.
//
// The first input byte picks the server side: bit 0/1 the export catalog (every volume, an
// allow-list of "alpha", read-only, or "alpha" limited to the TLS client "alice"), bit 2
// whether the server is shutting down, bits 3/4 the TLS mode (off, on, require). When the
// negotiation asks for a TLS handshake (the plaintext side of STARTTLS), the next input byte
// decides its outcome: a failed handshake (the connection closes), or a client identified as
// "alice", "mallory" or nobody. In transmission, request headers are compact or extended (32
// bytes) as negotiated, and BLOCK_STATUS is judged with the negotiated metadata context.
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
  ExportCatalog alice_only{volumes.api(), {}, false, {{"alpha", {"alice"}}}};

  Server() { FUZZ_CHECK(volumes.status().ok(), volumes.status().ToString()); }
  const ExportCatalog* Catalog(uint8_t selector) const {
    switch (selector & 3) {
      case 1: return &allow_alpha;
      case 2: return &read_only;
      default: return &alice_only;
    }
  }
};

Server& TheServer() {
  // Built on first use and kept for the process: creating volumes per input would dominate.
  static Server* server = new Server();
  return *server;
}

void RunRequests(bptest::InputCursor& in, const ExportInfo& info, const Features& features) {
  const size_t header = features.extended ? kExtendedRequestHeaderSize : kRequestHeaderSize;
  while (in.remaining() >= header) {
    RequestHeader h =
        features.extended ? DecodeExtendedRequestHeader(in.here()) : DecodeRequestHeader(in.here());
    in.Skip(header);
    if (h.magic != (features.extended ? kExtendedRequestMagic : kRequestMagic)) return;
    if (h.type == kCmdDisc) return;
    uint32_t decision = CheckRequest(h, info, features);
    if (!features.structured) bptest::CheckRequestDecision(h, info, decision);
    if (h.type == kCmdBlockStatus && decision == kNbdOk) {
      FUZZ_CHECK(features.allocation_context != 0, "BLOCK_STATUS accepted without a context");
      FUZZ_CHECK(h.length > 0 && h.offset <= info.size && h.length <= info.size - h.offset,
                 "BLOCK_STATUS outside the export accepted");
    }
    if (features.extended && h.type == kCmdWrite && decision == kNbdOk) {
      FUZZ_CHECK(h.flags & kCmdFlagPayloadLen, "extended WRITE without PAYLOAD_LEN accepted");
    }
    // A payload follows its header whether or not the request was accepted.
    const uint64_t payload = PayloadLength(h);
    if (payload > in.remaining()) return;
    in.Skip(static_cast<size_t>(payload));
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

  const TlsMode tls = ((selector >> 3) & 3) == 1   ? TlsMode::kOn
                      : ((selector >> 3) & 3) == 2 ? TlsMode::kRequire
                                                   : TlsMode::kOff;
  Negotiation negotiation(server.Catalog(selector), client_flags, tls);
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
    if (next == Negotiation::Next::kStartTls) {
      FUZZ_CHECK(tls != TlsMode::kOff, "STARTTLS accepted with TLS off");
      FUZZ_CHECK(!negotiation.tls_active(), "STARTTLS accepted twice");
      const uint8_t outcome = in.U8();
      if (outcome % 4 == 0) return 0;  // handshake failed: the connection closes
      negotiation.TlsEstablished(outcome % 4 == 1 ? "alice" : outcome % 4 == 2 ? "mallory" : "");
      FUZZ_CHECK(!negotiation.features().structured, "state survived STARTTLS");
      continue;
    }
    if (tls == TlsMode::kRequire && !(selector & 4) && !negotiation.tls_active() &&
        option != kOptStartTls && option != kOptAbort && next == Negotiation::Next::kContinue) {
      FUZZ_CHECK(out.size() >= 20 && LoadBe32(out.data() + 12) == kRepErrTlsReqd,
                 OptionName(option) + " answered in the clear on a TLS-only listener");
    }
    if (next == Negotiation::Next::kTransmission) {
      VolumeHandle volume = negotiation.TakeVolume();
      FUZZ_CHECK(static_cast<bool>(volume), "entered transmission without an open volume");
      FUZZ_CHECK(tls != TlsMode::kRequire || negotiation.tls_active(),
                 "transmission without TLS on a TLS-only listener");
      RunRequests(in, negotiation.export_info(), negotiation.features());
      return 0;
    }
  }
  return 0;
}
