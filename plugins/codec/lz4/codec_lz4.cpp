// The lz4 codec: fast block compression of each unit with liblz4, framed by unit_frame.h so a
// decode knows the exact output size and refuses anything it did not write (the shared steps are
// in unit_codec.h). Input that lz4 cannot shrink by 1/8 is stored raw (one flag byte plus the
// length), so an incompressible unit costs at most a few bytes more than its size. Persists no
// header.
//
// Speed, measured on the write path:
// - Each thread keeps one lz4 state and resets it cheaply per unit (../common/lz4_block.h): a
//   one-shot call clears a 16 KiB hash table, more work than compressing a 4 KiB unit.
// - Data that barely compresses is lz4's slowest case: every short match it finds resets its
//   skip-ahead, so it searches nearly every byte to save a few percent (fio's buffers: 3% saved
//   for about three times the work of random data at acceleration 8, ten times at 1). Units of
//   16 KiB and more (sequential writes) are first probed: 512-byte windows spread over the unit,
//   the first and the last among them, one per 8 KiB, are compressed alone at full effort, and
//   only when they shrink by at least 1/8 is the whole unit compressed; otherwise it is stored
//   raw. The last window catches "data, then a zero tail". The probe costs about 6% of
//   compressing a 64 KiB unit (less since it stops at a first window that halves; the sampling
//   loop is shared with zstd in ../common/compress_probe.h) and more than halves the encode time
//   of fio's data. Smaller units (scattered 4 KiB writes) are compressed directly, except in a
//   streak of units that did not save 1/8 (EffortTracker in ../common/compress_probe.h): then
//   two windows, the unit's first and last 256 bytes, decide for every unit size, which on
//   fio's 4 KiB buffers costs a quarter of compressing them (and in a long streak only every
//   fourth unit is looked at). Compression that saves less than
//   1/8 is not kept (../common/unit_codec.h). Either way the decision only chooses between the
//   two frame methods every decoder reads.
// - A raw unit is appended with the host's buf_append_input (ABI 1.3): the frame header is
//   written and the raw bytes are left where they lie, so a host that writes the segment from
//   its write buffer pays no copy at all for them (older hosts copy).
#include <blockpipe/bp_codec.h>

#include <algorithm>
#include <memory>
#include <string>

#include "../common/compress_probe.h"
#include "../common/lz4_block.h"
#include "../common/unit_codec.h"
#include "../common/unit_frame.h"

