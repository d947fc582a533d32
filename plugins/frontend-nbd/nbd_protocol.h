// NBD wire protocol: the magic numbers, option/command/flag values and error codes of the
// fixed-newstyle protocol (NetworkBlockDevice doc/proto.md), plus big-endian load/store helpers.
// Everything here is pure data and inline functions so the parsers that use it can be unit-tested
// and fuzzed without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace bpnbd {

// ---- Handshake -------------------------------------------------------------------------------
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943ull;  // "NBDMAGIC"
inline constexpr uint64_t kOptMagic = 0x49484156454F5054ull;  // "IHAVEOPT"
inline constexpr uint64_t kOptReplyMagic = 0x0003e889045565a9ull;

// Handshake flags (server) and client flags.
inline constexpr uint16_t kFlagFixedNewstyle = 1u << 0;
inline constexpr uint16_t kFlagNoZeroes = 1u << 1;
inline constexpr uint32_t kClientFlagFixedNewstyle = 1u << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1u << 1;

// Options.
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;
inline constexpr uint32_t kOptExtendedHeaders = 11;

// Option reply types.
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;
inline constexpr uint32_t kRepInfo = 3;
inline constexpr uint32_t kRepMetaContext = 4;
inline constexpr uint32_t kRepErrBit = 1u << 31;
inline constexpr uint32_t kRepErrUnsup = kRepErrBit | 1;
inline constexpr uint32_t kRepErrPolicy = kRepErrBit | 2;
inline constexpr uint32_t kRepErrInvalid = kRepErrBit | 3;
inline constexpr uint32_t kRepErrTlsReqd = kRepErrBit | 5;
inline constexpr uint32_t kRepErrUnknown = kRepErrBit | 6;
inline constexpr uint32_t kRepErrShutdown = kRepErrBit | 7;
inline constexpr uint32_t kRepErrExtHeaderReqd = kRepErrBit | 10;

// The one metadata context served: allocation from the volume's extent map.
inline constexpr char kMetaBaseAllocation[] = "base:allocation";
inline constexpr uint32_t kStateHole = 1u << 0;  // NBD_STATE_HOLE
inline constexpr uint32_t kStateZero = 1u << 1;  // NBD_STATE_ZERO

// NBD_INFO_* types carried in NBD_REP_INFO.
inline constexpr uint16_t kInfoExport = 0;
inline constexpr uint16_t kInfoName = 1;
inline constexpr uint16_t kInfoDescription = 2;
inline constexpr uint16_t kInfoBlockSize = 3;

// Transmission flags.
inline constexpr uint16_t kTxHasFlags = 1u << 0;
inline constexpr uint16_t kTxReadOnly = 1u << 1;
inline constexpr uint16_t kTxSendFlush = 1u << 2;
inline constexpr uint16_t kTxSendFua = 1u << 3;
inline constexpr uint16_t kTxSendTrim = 1u << 5;
inline constexpr uint16_t kTxSendWriteZeroes = 1u << 6;
inline constexpr uint16_t kTxSendDf = 1u << 7;
inline constexpr uint16_t kTxCanMultiConn = 1u << 8;
inline constexpr uint16_t kTxSendCache = 1u << 10;
inline constexpr uint16_t kTxSendFastZero = 1u << 11;

// ---- Transmission ----------------------------------------------------------------------------
inline constexpr uint32_t kRequestMagic = 0x25609513u;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698u;
inline constexpr uint32_t kExtendedRequestMagic = 0x21e41c71u;
inline constexpr uint32_t kStructuredReplyMagic = 0x668e33efu;
inline constexpr uint32_t kExtendedReplyMagic = 0x6e8a278cu;
inline constexpr size_t kRequestHeaderSize = 28;
inline constexpr size_t kExtendedRequestHeaderSize = 32;
inline constexpr size_t kSimpleReplySize = 16;
inline constexpr size_t kStructuredReplySize = 20;
inline constexpr size_t kExtendedReplySize = 32;

// Structured (and extended) reply chunk types and flags.
inline constexpr uint16_t kReplyFlagDone = 1u << 0;
inline constexpr uint16_t kReplyTypeNone = 0;
inline constexpr uint16_t kReplyTypeOffsetData = 1;
inline constexpr uint16_t kReplyTypeOffsetHole = 2;
inline constexpr uint16_t kReplyTypeBlockStatus = 5;
inline constexpr uint16_t kReplyTypeBlockStatusExt = 6;
inline constexpr uint16_t kReplyTypeError = (1u << 15) | 1;
inline constexpr uint16_t kReplyTypeErrorOffset = (1u << 15) | 2;

inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;
inline constexpr uint16_t kCmdWriteZeroes = 6;
inline constexpr uint16_t kCmdBlockStatus = 7;

