// Validation of one transmission request against the negotiated export, before anything is
// handed to the host. Pure function: the same code decides the live server's replies, the unit
// tests' expectations and what a fuzzer explores.
//
// Decisions (in this order, first match wins), following the NBD spec's error guidance:
//   unknown command, or BLOCK_STATUS without base:allocation    → EINVAL
//   a flag not defined for the command or not advertised        → EINVAL
//     (PAYLOAD_LEN is required on an extended WRITE and refused elsewhere; DF and REQ_ONE
//      need structured replies; BLOCK_STATUS accepts REQ_ONE)
//   WRITE / TRIM / WRITE_ZEROES on a read-only export           → EPERM
//   a command whose transmission flag was not advertised        → EINVAL
//   FLUSH with non-zero offset or length                        → EINVAL
//   zero-length READ / WRITE / TRIM / WRITE_ZEROES / CACHE / BLOCK_STATUS → EINVAL
//   READ / WRITE longer than the advertised maximum payload     → EOVERFLOW
//   (TRIM, WRITE_ZEROES, CACHE and BLOCK_STATUS lengths are effect lengths: with extended
//    headers up to 64 bits)
//   range beyond the end: WRITE / WRITE_ZEROES → ENOSPC, others → EINVAL
#pragma once

#include <cstdint>

#include "export_catalog.h"
#include "nbd_protocol.h"

namespace bpnbd {

// Returns kNbdOk or the NBD error value to reply with. DISC is not checked here.
uint32_t CheckRequest(const RequestHeader& header, const ExportInfo& info,
                      const Features& features = Features{});

// The bp_io op and flags for a request that passed CheckRequest.
uint32_t BpOpForCommand(uint16_t type);
uint32_t BpFlagsForCommand(uint16_t type, uint16_t nbd_flags);

}  // namespace bpnbd