namespace {

constexpr uint8_t kMagic = 'L';
constexpr const char* kName = "lz4";

struct Lz4Codec {
  int acceleration = 1;
};

// The probe of ../common/compress_probe.h: 512-byte windows, one per 8 KiB of unit, two to
// eight of them, from 16 KiB units up (4 KiB of a 64 KiB unit). In a streak of units that did not
// shrink, the scout of ../common/lz4_block.h decides instead.
constexpr codecframe::ProbePlan kProbePlan{512, 16384, 8192, 2, 8};

// Whether the unit gets lz4's full compression, after the probe or the scout `spend` asks for.
bool WorthCompressing(LZ4_stream_t* stream, const uint8_t* src, size_t n,
                      codecframe::EffortTracker::Effort spend) {
  switch (spend) {
    case codecframe::EffortTracker::Effort::kSkip: return false;
    case codecframe::EffortTracker::Effort::kScout:
      return codecframe::ScoutWorthCompressing(stream, src, n);
    case codecframe::EffortTracker::Effort::kNormal: break;
  }
  return codecframe::WorthCompressing(src, n, kProbePlan, [stream](const uint8_t* at, size_t len) {
    return codecframe::Lz4WindowSize(stream, at, len);
  });
}

const struct bp_config_key kConfigKeys[] = {
    {"acceleration", BP_CFG_INT, "1", 0,
     "lz4 acceleration, 1 to 65537: higher is faster and compresses less (1 is lz4's default)."},
    {nullptr, 0, nullptr, 0, nullptr},
};

int Lz4Open(const struct bp_config* config, const struct bp_codec_volume* /*volume*/,
            const void* /*stored_header*/, size_t stored_len, struct bp_buf* /*new_header*/,
            void** handle) {
  *handle = nullptr;
  return codecframe::Guard(kName, "open", [&] {
    int rc = codecframe::CheckNoStoredHeader(kName, stored_len);
    if (rc != BP_OK) return rc;
    auto codec = std::make_unique<Lz4Codec>();
    if (config != nullptr && bp_host->config_has(config, "acceleration")) {
      int64_t acceleration = bp_host->config_int(config, "acceleration");
      if (acceleration < 1 || acceleration > 65537) {
        return codecframe::Fail(
            BP_ERR_INVALID,
            "lz4: acceleration must be between 1 and 65537, got " + std::to_string(acceleration));
      }
      codec->acceleration = static_cast<int>(acceleration);
    }
    *handle = codec.release();
    return BP_OK;
  });
}

void Lz4Close(void* handle) { delete static_cast<Lz4Codec*>(handle); }

int Lz4Encode(void* handle, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
              struct bp_buf* out) {
  return codecframe::Guard(kName, "encode", [&] {
    const int acceleration = static_cast<const Lz4Codec*>(handle)->acceleration;
    LZ4_stream_t* stream = codecframe::ThreadLz4Stream();
    if (stream == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "lz4 encode: out of memory");
    codecframe::EffortTracker& effort = codecframe::ThreadEffortTracker();
    const codecframe::EffortTracker::Effort spend = effort.Next();
    if (in_len <= static_cast<size_t>(LZ4_MAX_INPUT_SIZE) &&
        !WorthCompressing(stream, static_cast<const uint8_t*>(in), in_len, spend)) {
      effort.Record(false);
      return codecframe::AppendRawInPlace(kName, kMagic, in, in_len, out);
    }
    // lz4 compresses at most LZ4_MAX_INPUT_SIZE (~2 GiB) per block; anything larger is stored.
    bool compressed = false;
    const int rc = codecframe::EncodeUnit(
        kName, kMagic, LZ4_MAX_INPUT_SIZE, in, in_len, out,
        [&](const uint8_t* src, size_t n, uint8_t* dest, size_t capacity) {
          const int produced =
              codecframe::Lz4CompressBlock(stream, src, n, dest, capacity, acceleration);
          if (produced <= 0)
            return codecframe::SqueezeResult{codecframe::Squeeze::kDidNotShrink, 0};
          return codecframe::SqueezeResult{codecframe::Squeeze::kCompressed,
                                           static_cast<size_t>(produced)};
        },
        &compressed);
    if (rc == BP_OK) effort.Record(compressed);
    return rc;
  });
}

int Lz4Decode(void* /*handle*/, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
              struct bp_buf* out) {
  return codecframe::Guard(kName, "decode", [&] {
    // An lz4 block expands by at most ~255x (one length byte per 255 output bytes).
    const codecframe::DecodeLimits limits{LZ4_MAX_INPUT_SIZE, 256, 64};
    auto check = [](const uint8_t*, size_t payload_len, uint64_t) {
      if (payload_len > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
        return codecframe::Fail(BP_ERR_CORRUPT, "lz4 decode: compressed payload too large");
      }
      return static_cast<int>(BP_OK);
    };
    auto decompress = [](const uint8_t* payload, size_t payload_len, uint8_t* dest,
                         size_t decoded_length) {
      const int produced =
          LZ4_decompress_safe(reinterpret_cast<const char*>(payload), reinterpret_cast<char*>(dest),
                              static_cast<int>(payload_len), static_cast<int>(decoded_length));
      if (produced < 0 || static_cast<size_t>(produced) != decoded_length) {
        return codecframe::Fail(BP_ERR_CORRUPT, "lz4 decode: corrupt compressed data (expected " +
                                                    std::to_string(decoded_length) +
                                                    " bytes, lz4 returned " +
                                                    std::to_string(produced) + ")");
      }
      return static_cast<int>(BP_OK);
    };
    return codecframe::DecodeUnit(kName, kMagic, limits, in, in_len, out, check, decompress);
  });
}

struct bp_codec_plugin lz4_codec_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "lz4", "1.0", "lz4 block compression of each unit (fast)"},
    /* flags */ BP_CODEC_COMPRESSES,
    /* reserved */ 0,
    /* config_keys */ kConfigKeys,
    /* open */ Lz4Open,
    /* close */ Lz4Close,
    /* encode */ Lz4Encode,
    /* decode */ Lz4Decode,
    /* rekey */ nullptr,  // nothing secret in an lz4 header
};

}  // namespace

BP_REGISTER_CODEC(lz4_codec_plugin, BP_THREAD_PARALLEL)
