// Validation of one transmission request against the negotiated export, before anything is
// handed to the host. Pure function: the same code decides the live server's replies, the unit
// tests' expectations and what a fuzzer explores.
//
// Decisions (in this order, first match wins), following the NBD spec's error guidance:
//   unknown command, or BLOCK_STATUS (never negotiated)         → EINVAL
//   a flag not defined for the command or not advertised        → EINVAL
//   WRITE / TRIM / WRITE_ZEROES on a read-only export           → EPERM
//   a command whose transmission flag was not advertised        → EINVAL
//   FLUSH with non-zero offset or length                        → EINVAL
//   zero-length READ / WRITE / TRIM / WRITE_ZEROES / CACHE      → EINVAL
//   READ / WRITE longer than the advertised maximum payload     → EOVERFLOW
//   range beyond the end: WRITE / WRITE_ZEROES → ENOSPC, others → EINVAL
#pragma once

#include <cstdint>

#include "export_catalog.h"
#include "nbd_protocol.h"

namespace bpnbd {

// Returns kNbdOk or the NBD error value to reply with. DISC is not checked here.
uint32_t CheckRequest(const RequestHeader& header, const ExportInfo& info);

// The bp_io op and flags for a request that passed CheckRequest.
uint32_t BpOpForCommand(uint16_t type);
uint32_t BpFlagsForCommand(uint16_t type, uint16_t nbd_flags);

}  // namespace bpnbd
