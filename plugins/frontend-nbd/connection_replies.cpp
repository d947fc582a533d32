// Connection, reply encoding: what goes on the wire for a finished request, in the form the
// negotiation agreed on.
//   simple     (no structured replies; or structured replies for anything but READ and
//               BLOCK_STATUS, which the spec allows and which costs 16 bytes)
//   structured READ: OFFSET_DATA / OFFSET_HOLE chunks following the allocation looked up before
//               the read (PlanStructuredRead), the last one flagged DONE; errors as ERROR_OFFSET
//               at the request's offset (the host does not say where inside the range it failed,
//               and the start claims no partial success)
//   extended   (NBD_OPT_EXTENDED_HEADERS) every reply is a 32-byte extended chunk header: NONE
//               for success without payload, ERROR for failures, BLOCK_STATUS_EXT for extents.
// Encoding writes headers into Request::reply_bytes and describes the wire order in
// Request::segments, pointing into the payload buffer for data; the writer only gathers.
#include <algorithm>
#include <cstring>

#include "connection.h"

namespace bpnbd {

namespace {

// Extents asked for per READ: a READ is at most max_payload (32 MiB); more pieces than this
// are sent as data, which is always correct.
constexpr uint32_t kReadExtents = 64;
// Extents per BLOCK_STATUS reply (the spec suggests at most 2^20): 8192 descriptors are 64 KiB
// of compact or 128 KiB of extended reply, and cover a fragmented area in few round trips.
constexpr uint32_t kStatusExtents = 8192;

bool IsZero(const bp_extent& e) { return (e.flags & BP_EXTENT_ZERO) != 0; }

void Append(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
}
void AppendU16(std::vector<uint8_t>* out, uint16_t v) {
  uint8_t b[2];
  StoreBe16(b, v);
  Append(out, b, 2);
}
void AppendU32(std::vector<uint8_t>* out, uint32_t v) {
  uint8_t b[4];
  StoreBe32(b, v);
  Append(out, b, 4);
}
void AppendU64(std::vector<uint8_t>* out, uint64_t v) {
  uint8_t b[8];
  StoreBe64(b, v);
  Append(out, b, 8);
}

// Starts a chunk whose payload (payload_length bytes, of which the caller appends the
// header-side part) follows; returns the segment to complete.
ReplySegment& BeginChunk(Request* r, bool extended, uint16_t flags, uint16_t type,
                         uint64_t payload_length) {
  const uint32_t at = static_cast<uint32_t>(r->reply_bytes.size());
  r->reply_bytes.resize(at + kExtendedReplySize);
  size_t n = EncodeChunkHeader(r->reply_bytes.data() + at, extended, flags, type, r->cookie,
                               r->offset, payload_length);
  r->reply_bytes.resize(at + n);
  r->segments.push_back(ReplySegment{at, static_cast<uint32_t>(n), nullptr, 0});
  return r->segments.back();
}

// Extends the header part of the last segment by what was appended to reply_bytes since.
void CloseHeader(Request* r) {
  ReplySegment& seg = r->segments.back();
  seg.header_length = static_cast<uint32_t>(r->reply_bytes.size() - seg.header_offset);
}

}  // namespace

bool Connection::PlanStructuredRead(Request* r) {
  volume_.Extents(r->offset, r->length, kReadExtents, &r->extents);
  uint64_t covered = 0;
  bool all_zero = true;
  for (const bp_extent& e : r->extents) {
    covered += e.length;
    all_zero = all_zero && IsZero(e);
  }
  // The host may answer for a prefix only: the rest is read as data.
  if (covered < r->length) {
    r->extents.push_back(bp_extent{r->length - covered, 0, 0});
    all_zero = false;
  }
  return all_zero;
}

void Connection::AnswerBlockStatus(Request* r) {
  const uint32_t max = (r->flags & kCmdFlagReqOne) ? 1 : kStatusExtents;
  uint64_t length = r->length;
  volume_.Extents(r->offset, length, max, &r->extents);
  QueueReply(r);
  StartWrite();
}

void Connection::EncodeReply(Request* r) {
  r->reply_bytes.clear();
  r->segments.clear();
  r->data_bytes = 0;
  const bool ok = r->nbd_error == kNbdOk;
  const bool chunked = features_.extended || (features_.structured &&
                                              (r->type == kCmdRead || r->type == kCmdBlockStatus));
  if (!chunked) {
    r->reply_bytes.resize(kSimpleReplySize);
    EncodeSimpleReply(r->reply_bytes.data(), r->nbd_error, r->cookie);
    ReplySegment seg{0, kSimpleReplySize, nullptr, 0};
    if (ok && r->type == kCmdRead) {
      seg.data = r->buffer;
      seg.data_length = r->length;
      r->data_bytes = r->length;
    }
    r->segments.push_back(seg);
    return;
  }
  if (!ok) return EncodeErrorChunk(r);
  if (r->type == kCmdRead) return EncodeReadChunks(r);
  if (r->type == kCmdBlockStatus) return EncodeBlockStatus(r);
  BeginChunk(r, features_.extended, kReplyFlagDone, kReplyTypeNone, 0);
}

void Connection::EncodeErrorChunk(Request* r) {
  const char* text = NbdErrorText(r->nbd_error);
  const size_t text_length = std::strlen(text);
  // A request the store failed names its own offset (the only one known, and inside its range
  // as the spec demands); a request refused before it ran may lie outside the export, so it
  // gets the plain ERROR chunk.
  const bool with_offset = r->host_error != 0 && r->type != kCmdFlush && r->length > 0;
  const uint16_t type = with_offset ? kReplyTypeErrorOffset : kReplyTypeError;
  BeginChunk(r, features_.extended, kReplyFlagDone, type, 6 + text_length + (with_offset ? 8 : 0));
  AppendU32(&r->reply_bytes, r->nbd_error);
  AppendU16(&r->reply_bytes, static_cast<uint16_t>(text_length));
  Append(&r->reply_bytes, text, text_length);
  if (with_offset) AppendU64(&r->reply_bytes, r->offset);
  CloseHeader(r);
}

void Connection::EncodeReadChunks(Request* r) {
  const bool df = (r->flags & kCmdFlagDf) != 0;
  if (r->extents.empty()) r->extents.push_back(bp_extent{r->length, 0, 0});
  // Merge into alternating runs of data and zeros; with DF (one content chunk only) anything
  // mixed is one data run.
  struct Run {
    uint64_t offset, length;
    bool zero;
  };
  std::vector<Run> runs;
  uint64_t at = 0;
  for (const bp_extent& e : r->extents) {
    const uint64_t length = std::min<uint64_t>(e.length, r->length - at);
    if (length == 0) break;
    const bool zero = IsZero(e);
    if (!runs.empty() && runs.back().zero == zero) {
      runs.back().length += length;
    } else {
      runs.push_back(Run{at, length, zero});
    }
    at += length;
  }
  if (df && runs.size() > 1) runs.assign(1, Run{0, r->length, false});
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& run = runs[i];
    const uint16_t flags = i + 1 == runs.size() ? kReplyFlagDone : 0;
    if (run.zero) {
      BeginChunk(r, features_.extended, flags, kReplyTypeOffsetHole, 12);
      AppendU64(&r->reply_bytes, r->offset + run.offset);
      AppendU32(&r->reply_bytes, static_cast<uint32_t>(run.length));
      CloseHeader(r);
    } else {
      BeginChunk(r, features_.extended, flags, kReplyTypeOffsetData, 8 + run.length);
      AppendU64(&r->reply_bytes, r->offset + run.offset);
      CloseHeader(r);
      r->segments.back().data = r->buffer + run.offset;
      r->segments.back().data_length = run.length;
      r->data_bytes += run.length;
    }
  }
}