inline constexpr uint16_t kCmdFlagFua = 1u << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1u << 1;
inline constexpr uint16_t kCmdFlagDf = 1u << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1u << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1u << 4;
inline constexpr uint16_t kCmdFlagPayloadLen = 1u << 5;  // extended headers only

// Error values on the wire. These are the protocol's own numbers, not the host's errno.
inline constexpr uint32_t kNbdOk = 0;
inline constexpr uint32_t kNbdEperm = 1;
inline constexpr uint32_t kNbdEio = 5;
inline constexpr uint32_t kNbdEnomem = 12;
inline constexpr uint32_t kNbdEinval = 22;
inline constexpr uint32_t kNbdEnospc = 28;
inline constexpr uint32_t kNbdEoverflow = 75;
inline constexpr uint32_t kNbdEnotsup = 95;
inline constexpr uint32_t kNbdEshutdown = 108;

// Strings (export names, descriptions) may not exceed this on the wire.
inline constexpr size_t kMaxStringLength = 4096;

// ---- Big-endian helpers ----------------------------------------------------------------------
inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

// What option negotiation agreed on for the transmission phase.
struct Features {
  bool structured = false;          // NBD_OPT_STRUCTURED_REPLY (implied by extended)
  bool extended = false;            // NBD_OPT_EXTENDED_HEADERS
  uint32_t allocation_context = 0;  // id of base:allocation, 0 when not selected
};

// A decoded transmission request header, compact (28 bytes, 32-bit length) or extended
// (32 bytes, 64-bit length). The cookie stays as raw bytes: the protocol treats it as opaque and
// the reply must echo it unchanged.
struct RequestHeader {
  uint32_t magic = 0;
  uint16_t flags = 0;
  uint16_t type = 0;
  uint8_t cookie[8] = {};
  uint64_t offset = 0;
  uint64_t length = 0;
  bool extended = false;
};

// Bytes of payload that follow the header on the wire: a compact WRITE's length; with extended
// headers, the length of any request flagged PAYLOAD_LEN (and nothing otherwise).
inline uint64_t PayloadLength(const RequestHeader& h) {
  if (h.extended) return (h.flags & kCmdFlagPayloadLen) ? h.length : 0;
  return h.type == kCmdWrite ? h.length : 0;
}

inline RequestHeader DecodeRequestHeader(const uint8_t* p) {
  RequestHeader h;
  h.magic = LoadBe32(p);
  h.flags = LoadBe16(p + 4);
  h.type = LoadBe16(p + 6);
  std::memcpy(h.cookie, p + 8, 8);
  h.offset = LoadBe64(p + 16);
  h.length = LoadBe32(p + 24);
  return h;
}

inline RequestHeader DecodeExtendedRequestHeader(const uint8_t* p) {
  RequestHeader h;
  h.magic = LoadBe32(p);
  h.flags = LoadBe16(p + 4);
  h.type = LoadBe16(p + 6);
  std::memcpy(h.cookie, p + 8, 8);
  h.offset = LoadBe64(p + 16);
  h.length = LoadBe64(p + 24);
  h.extended = true;
  return h;
}

// Header of one structured (20 bytes) or extended (32 bytes) reply chunk; `offset` is the
// request's and appears only in the extended form. Returns the bytes written.
inline size_t EncodeChunkHeader(uint8_t* out, bool extended, uint16_t flags, uint16_t type,
                                const uint8_t cookie[8], uint64_t offset, uint64_t length) {
  StoreBe32(out, extended ? kExtendedReplyMagic : kStructuredReplyMagic);
  StoreBe16(out + 4, flags);
  StoreBe16(out + 6, type);
  std::memcpy(out + 8, cookie, 8);
  if (!extended) {
    StoreBe32(out + 16, static_cast<uint32_t>(length));
    return kStructuredReplySize;
  }
  StoreBe64(out + 16, offset);
  StoreBe64(out + 24, length);
  return kExtendedReplySize;
}

inline void EncodeSimpleReply(uint8_t* out, uint32_t nbd_error, const uint8_t cookie[8]) {
  StoreBe32(out, kSimpleReplyMagic);
  StoreBe32(out + 4, nbd_error);
  std::memcpy(out + 8, cookie, 8);
}

// Host errno (bp_io done) → NBD error value. ENOTSUP is only meaningful to a client that asked
// for FAST_ZERO; anything the protocol has no number for becomes EIO, because to a block device
// user an unexplained failure of the store is an I/O error.
uint32_t NbdErrorFromErrno(int error, uint16_t command_flags);

// A short human text for an NBD error value, sent in structured error chunks.
const char* NbdErrorText(uint32_t nbd_error);

// "READ", "WRITE", … for log messages; "cmd#N" for unknown types.
std::string CommandName(uint16_t type);
// "NBD_OPT_GO", …; "option#N" for unknown ones.
std::string OptionName(uint32_t option);

}  // namespace bpnbd
