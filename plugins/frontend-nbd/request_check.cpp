// CheckRequest and the NBD → bp_io mapping. See request_check.h for the decision table; the
// order matters because clients (and the spec) expect EPERM for writes to a read-only export
// even though the write-side transmission flags are not advertised there.
#include "request_check.h"

#include <blockpipe/bp_frontend.h>

namespace bpnbd {

uint32_t CheckRequest(const RequestHeader& h, const ExportInfo& info, const Features& features) {
  const uint16_t tx = info.transmission_flags;
  // FUA is valid on every command once advertised (clients are known to set it on FLUSH too).
  uint16_t allowed_flags = (tx & kTxSendFua) ? kCmdFlagFua : 0;
  bool writes = false;
  uint16_t required_tx = 0;
  switch (h.type) {
    case kCmdRead:
      if (features.structured) allowed_flags |= kCmdFlagDf;
      break;
    case kCmdWrite: writes = true; break;
    case kCmdFlush: required_tx = kTxSendFlush; break;
    case kCmdTrim:
      writes = true;
      required_tx = kTxSendTrim;
      break;
    case kCmdWriteZeroes:
      writes = true;
      required_tx = kTxSendWriteZeroes;
      allowed_flags |= kCmdFlagNoHole;
      if (tx & kTxSendFastZero) allowed_flags |= kCmdFlagFastZero;
      break;
    case kCmdCache: required_tx = kTxSendCache; break;
    case kCmdBlockStatus:
      if (features.allocation_context == 0) return kNbdEinval;
      allowed_flags |= kCmdFlagReqOne;
      break;
    default: return kNbdEinval;
  }
  // With extended headers the payload flag must be on exactly the WRITEs (no other command of
  // ours takes a payload); compact headers have no such flag.
  if (h.extended && h.type == kCmdWrite) {
    if (!(h.flags & kCmdFlagPayloadLen)) return kNbdEinval;
    allowed_flags |= kCmdFlagPayloadLen;
  }
  if (h.flags & ~allowed_flags) return kNbdEinval;
  if (writes && info.read_only) return kNbdEperm;
  if (required_tx && !(tx & required_tx)) return kNbdEinval;

  if (h.type == kCmdFlush) return (h.offset || h.length) ? kNbdEinval : kNbdOk;
  if (h.length == 0) return kNbdEinval;
  if ((h.type == kCmdRead || h.type == kCmdWrite) && h.length > info.max_payload) {
    return kNbdEoverflow;
  }
  if (h.offset > info.size || h.length > info.size - h.offset) {
    return (h.type == kCmdWrite || h.type == kCmdWriteZeroes) ? kNbdEnospc : kNbdEinval;
  }
  return kNbdOk;
}

uint32_t BpOpForCommand(uint16_t type) {
  switch (type) {
    case kCmdRead: return BP_IO_OP_READ;
    case kCmdWrite: return BP_IO_OP_WRITE;
    case kCmdFlush: return BP_IO_OP_FLUSH;
    case kCmdTrim: return BP_IO_OP_TRIM;
    case kCmdWriteZeroes: return BP_IO_OP_WRITE_ZEROES;
    case kCmdCache: return BP_IO_OP_CACHE;
    default: return 0;
  }
}

uint32_t BpFlagsForCommand(uint16_t type, uint16_t nbd_flags) {
  uint32_t flags = 0;
  if (nbd_flags & kCmdFlagFua) flags |= BP_IO_FLAG_FUA;
  if (type == kCmdWriteZeroes) {
    if (nbd_flags & kCmdFlagNoHole) flags |= BP_IO_FLAG_NO_HOLE;
    if (nbd_flags & kCmdFlagFastZero) flags |= BP_IO_FLAG_FAST_ZERO;
  }
  return flags;
}

}  // namespace bpnbd
