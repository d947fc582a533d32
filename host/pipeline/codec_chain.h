// CodecChain: the ordered codecs of one volume, applied to every stored unit (data units,
// segment metadata, checkpoints). Encode runs first→last, decode last→first. Built by the
// loader from codec plugins (loader/codec_adapter) when a volume is created or opened; unit
// tests build chains from in-process codecs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/bp_codec.h>

#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// Where a unit lives; mirrors struct bp_unit_ctx.
struct UnitId {
  uint32_t kind = BP_UNIT_DATA;  // BP_UNIT_*
  uint64_t object_seq = 0;
  uint64_t unit_index = 0;
  uint64_t logical_length = 0;
};

// One codec instance bound to one volume.
class Codec {
 public:
  virtual ~Codec() = default;
  virtual const std::string& name() const = 0;
  virtual uint32_t flags() const = 0;  // BP_CODEC_*
  // Append the encoding of in to *out.
  virtual Status Encode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                        Bytes* out) = 0;
  // Append the encoding of in after (*out)[0, *length) and advance *length. The bytes of *out
  // past *length are room to overwrite, not content: the vector is never shrunk, so a caller
  // that reuses it pays std::vector's zero-fill only when it grows. *length is unchanged on
  // failure. The default encodes into a scratch buffer and copies the result into place.
  // kept (may be null): the caller keeps `in` unchanged until the output is consumed, so bytes
  // the codec stores unchanged may be recorded there (KeptInput, offsets into *out) instead of
  // being copied; the output is then *out with each kept part inserted at its offset. Entries
  // added by a failed call are removed again.
  virtual Status EncodeAt(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                          Bytes* out, size_t* length, std::vector<KeptInput>* kept = nullptr);
  // Append the decoding of in to *out; Corrupt when in was not produced by Encode.
  virtual Status Decode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                        Bytes* out) = 0;
  // Replace *out with the decoding of in. The vector's current size is room, not content: the
  // decoder overwrites it in place, so a caller that hands in a buffer already as large as the
  // result (a recycled unit buffer) pays neither an allocation nor std::vector's zero-fill.
  // On success out->size() is the decoded length; on failure *out is empty. The default
  // clears *out and calls Decode.
  virtual Status DecodeInto(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                            Bytes* out);
};

// What a volume's metadata records for each codec, in chain order.
struct CodecRecord {
  std::string name;
  Bytes header;
};

class CodecChain {
 public:
  CodecChain(const uint8_t uuid[16], std::vector<std::unique_ptr<Codec>> codecs);
  // Encode through every codec. out is replaced.
  Status Encode(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const;
  // Encode through every codec and place the result at (*out)[*length], advancing *length (see
  // Codec::EncodeAt: bytes past *length are reusable room; unchanged on failure). A chain of
  // one plugin codec writes straight into *out: no intermediate buffer, no copy, no zero-fill;
  // longer chains pass through per-thread stage buffers and their last codec writes into *out.
  // kept: see Codec::EncodeAt; only a chain of at most one codec sees the caller's own input
  // (MayKeepInput), so longer chains copy.
  Status EncodeAt(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out, size_t* length,
                  std::vector<KeptInput>* kept = nullptr) const;
  // Decode through every codec in reverse; Corrupt on any failure. out is replaced.
  Status Decode(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const;
  // The same, with out's current size as room to decode into (see Codec::DecodeInto): a
  // buffer already sized for the result is overwritten without a zero-fill. Chains of several
  // codecs pass through per-thread stage buffers that keep their memory between units.
  Status DecodeInto(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out) const;
  // "lz4", "zstd > encrypt", or "(none)".
  std::string Describe() const;
  size_t size() const { return codecs_.size(); }
  // Whether EncodeAt may record parts of its input as kept rather than encode them.
  bool MayKeepInput() const { return codecs_.size() <= 1; }

 private:
  // Decode and DecodeInto: through every codec in reverse, stages[] between codecs.
  Status DecodeStages(const UnitId& unit, const uint8_t* in, size_t n, Bytes* out,
                      Bytes (&stages)[2]) const;
  uint8_t uuid_[16];
  std::vector<std::unique_ptr<Codec>> codecs_;
};

// What RekeyChain did with a volume's chain.
enum class RekeyOutcome {
  kRekeyed,      // at least one codec produced a header for the new secret
  kAlreadyDone,  // every codec with a secret already opens with the new one (an earlier run)
  kNoSecret,     // no codec of the chain keeps a secret (an unencrypted volume): nothing to do
};

// Opens codec instances for a volume. Implemented by the plugin registry; tests provide their own.
class CodecFactory {
 public:
  virtual ~CodecFactory() = default;
  // For a new volume: instantiate the configured chain; *records receives name+header of each.
  virtual Status CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                             std::vector<CodecRecord>* records,
                             std::unique_ptr<CodecChain>* chain) = 0;
  // For an existing volume: instantiate the recorded chain. Fails naming a codec whose plugin
  // is not loaded, or whose header the codec rejects.
  virtual Status OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                           const std::vector<CodecRecord>& records,
                           std::unique_ptr<CodecChain>* chain) = 0;
  // For `blockpipe change-password` on an existing volume: ask each codec of the recorded
  // chain that keeps a secret for a header that opens with new_secret instead of its
  // configured one (same data, no unit rewritten). *rekeyed receives every record, with the
  // replaced headers; the caller persists them. Fails when a codec that encrypts cannot change
  // its secret ("codec X does not support changing the password"), when the configured secret
  // is wrong, or when a recorded codec is missing. Factories without plugins do not support it.
  virtual Status RekeyChain(const uint8_t uuid[16], const std::string& volume_name,
                            const std::vector<CodecRecord>& records, const std::string& new_secret,
                            std::vector<CodecRecord>* rekeyed, RekeyOutcome* outcome) {
    (void)uuid, (void)records, (void)new_secret, (void)rekeyed, (void)outcome;
    return Status::Unsupported("volume " + volume_name +
                               ": changing the password needs codec plugins");
  }
};

}  // namespace bp
