// The zstd codec: zstd compression of each unit at a configurable level, framed by
// unit_frame.h like lz4 (exact decoded length, raw storage of incompressible input, fail closed;
// the shared encode/decode steps are in unit_codec.h).
// Compression and decompression contexts are expensive to create, so each thread keeps one of
// each for the life of the thread and reuses it for every unit and every volume; the level is
// passed per call, so instances with different levels share them safely. Units of 16 KiB and
// more are probed first (kProbePlan below) and stored raw when they would save under 1/8; so
// is any unit whose compression saves less (../common/unit_codec.h). In a streak of such units
// a cheaper scout probe decides, for 4 KiB units too (../common/lz4_block.h). Raw units are appended by
// reference (buf_append_input), as lz4 does.
#include <blockpipe/bp_codec.h>
// For ZSTD_c_literalCompressionMode (an "experimental" parameter of libzstd's stable
// ZSTD_CCtx_setParameter; where a libzstd refuses it, units are compressed without it).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <memory>
#include <string>

#include "../common/compress_probe.h"
#include "../common/lz4_block.h"
#include "../common/unit_codec.h"
#include "../common/unit_frame.h"

namespace {

constexpr uint8_t kMagic = 'Z';
constexpr const char* kName = "zstd";

// Units are at most a few MiB in practice (checkpoints are the largest). Anything beyond this is
// stored raw, which keeps decode from ever allocating more than this for a compressed unit.
constexpr uint64_t kMaxCompressedUnit = 1ull << 30;
// One zstd block (<= 128 KiB of output) can be described by 4 bytes (an RLE block), so no valid
// frame expands by more than this factor.
constexpr uint64_t kMaxExpansion = 32768;

struct ZstdCodec {
  int level = 3;
};

struct CCtxFree {
  void operator()(ZSTD_CCtx* cctx) const { ZSTD_freeCCtx(cctx); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  return cctx.get();
}

// The probe (../common/compress_probe.h) with windows of 1 KiB, one per 16 KiB of unit (a 64 KiB
// unit: the first, two inner and the last KiB), at most four; units from 16 KiB up (sequential
// writes) are probed. Chosen on fio's write buffers, this repository's sources, SQLite pages and
// random bytes (docs/plugins/codec-zstd.md has the numbers): 512-byte windows misjudge data whose
// repeats are 512 bytes apart, such as fio's, and zstd itself as the window compressor costs more
// per window than compressing a whole 4 KiB unit. 4 KiB units (scattered writes) are compressed
// directly: probing them cost a quarter of zstd's own time in the daemon's 4 KiB random-write
// profile, where nearly every unit compresses.
constexpr codecframe::ProbePlan kProbePlan{1024, 16384, 16384, 1, 4};
// What the probe and the literal check decide for one unit.
struct UnitPlan {
  bool compress = true;          // false: store raw without running zstd
  bool entropy_literals = true;  // false: zstd leaves literals uncompressed (no Huffman tables)
};

UnitPlan PlanUnit(const uint8_t* src, size_t n, bool scouting) {
  UnitPlan plan;
  if (scouting) {
    // In a streak: the lz4-sized scout of ../common/lz4_block.h first. Worth it: the normal
    // plan decides the rest (literals, and the probe proper).
    LZ4_stream_t* stream = codecframe::ThreadLz4Stream();
    if (stream != nullptr && !codecframe::ScoutWorthCompressing(stream, src, n)) {
      plan.compress = false;
      return plan;
    }
  }
  if (n < kProbePlan.from) {
    // Not probed: a byte histogram of the unit (at most 4 KiB) decides the literals alone.
    plan.entropy_literals = codecframe::HistogramWorthEntropyCoding(src, n);
    return plan;
  }
  size_t literals = 0, literal_bytes = 0, symbols = 0;
  plan.compress =
      codecframe::WorthCompressing(src, n, kProbePlan, [&](const uint8_t* at, size_t len) {
        const codecframe::WindowEstimate estimate = codecframe::EstimateWindow(at, len);
        literals += estimate.literals;
        literal_bytes += estimate.literal_bytes;
        symbols = std::max(symbols, estimate.literal_symbols);
        return estimate.size;
      });
  plan.entropy_literals = codecframe::LiteralsWorthEntropyCoding(literals, literal_bytes, symbols);
  return plan;
}

// Level and literal mode for the next ZSTD_compress2 on this thread's context. Parameters stay
// set on the context between calls, so only changes are passed on.
bool ConfigureCCtx(ZSTD_CCtx* cctx, int level, bool entropy_literals) {
  struct Applied {
    int level = 0;  // 0: nothing applied yet (0 is no valid setting here)
    int literal_mode = -1;
  };
  thread_local Applied applied;
  if (applied.level != level) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))) return false;
    applied.level = level;
  }
  const int mode = entropy_literals ? ZSTD_ps_auto : ZSTD_ps_disable;
  if (applied.literal_mode != mode) {
    // A libzstd without the parameter keeps compressing literals as it sees fit.
    if (!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode, mode))) {
      applied.literal_mode = mode;
    }
  }
  return true;
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  return dctx.get();
}

const struct bp_config_key kConfigKeys[] = {
    {"level", BP_CFG_INT, "3", 0,
     "zstd compression level: 1 (fastest) to 19 (smallest), or -7 to -1 for zstd's fast modes. "
     "Decoding speed barely depends on it."},
    {nullptr, 0, nullptr, 0, nullptr},
};

