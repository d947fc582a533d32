// The NBD properties of nbd_properties.h. Each check is derived from the protocol document
// (NetworkBlockDevice doc/proto.md), not from the implementation under test.
#include "nbd_properties.h"

#include <string>

#include "fuzz_check.h"
#include "request_check.h"

#include <blockpipe/bp_frontend.h>

namespace bptest {

using namespace bpnbd;

namespace {

void CheckInfoPayload(const uint8_t* payload, uint32_t length) {
  FUZZ_CHECK(length >= 2, "NBD_REP_INFO without an info type");
  uint16_t type = LoadBe16(payload);
  if (type == kInfoExport) {
    FUZZ_CHECK(length == 12, "NBD_INFO_EXPORT must be 12 bytes, is " + std::to_string(length));
    uint16_t flags = LoadBe16(payload + 10);
    FUZZ_CHECK(flags & kTxHasFlags, "transmission flags without NBD_FLAG_HAS_FLAGS");
  } else if (type == kInfoBlockSize) {
    FUZZ_CHECK(length == 14, "NBD_INFO_BLOCK_SIZE must be 14 bytes");
    uint32_t min = LoadBe32(payload + 2), preferred = LoadBe32(payload + 6),
             max = LoadBe32(payload + 10);
    FUZZ_CHECK(min >= 1 && min <= 65536 && (min & (min - 1)) == 0,
               "minimum block size must be a power of two up to 64 KiB");
    FUZZ_CHECK(preferred >= min && preferred <= max, "block sizes out of order");
  } else if (type == kInfoName || type == kInfoDescription) {
    FUZZ_CHECK(length - 2 <= kMaxStringLength, "info string longer than 4096 bytes");
  } else {
    FUZZ_CHECK(false, "server sent info type it was never asked for: " + std::to_string(type));
  }
}

}  // namespace

void CheckNegotiationOutput(uint32_t option, Negotiation::Next next, bool no_zeroes,
                            const std::vector<uint8_t>& out, const ExportInfo& export_info) {
  using Next = Negotiation::Next;
  if (option == kOptExportName) {
    // EXPORT_NAME has no option reply: either the export's size and flags, or a disconnect.
    if (next == Next::kClose) {
      FUZZ_CHECK(out.empty(), "bytes sent before dropping a failed NBD_OPT_EXPORT_NAME");
      return;
    }
    FUZZ_CHECK(next == Next::kTransmission, "NBD_OPT_EXPORT_NAME cannot continue negotiation");
    FUZZ_CHECK(out.size() == (no_zeroes ? 10u : 134u),
               "NBD_OPT_EXPORT_NAME reply is " + std::to_string(out.size()) + " bytes");
    FUZZ_CHECK(LoadBe64(out.data()) == export_info.size, "advertised size differs");
    FUZZ_CHECK(LoadBe16(out.data() + 8) == export_info.transmission_flags,
               "advertised flags differ");
    return;
  }
  if (next == Next::kClose) {
    if (option == kOptAbort && !out.empty()) {
      FUZZ_CHECK(out.size() == 20 && LoadBe64(out.data()) == kOptReplyMagic &&
                     LoadBe32(out.data() + 12) == kRepAck && LoadBe32(out.data() + 16) == 0,
                 "NBD_OPT_ABORT must be answered by one empty ACK");
    } else {
      FUZZ_CHECK(out.empty(), "bytes sent before closing");
    }
    return;
  }
  // Every other option gets one or more replies; the last is an ACK or an error.
  FUZZ_CHECK(!out.empty(), "option left unanswered");
  size_t pos = 0;
  uint32_t last_type = 0;
  while (pos < out.size()) {
    FUZZ_CHECK(out.size() - pos >= 20, "truncated option reply header");
    FUZZ_CHECK(LoadBe64(out.data() + pos) == kOptReplyMagic, "bad option reply magic");
    FUZZ_CHECK(LoadBe32(out.data() + pos + 8) == option, "reply does not echo the option");
    uint32_t type = LoadBe32(out.data() + pos + 12);
    uint32_t length = LoadBe32(out.data() + pos + 16);
    FUZZ_CHECK(out.size() - pos - 20 >= length, "reply length exceeds the bytes sent");
    const uint8_t* payload = out.data() + pos + 20;
    FUZZ_CHECK(last_type != kRepAck && !(last_type & kRepErrBit),
               "reply after the final ACK or error");
    if (type == kRepAck) {
      FUZZ_CHECK(length == 0, "ACK with a payload");
    } else if (type == kRepServer) {
      FUZZ_CHECK(option == kOptList, "NBD_REP_SERVER outside NBD_OPT_LIST");
      FUZZ_CHECK(length >= 4 && LoadBe32(payload) <= length - 4, "bad NBD_REP_SERVER name length");
    } else if (type == kRepMetaContext) {
      FUZZ_CHECK(option == kOptListMetaContext || option == kOptSetMetaContext,
                 "NBD_REP_META_CONTEXT outside LIST/SET_META_CONTEXT");
      FUZZ_CHECK(length > 4 && std::string(reinterpret_cast<const char*>(payload + 4),
                                           length - 4) == kMetaBaseAllocation,
                 "a metadata context other than base:allocation");
    } else if (type == kRepInfo) {
      FUZZ_CHECK(option == kOptInfo || option == kOptGo, "NBD_REP_INFO outside INFO/GO");
      CheckInfoPayload(payload, length);
    } else {
      FUZZ_CHECK(type & kRepErrBit, "unknown reply type " + std::to_string(type));
      FUZZ_CHECK(length <= kMaxStringLength, "error message longer than 4096 bytes");
    }
    last_type = type;
    pos += 20 + length;
  }
  FUZZ_CHECK(last_type == kRepAck || (last_type & kRepErrBit), "replies do not end");
  if (next == Next::kStartTls) {
    FUZZ_CHECK(option == kOptStartTls && last_type == kRepAck && out.size() == 20,
               "TLS starts only after one ACK of NBD_OPT_STARTTLS");
  }
  if (next == Next::kTransmission) {
    FUZZ_CHECK(option == kOptGo && last_type == kRepAck,
               "only a successful NBD_OPT_GO enters transmission here");
  }
}

void CheckRequestDecision(const RequestHeader& h, const ExportInfo& info, uint32_t decision) {
  const uint16_t tx = info.transmission_flags;
  const bool known = h.type == kCmdRead || h.type == kCmdWrite || h.type == kCmdFlush ||
                     h.type == kCmdTrim || h.type == kCmdWriteZeroes || h.type == kCmdCache;
  const bool writes = h.type == kCmdWrite || h.type == kCmdTrim || h.type == kCmdWriteZeroes;
  if (!known) {
    FUZZ_CHECK(decision == kNbdEinval, "unknown command " + std::to_string(h.type) + " accepted");
    return;
  }
  if (decision != kNbdOk) {
    FUZZ_CHECK(decision == kNbdEinval || decision == kNbdEperm || decision == kNbdEoverflow ||
                   decision == kNbdEnospc,
               "unexpected refusal " + std::to_string(decision));
    // ENOSPC is for writes past the end only; EPERM only for writes to a read-only export.
    if (decision == kNbdEnospc) {
      FUZZ_CHECK(h.type == kCmdWrite || h.type == kCmdWriteZeroes, "ENOSPC on a non-write");
    }
    if (decision == kNbdEperm) FUZZ_CHECK(writes && info.read_only, "EPERM without a reason");
    return;
  }
  // Accepted: the host may now act on it without further checks.
  FUZZ_CHECK(BpOpForCommand(h.type) != 0, "accepted command has no volume operation");
  FUZZ_CHECK(!(writes && info.read_only), "write accepted on a read-only export");
  if ((h.flags & kCmdFlagFua)) FUZZ_CHECK(tx & kTxSendFua, "FUA accepted but not advertised");
  if (h.flags & kCmdFlagFastZero) {
    FUZZ_CHECK(h.type == kCmdWriteZeroes && (tx & kTxSendFastZero), "FAST_ZERO misaccepted");
  }
  if (h.flags & kCmdFlagNoHole) FUZZ_CHECK(h.type == kCmdWriteZeroes, "NO_HOLE misaccepted");
  FUZZ_CHECK(!(h.flags & (kCmdFlagDf | kCmdFlagReqOne)), "flag for an unnegotiated feature");
  if (h.type == kCmdFlush) {
    FUZZ_CHECK(tx & kTxSendFlush, "FLUSH accepted but not advertised");
    FUZZ_CHECK(h.offset == 0 && h.length == 0, "FLUSH with a range accepted");
    return;
  }
  if (h.type == kCmdTrim) FUZZ_CHECK(tx & kTxSendTrim, "TRIM accepted but not advertised");
  if (h.type == kCmdWriteZeroes) FUZZ_CHECK(tx & kTxSendWriteZeroes, "WRITE_ZEROES misaccepted");
  if (h.type == kCmdCache) FUZZ_CHECK(tx & kTxSendCache, "CACHE accepted but not advertised");
  FUZZ_CHECK(h.length > 0, "zero-length request accepted");
  FUZZ_CHECK(h.offset <= info.size && h.length <= info.size - h.offset,
             "range beyond the export accepted");
  if (h.type == kCmdRead || h.type == kCmdWrite) {
    FUZZ_CHECK(h.length <= info.max_payload, "payload above the advertised maximum accepted");
  }
  uint32_t flags = BpFlagsForCommand(h.type, h.flags);
  FUZZ_CHECK(((flags & BP_IO_FLAG_FUA) != 0) == ((h.flags & kCmdFlagFua) != 0), "FUA lost");
  FUZZ_CHECK(((flags & BP_IO_FLAG_FAST_ZERO) != 0) == ((h.flags & kCmdFlagFastZero) != 0),
             "FAST_ZERO lost");
}

ExportInfo ExportInfoFromBytes(uint8_t shape, uint64_t size, uint32_t max_payload) {
  ExportInfo info;
  info.name = "fuzz";
  info.size = size;
  info.read_only = shape & 1;
  info.max_payload = max_payload ? max_payload : 1;
  info.preferred_block = info.max_payload < 4096 ? info.max_payload : 4096;
  uint16_t tx = kTxHasFlags;
  if (info.read_only) tx |= kTxReadOnly;
  if (shape & 2) tx |= kTxSendFlush;
  if (shape & 4) tx |= kTxSendFua;
  if (shape & 8) tx |= kTxSendCache;
  if (shape & 16) tx |= kTxCanMultiConn;
  if (!info.read_only) {
    if (shape & 32) tx |= kTxSendTrim;
    if (shape & 64) {
      tx |= kTxSendWriteZeroes;
      if (shape & 128) tx |= kTxSendFastZero;
    }
  }
  info.transmission_flags = tx;
  return info;
}

}  // namespace bptest
