// CodecChain: runs a volume's codecs over one unit. Encoding goes first→last and decoding
// last→first, ping-ponging between two buffers so a chain of any length costs two allocations.
// Any decode failure is reported as Corrupt: a unit that does not decode is never passed on.
#include "pipeline/codec_chain.h"

#include <cstring>

namespace bp {

CodecChain::CodecChain(const uint8_t uuid[16], std::vector<std::unique_ptr<Codec>> codecs)
    : codecs_(std::move(codecs)) {
  std::memcpy(uuid_, uuid, sizeof(uuid_));
}

Status CodecChain::Encode(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const {
  out->clear();
  if (codecs_.empty()) {
    out->assign(in, in + n);
    return Status::Ok();
  }
  Bytes scratch;
  const uint8_t* src = in;
  size_t src_len = n;
  // The last codec must write into *out; alternate so that happens without a final copy.
  Bytes* dst = (codecs_.size() % 2 == 1) ? out : &scratch;
  for (const auto& codec : codecs_) {
    dst->clear();
    Status s = codec->Encode(uuid_, unit, src, src_len, dst);
    if (!s.ok()) return s.WithContext("codec " + codec->name() + " encode");
    src = dst->data();
    src_len = dst->size();
    dst = (dst == out) ? &scratch : out;
  }
  return Status::Ok();
}

Status CodecChain::EncodeAppend(const UnitId& unit, const uint8_t* in, size_t n,
                                Bytes* out) const {
  const size_t before = out->size();
  if (codecs_.empty()) {
    out->insert(out->end(), in, in + n);
    return Status::Ok();
  }
  if (codecs_.size() == 1) {
    // Codec::Encode appends, so the single codec of the usual chain writes in place.
    Status s = codecs_.front()->Encode(uuid_, unit, in, n, out);
    if (!s.ok()) {
      out->resize(before);
      return s.WithContext("codec " + codecs_.front()->name() + " encode");
    }
    return Status::Ok();
  }
  thread_local Bytes encoded;
  BP_RETURN_IF_ERROR(Encode(unit, in, n, &encoded));
  out->insert(out->end(), encoded.begin(), encoded.end());
  return Status::Ok();
}

Status CodecChain::Decode(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const {
  out->clear();
  if (codecs_.empty()) {
    out->assign(in, in + n);
    return Status::Ok();
  }
  Bytes scratch;
  const uint8_t* src = in;
  size_t src_len = n;
  Bytes* dst = (codecs_.size() % 2 == 1) ? out : &scratch;
  for (auto it = codecs_.rbegin(); it != codecs_.rend(); ++it) {
    dst->clear();
    Status s = (*it)->Decode(uuid_, unit, src, src_len, dst);
    if (!s.ok()) {
      out->clear();
      return Status::Corrupt("codec " + (*it)->name() + " decode: " + s.message());
    }
    src = dst->data();
    src_len = dst->size();
    dst = (dst == out) ? &scratch : out;
  }
  return Status::Ok();
}

std::string CodecChain::Describe() const {
  if (codecs_.empty()) return "(none)";
  std::string text;
  for (const auto& codec : codecs_) {
    if (!text.empty()) text += " > ";
    text += codec->name();
  }
  return text;
}

}  // namespace bp
