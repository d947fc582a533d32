// Fuzz target: transmission request headers against any export the catalog could describe.
// Input: one byte choosing the export's read-only bit and advertised transmission flags, its
// size (8 bytes, big-endian) and maximum payload (4 bytes), then any number of 28-byte request
// headers as a client sends them. Each header is decoded with DecodeRequestHeader and judged by
// CheckRequest; the verdict must satisfy the protocol properties of nbd_properties.h, and a
// refused request's reply must echo the client's cookie. WRITE payloads are skipped as the
// connection does, so a header can hide inside a payload exactly as on the wire.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nbd_protocol.h"
#include "request_check.h"
#include "support/fuzz_check.h"
#include "support/nbd_properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bpnbd;
  bptest::InputCursor in(data, size);
  const uint8_t shape = in.U8();
  uint64_t export_size = uint64_t{in.BigEndian(4)} << 32;
  export_size |= in.BigEndian(4);
  const uint32_t max_payload = in.BigEndian(4);
  const ExportInfo info = bptest::ExportInfoFromBytes(shape, export_size, max_payload);

  for (int requests = 0; in.remaining() >= kRequestHeaderSize && requests < 4096; ++requests) {
    RequestHeader h = DecodeRequestHeader(in.here());
    FUZZ_CHECK(std::memcmp(h.cookie, in.here() + 8, 8) == 0, "cookie not kept verbatim");
    in.Skip(kRequestHeaderSize);
    if (h.magic != kRequestMagic || h.type == kCmdDisc) break;
    const uint32_t decision = CheckRequest(h, info);
    bptest::CheckRequestDecision(h, info, decision);
    uint8_t reply[kSimpleReplySize];
    EncodeSimpleReply(reply, decision, h.cookie);
    FUZZ_CHECK(LoadBe32(reply) == kSimpleReplyMagic && LoadBe32(reply + 4) == decision &&
                   std::memcmp(reply + 8, h.cookie, 8) == 0,
               "simple reply does not carry the verdict and cookie");
    // Names are for logs; they must exist for every value a client can send.
    FUZZ_CHECK(!CommandName(h.type).empty(), "unnamed command");
    if (h.type == kCmdWrite) in.Skip(h.length);
  }
  // Host errors map onto protocol errors a client understands.
  const int error = static_cast<int>(shape) * 3 % 140;
  const uint32_t wire = NbdErrorFromErrno(error, static_cast<uint16_t>(max_payload));
  FUZZ_CHECK(wire == kNbdOk || wire == kNbdEperm || wire == kNbdEio || wire == kNbdEnomem ||
                 wire == kNbdEinval || wire == kNbdEnospc || wire == kNbdEoverflow ||
                 wire == kNbdEnotsup || wire == kNbdEshutdown,
             "errno " + std::to_string(error) + " mapped to unknown NBD error");
  FUZZ_CHECK((wire == kNbdOk) == (error == 0), "success and failure confused");
  if (wire == kNbdEnotsup) {
    FUZZ_CHECK(max_payload & kCmdFlagFastZero, "ENOTSUP sent to a request without FAST_ZERO");
  }
  return 0;
}
