// What must hold for every answer the NBD core gives, whatever the client sent: option replies
// are well-formed protocol messages that echo the option and end the way the spec says, and a
// transmission request that passes CheckRequest is safe to hand to the volume (known command,
// advertised flags only, range inside the export, payload within the advertised maximum).
// Shared by the NBD fuzz targets; each violation aborts through FUZZ_CHECK.
#pragma once

#include <cstdint>
#include <vector>

#include "export_catalog.h"
#include "nbd_protocol.h"
#include "negotiation.h"

namespace bptest {

// `out` is what Negotiation appended for one option that returned `next`. no_zeroes: the client
// flag. export_info: the negotiated export when next is kTransmission.
void CheckNegotiationOutput(uint32_t option, bpnbd::Negotiation::Next next, bool no_zeroes,
                            const std::vector<uint8_t>& out, const bpnbd::ExportInfo& export_info);

// `decision` is CheckRequest(header, info).
void CheckRequestDecision(const bpnbd::RequestHeader& header, const bpnbd::ExportInfo& info,
                          uint32_t decision);

// An export description as ExportCatalog::Open can produce one, chosen by the fuzzer.
bpnbd::ExportInfo ExportInfoFromBytes(uint8_t shape, uint64_t size, uint32_t max_payload);

}  // namespace bptest
