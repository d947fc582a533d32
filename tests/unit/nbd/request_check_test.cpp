// CheckRequest's decision table (request_check.h) case by case, the NBD → bp_io mapping, the
// request header decoder and the errno → NBD error mapping of nbd_protocol.
#include <gtest/gtest.h>

#include <cerrno>

#include <blockpipe/bp_frontend.h>

#include "nbd_test_util.h"
#include "request_check.h"

namespace bpnbd::test {
namespace {

ExportInfo Writable(uint64_t size = 1u << 20) {
  ExportInfo info;
  info.name = "v";
  info.size = size;
  info.max_payload = 64u << 10;
  info.transmission_flags = kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim |
                            kTxSendWriteZeroes | kTxSendFastZero | kTxSendCache;
  return info;
}

ExportInfo ReadOnly() {
  ExportInfo info = Writable();
  info.read_only = true;
  info.transmission_flags = kTxHasFlags | kTxReadOnly | kTxSendFlush | kTxSendFua;
  return info;
}

RequestHeader Req(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0) {
  RequestHeader h;
  h.magic = kRequestMagic;
  h.type = type;
  h.offset = offset;
  h.length = length;
  h.flags = flags;
  return h;
}

TEST(CheckRequest, ValidRequestsPass) {
  const ExportInfo info = Writable();
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096), info), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, (1u << 20) - 1, 1, kCmdFlagFua), info), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 0), info), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 0, kCmdFlagFua), info), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 1u << 20), info), kNbdOk);
  EXPECT_EQ(
      CheckRequest(Req(kCmdWriteZeroes, 0, 1u << 20, kCmdFlagNoHole | kCmdFlagFastZero), info),
      kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdCache, 512, 512), info), kNbdOk);
}

TEST(CheckRequest, UnknownCommandsAndBlockStatusAreEinval) {
  const ExportInfo info = Writable();
  EXPECT_EQ(CheckRequest(Req(kCmdBlockStatus, 0, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(8, 0, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(0xffff, 0, 4096), info), kNbdEinval);
}

TEST(CheckRequest, BlockStatusNeedsBaseAllocationAndTakesReqOne) {
  const ExportInfo info = Writable();
  Features f;
  f.structured = true;
  EXPECT_EQ(CheckRequest(Req(kCmdBlockStatus, 0, 4096), info, f), kNbdEinval);
  f.allocation_context = 1;
  EXPECT_EQ(CheckRequest(Req(kCmdBlockStatus, 0, 4096, kCmdFlagReqOne), info, f), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdBlockStatus, 0, 0), info, f), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdBlockStatus, 1u << 20, 1), info, f), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, kCmdFlagReqOne), info, f), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, kCmdFlagDf), info, f), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, kCmdFlagDf), info), kNbdEinval)
      << "DF without structured replies";
}

TEST(CheckRequest, ExtendedHeadersPayloadFlagAnd64BitLengths) {
  const ExportInfo info = Writable(8ull << 30);
  Features f;
  f.structured = f.extended = true;
  RequestHeader w = Req(kCmdWrite, 0, 4096, kCmdFlagPayloadLen);
  w.extended = true;
  EXPECT_EQ(CheckRequest(w, info, f), kNbdOk);
  EXPECT_EQ(PayloadLength(w), 4096u);
  w.flags = 0;
  EXPECT_EQ(CheckRequest(w, info, f), kNbdEinval) << "WRITE without PAYLOAD_LEN";
  EXPECT_EQ(PayloadLength(w), 0u);
  RequestHeader t = Req(kCmdTrim, 0, 0);
  t.extended = true;
  t.length = 6ull << 30;  // beyond 32 bits
  EXPECT_EQ(CheckRequest(t, info, f), kNbdOk);
  t.length = 9ull << 30;
  EXPECT_EQ(CheckRequest(t, info, f), kNbdEinval);
  t.length = 512;
  t.flags = kCmdFlagPayloadLen;
  EXPECT_EQ(CheckRequest(t, info, f), kNbdEinval) << "payload on TRIM";
  EXPECT_EQ(PayloadLength(t), 512u);
}

TEST(CheckRequest, FlagsNotDefinedOrNotAdvertisedAreEinval) {
  ExportInfo info = Writable();
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, kCmdFlagDf), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, kCmdFlagReqOne), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 4096, kCmdFlagNoHole), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 4096, kCmdFlagFastZero), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096, 1u << 15), info), kNbdEinval);
  info.transmission_flags &= static_cast<uint16_t>(~(kTxSendFua | kTxSendFastZero));
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 4096, kCmdFlagFua), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 0, 4096, kCmdFlagFastZero), info), kNbdEinval);
}

TEST(CheckRequest, WritesToReadOnlyExportAreEperm) {
  const ExportInfo info = ReadOnly();
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 4096), info), kNbdEperm);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 4096), info), kNbdEperm);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 0, 4096), info), kNbdEperm);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096), info), kNbdOk);
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 0), info), kNbdOk);
}

TEST(CheckRequest, CommandsWithoutTheirTransmissionFlagAreEinval) {
  ExportInfo info = Writable();
  info.transmission_flags = kTxHasFlags;
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 0), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 0, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdCache, 0, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 4096), info), kNbdOk);
}

TEST(CheckRequest, FlushWithRangeAndZeroLengthRequestsAreEinval) {
  const ExportInfo info = Writable();
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 4096, 0), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 1), info), kNbdEinval);
  for (uint16_t type : {kCmdRead, kCmdWrite, kCmdTrim, kCmdWriteZeroes, kCmdCache}) {
    EXPECT_EQ(CheckRequest(Req(type, 0, 0), info), kNbdEinval) << CommandName(type);
  }
}

