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

// Makes (*out)[at, at+n) addressable, growing (and so zero-filling) only past the current size.
static uint8_t* RoomAt(Bytes* out, size_t at, size_t n) {
  if (out->size() < at + n) out->resize(at + n);
  return out->data() + at;
}

// Places `encoded` at (*out)[*length] and advances *length.
static void PlaceAt(const Bytes& encoded, Bytes* out, size_t* length) {
  if (!encoded.empty())
    std::memcpy(RoomAt(out, *length, encoded.size()), encoded.data(), encoded.size());
  *length += encoded.size();
}

Status Codec::EncodeAt(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                       Bytes* out, size_t* length, std::vector<KeptInput>* /*kept*/) {
  thread_local Bytes encoded;
  encoded.clear();
  BP_RETURN_IF_ERROR(Encode(uuid, unit, in, n, &encoded));
  PlaceAt(encoded, out, length);
  return Status::Ok();
}

Status CodecChain::EncodeAt(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out,
                            size_t* length, std::vector<KeptInput>* kept) const {
  if (codecs_.empty()) {
    if (kept != nullptr && n != 0) {
      kept->push_back(KeptInput{*length, ObjectPart{in, n}});
    } else if (n != 0) {
      std::memcpy(RoomAt(out, *length, n), in, n);
      *length += n;
    }
    return Status::Ok();
  }
  if (codecs_.size() == 1) {
    Status s = codecs_.front()->EncodeAt(uuid_, unit, in, n, out, length, kept);
    if (!s.ok()) return s.WithContext("codec " + codecs_.front()->name() + " encode");
    return Status::Ok();
  }
  // Longer chains: each codec but the last writes into one of this thread's two stage buffers
  // in turn (kept between units, so no allocation or zero-fill per unit), and the last one
  // straight into *out, so the encoded unit is not copied into place afterwards.
  thread_local Bytes stages[2];
  const uint8_t* src = in;
  size_t src_len = n;
  for (size_t i = 0; i + 1 < codecs_.size(); ++i) {
    Bytes& stage = stages[i % 2];
    size_t produced = 0;
    Status s = codecs_[i]->EncodeAt(uuid_, unit, src, src_len, &stage, &produced);
    if (!s.ok()) return s.WithContext("codec " + codecs_[i]->name() + " encode");
    src = stage.data();
    src_len = produced;
  }
  Status s = codecs_.back()->EncodeAt(uuid_, unit, src, src_len, out, length);
  if (!s.ok()) return s.WithContext("codec " + codecs_.back()->name() + " encode");
  return Status::Ok();
}

Status Codec::DecodeInto(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                         Bytes* out) {
  out->clear();
  Status s = Decode(uuid, unit, in, n, out);
  if (!s.ok()) out->clear();
  return s;
}

Status CodecChain::Decode(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const {
  // Stage buffers of this call only: whole objects (segment metas, checkpoints of a large map)
  // decode here, and per-thread buffers would keep their size for good.
  Bytes stages[2];
  out->clear();
  return DecodeStages(unit, in, n, out, stages);
}

Status CodecChain::DecodeInto(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const {
  // Units are small and many: this thread's stage buffers keep their memory between them.
  thread_local Bytes stages[2];
  return DecodeStages(unit, in, n, out, stages);
}

Status CodecChain::DecodeStages(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out,
                                Bytes (&stages)[2]) const {
  if (codecs_.empty()) {
    out->assign(in, in + n);
    return Status::Ok();
  }
  // Last codec first; every stage but the first codec's output goes to one of the two stage
  // buffers in turn, and the first codec decodes straight into *out.
  const uint8_t* src = in;
  size_t src_len = n;
  for (size_t k = codecs_.size(); k-- > 0;) {
    Codec& codec = *codecs_[k];
    Bytes* dst = k == 0 ? out : &stages[k % 2];
    Status s = codec.DecodeInto(uuid_, unit, src, src_len, dst);
    if (!s.ok()) {
      out->clear();
      return Status::Corrupt("codec " + codec.name() + " decode: " + s.message());
    }
    src = dst->data();
    src_len = dst->size();
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