int ZstdOpen(const struct bp_config* config, const struct bp_codec_volume* /*volume*/,
             const void* /*stored_header*/, size_t stored_len, struct bp_buf* /*new_header*/,
             void** handle) {
  *handle = nullptr;
  return codecframe::Guard(kName, "open", [&] {
    int rc = codecframe::CheckNoStoredHeader(kName, stored_len);
    if (rc != BP_OK) return rc;
    auto codec = std::make_unique<ZstdCodec>();
    if (config != nullptr && bp_host->config_has(config, "level")) {
      int64_t level = bp_host->config_int(config, "level");
      if (level < -7 || level > 19 || level == 0) {
        return codecframe::Fail(
            BP_ERR_INVALID,
            "zstd: level must be 1..19 (or -7..-1 for fast modes), got " + std::to_string(level));
      }
      codec->level = static_cast<int>(level);
    }
    *handle = codec.release();
    return BP_OK;
  });
}

void ZstdClose(void* handle) { delete static_cast<ZstdCodec*>(handle); }

int ZstdEncode(void* handle, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
               struct bp_buf* out) {
  return codecframe::Guard(kName, "encode", [&] {
    const int level = static_cast<const ZstdCodec*>(handle)->level;
    codecframe::EffortTracker& effort = codecframe::ThreadEffortTracker();
    const codecframe::EffortTracker::Effort spend = effort.Next();
    if (spend == codecframe::EffortTracker::Effort::kSkip) {
      effort.Record(false);
      return codecframe::AppendRawInPlace(kName, kMagic, in, in_len, out);
    }
    const bool scouting = spend == codecframe::EffortTracker::Effort::kScout;
    bool compressed = false;
    const int rc = codecframe::EncodeUnit(
        kName, kMagic, kMaxCompressedUnit, in, in_len, out,
        [&](const uint8_t* src, size_t n, uint8_t* dest, size_t capacity) {
          ZSTD_CCtx* cctx = ThreadCCtx();
          if (cctx == nullptr) {
            codecframe::Fail(BP_ERR_PERMANENT, "zstd encode: out of memory");
            return codecframe::SqueezeResult{};
          }
          const UnitPlan plan = PlanUnit(src, n, scouting);
          if (!plan.compress) {
            return codecframe::SqueezeResult{codecframe::Squeeze::kDidNotShrink, 0};
          }
          if (!ConfigureCCtx(cctx, level, plan.entropy_literals)) {
            codecframe::Fail(BP_ERR_PERMANENT,
                             "zstd encode: cannot set level " + std::to_string(level));
            return codecframe::SqueezeResult{};
          }
          // ZSTD_compress2 sizes zstd's window and tables to the unit (its length is known).
          const size_t produced = ZSTD_compress2(cctx, dest, capacity, src, n);
          if (!ZSTD_isError(produced)) {
            return codecframe::SqueezeResult{codecframe::Squeeze::kCompressed, produced};
          }
          if (ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall) {
            return codecframe::SqueezeResult{codecframe::Squeeze::kDidNotShrink, 0};
          }
          codecframe::Fail(BP_ERR_PERMANENT,
                           std::string("zstd encode: ") + ZSTD_getErrorName(produced));
          return codecframe::SqueezeResult{};
        },
        &compressed);
    if (rc == BP_OK) effort.Record(compressed);
    return rc;
  });
}

int ZstdDecode(void* /*handle*/, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
               struct bp_buf* out) {
  return codecframe::Guard(kName, "decode", [&] {
    const codecframe::DecodeLimits limits{kMaxCompressedUnit, kMaxExpansion, 0};
    // Exactly one frame, covering the whole payload, whose own header agrees with ours.
    auto check = [](const uint8_t* payload, size_t payload_len, uint64_t decoded_length) {
      size_t frame_len = ZSTD_findFrameCompressedSize(payload, payload_len);
      if (ZSTD_isError(frame_len) || frame_len != payload_len) {
        return codecframe::Fail(BP_ERR_CORRUPT,
                                "zstd decode: payload is not exactly one zstd frame");
      }
      if (ZSTD_getFrameContentSize(payload, payload_len) != decoded_length) {
        return codecframe::Fail(BP_ERR_CORRUPT,
                                "zstd decode: frame size disagrees with unit header (" +
                                    std::to_string(decoded_length) + " bytes)");
      }
      return static_cast<int>(BP_OK);
    };
    auto decompress = [](const uint8_t* payload, size_t payload_len, uint8_t* dest,
                         size_t decoded_length) {
      ZSTD_DCtx* dctx = ThreadDCtx();
      if (dctx == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "zstd decode: out of memory");
      const size_t produced = ZSTD_decompressDCtx(dctx, dest, decoded_length, payload, payload_len);
      if (ZSTD_isError(produced)) {
        return codecframe::Fail(
            BP_ERR_CORRUPT,
            std::string("zstd decode: corrupt compressed data: ") + ZSTD_getErrorName(produced));
      }
      if (produced != decoded_length) {
        return codecframe::Fail(BP_ERR_CORRUPT,
                                "zstd decode: produced " + std::to_string(produced) +
                                    " bytes, unit header says " + std::to_string(decoded_length));
      }
      return static_cast<int>(BP_OK);
    };
    return codecframe::DecodeUnit(kName, kMagic, limits, in, in_len, out, check, decompress);
  });
}

struct bp_codec_plugin zstd_codec_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "zstd", "1.0",
                  "zstd compression of each unit (level configurable)"},
    /* flags */ BP_CODEC_COMPRESSES,
    /* reserved */ 0,
    /* config_keys */ kConfigKeys,
    /* open */ ZstdOpen,
    /* close */ ZstdClose,
    /* encode */ ZstdEncode,
    /* decode */ ZstdDecode,
    /* rekey */ nullptr,  // nothing secret in a zstd header
};

}  // namespace

BP_REGISTER_CODEC(zstd_codec_plugin, BP_THREAD_PARALLEL)