TEST(CheckRequest, PayloadAboveMaximumIsEoverflow) {
  const ExportInfo info = Writable();
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, (64u << 10) + 1), info), kNbdEoverflow);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, (64u << 10) + 1), info), kNbdEoverflow);
  // TRIM and WRITE_ZEROES carry no payload: only the export's size bounds them.
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 1u << 20), info), kNbdOk);
}

TEST(CheckRequest, RangesPastTheEndAreEnospcForWritesAndEinvalOtherwise) {
  const ExportInfo info = Writable(1u << 20);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, (1u << 20) - 4095, 4096), info), kNbdEnospc);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 1u << 20, 1), info), kNbdEnospc);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, (1u << 20) - 1, 2), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 2u << 20, 1), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdCache, 1u << 20, 1), info), kNbdEinval);
}

TEST(CheckRequest, OffsetPlusLengthNeverWraps) {
  const ExportInfo info = Writable(~0ull - 100);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, ~0ull - 10, 4096), info), kNbdEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, ~0ull, 1), info), kNbdEnospc);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, ~0ull - 4196, 4096), info), kNbdOk);
}

TEST(RequestMapping, CommandsAndFlagsMapToVolumeOps) {
  EXPECT_EQ(BpOpForCommand(kCmdRead), BP_IO_OP_READ);
  EXPECT_EQ(BpOpForCommand(kCmdWrite), BP_IO_OP_WRITE);
  EXPECT_EQ(BpOpForCommand(kCmdFlush), BP_IO_OP_FLUSH);
  EXPECT_EQ(BpOpForCommand(kCmdTrim), BP_IO_OP_TRIM);
  EXPECT_EQ(BpOpForCommand(kCmdWriteZeroes), BP_IO_OP_WRITE_ZEROES);
  EXPECT_EQ(BpOpForCommand(kCmdCache), BP_IO_OP_CACHE);
  EXPECT_EQ(BpOpForCommand(kCmdDisc), 0u);
  EXPECT_EQ(BpFlagsForCommand(kCmdWrite, kCmdFlagFua), BP_IO_FLAG_FUA);
  EXPECT_EQ(BpFlagsForCommand(kCmdWriteZeroes, kCmdFlagNoHole | kCmdFlagFastZero | kCmdFlagFua),
            BP_IO_FLAG_NO_HOLE | BP_IO_FLAG_FAST_ZERO | BP_IO_FLAG_FUA);
  // NO_HOLE / FAST_ZERO mean nothing on other commands and must not leak into them.
  EXPECT_EQ(BpFlagsForCommand(kCmdTrim, kCmdFlagNoHole | kCmdFlagFastZero), 0u);
}

TEST(RequestHeader, DecodesBigEndianFieldsAndKeepsCookie) {
  const uint8_t raw[kRequestHeaderSize] = {0x25, 0x60, 0x95, 0x13,                    // magic
                                           0x00, 0x01,                                // flags: FUA
                                           0x00, 0x01,                                // WRITE
                                           1,    2,    3,    4,    5, 6, 7,    8,     // cookie
                                           0,    0,    0,    0,    0, 0, 0x10, 0x00,  // offset 4096
                                           0,    0,    0x02, 0x00};                   // length 512
  RequestHeader h = DecodeRequestHeader(raw);
  EXPECT_EQ(h.magic, kRequestMagic);
  EXPECT_EQ(h.flags, kCmdFlagFua);
  EXPECT_EQ(h.type, kCmdWrite);
  EXPECT_EQ(h.offset, 4096u);
  EXPECT_EQ(h.length, 512u);
  uint8_t reply[kSimpleReplySize];
  EncodeSimpleReply(reply, kNbdEnospc, h.cookie);
  EXPECT_EQ(LoadBe32(reply), kSimpleReplyMagic);
  EXPECT_EQ(LoadBe32(reply + 4), kNbdEnospc);
  EXPECT_EQ(std::memcmp(reply + 8, raw + 8, 8), 0);
}

TEST(NbdErrorFromErrno, MapsHostErrorsToProtocolErrors) {
  EXPECT_EQ(NbdErrorFromErrno(0, 0), kNbdOk);
  EXPECT_EQ(NbdErrorFromErrno(EROFS, 0), kNbdEperm);
  EXPECT_EQ(NbdErrorFromErrno(EIO, 0), kNbdEio);
  EXPECT_EQ(NbdErrorFromErrno(ENOSPC, 0), kNbdEnospc);
  EXPECT_EQ(NbdErrorFromErrno(EINVAL, 0), kNbdEinval);
  EXPECT_EQ(NbdErrorFromErrno(ESHUTDOWN, 0), kNbdEshutdown);
  EXPECT_EQ(NbdErrorFromErrno(ENOTSUP, kCmdFlagFastZero), kNbdEnotsup);
  EXPECT_EQ(NbdErrorFromErrno(ENOTSUP, 0), kNbdEinval);
  EXPECT_EQ(NbdErrorFromErrno(ETIMEDOUT, 0), kNbdEio);
  EXPECT_EQ(NbdErrorFromErrno(-5, 0), kNbdEio);
}

TEST(Names, CommandAndOptionNamesForLogs) {
  EXPECT_EQ(CommandName(kCmdWriteZeroes), "WRITE_ZEROES");
  EXPECT_EQ(CommandName(99), "cmd#99");
  EXPECT_EQ(OptionName(kOptGo), "NBD_OPT_GO");
  EXPECT_EQ(OptionName(4242), "option#4242");
}

}  // namespace
}  // namespace bpnbd::test