void Connection::EncodeBlockStatus(Request* r) {
  if (r->extents.empty()) r->extents.push_back(bp_extent{r->length, 0, 0});
  const size_t n = r->extents.size();
  auto status = [](const bp_extent& e) {
    uint32_t s = 0;
    if (e.flags & BP_EXTENT_HOLE) s |= kStateHole;
    if (e.flags & BP_EXTENT_ZERO) s |= kStateZero;
    return s;
  };
  if (features_.extended) {
    BeginChunk(r, true, kReplyFlagDone, kReplyTypeBlockStatusExt, 8 + 16 * n);
    AppendU32(&r->reply_bytes, features_.allocation_context);
    AppendU32(&r->reply_bytes, static_cast<uint32_t>(n));
    for (const bp_extent& e : r->extents) {
      AppendU64(&r->reply_bytes, e.length);
      AppendU64(&r->reply_bytes, status(e));
    }
  } else {
    // Compact requests ask about at most 4 GiB - 1, and extents never exceed the request, so
    // every length fits the 32-bit field.
    BeginChunk(r, false, kReplyFlagDone, kReplyTypeBlockStatus, 4 + 8 * n);
    AppendU32(&r->reply_bytes, features_.allocation_context);
    for (const bp_extent& e : r->extents) {
      AppendU32(&r->reply_bytes, static_cast<uint32_t>(e.length));
      AppendU32(&r->reply_bytes, status(e));
    }
  }
  CloseHeader(r);
}

}  // namespace bpnbd
