// The zstd codec: zstd compression of each unit at a configurable level, framed by
// unit_frame.h like lz4 (exact decoded length, raw storage of incompressible input, fail closed).
// Compression and decompression contexts are expensive to create, so each thread keeps one of
// each for the life of the thread and reuses it for every unit and every volume; the level is
// passed per call, so instances with different levels share them safely.
#include <blockpipe/bp_codec.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <cstring>
#include <memory>
#include <string>

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
        return codecframe::Fail(BP_ERR_INVALID,
                                "zstd: level must be 1..19 (or -7..-1 for fast modes), got " +
                                    std::to_string(level));
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
    const auto* codec = static_cast<const ZstdCodec*>(handle);
    if (in_len < 2 || in_len > kMaxCompressedUnit) return codecframe::AppendRaw(kMagic, in, in_len, out);
    ZSTD_CCtx* cctx = ThreadCCtx();
    if (cctx == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "zstd encode: out of memory");
    // As in lz4: room for in_len - 1 compressed bytes, so "does not fit" means "does not shrink".
    auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, codecframe::kMaxHeaderSize + in_len));
    if (dest == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "zstd encode: out of memory");
    size_t header = codecframe::WriteHeader(dest, kMagic, codecframe::kMethodCompressed, in_len);
    size_t compressed = ZSTD_compressCCtx(cctx, dest + header, in_len - 1, in, in_len, codec->level);
    if (ZSTD_isError(compressed)) {
      if (ZSTD_getErrorCode(compressed) != ZSTD_error_dstSize_tooSmall) {
        return codecframe::Fail(BP_ERR_PERMANENT,
                                std::string("zstd encode: ") + ZSTD_getErrorName(compressed));
      }
      dest[1] = codecframe::kMethodRaw;
      std::memcpy(dest + header, in, in_len);
      bp_host->buf_commit(out, header + in_len);
      return BP_OK;
    }
    bp_host->buf_commit(out, header + compressed);
    return BP_OK;
  });
}

int ZstdDecode(void* /*handle*/, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
               struct bp_buf* out) {
  return codecframe::Guard(kName, "decode", [&] {
    const auto* bytes = static_cast<const uint8_t*>(in);
    codecframe::Header header;
    int rc = codecframe::ReadHeader(kName, kMagic, bytes, in_len, &header);
    if (rc != BP_OK) return rc;
    const uint8_t* payload = bytes + header.size;
    size_t payload_len = in_len - header.size;
    if (header.method == codecframe::kMethodRaw) {
      if (payload_len > 0 && bp_host->buf_append(out, payload, payload_len) != BP_OK) {
        return codecframe::Fail(BP_ERR_PERMANENT, "zstd decode: out of memory");
      }
      return BP_OK;
    }
    const std::string claimed = std::to_string(header.decoded_length);
    if (header.decoded_length < 2 || header.decoded_length > kMaxCompressedUnit ||
        header.decoded_length > static_cast<uint64_t>(payload_len) * kMaxExpansion) {
      return codecframe::Fail(BP_ERR_CORRUPT, "zstd decode: implausible decoded length " + claimed +
                                                  " for " + std::to_string(payload_len) +
                                                  " compressed bytes");
    }
    // Exactly one frame, covering the whole payload, whose own header agrees with ours.
    size_t frame_len = ZSTD_findFrameCompressedSize(payload, payload_len);
    if (ZSTD_isError(frame_len) || frame_len != payload_len) {
      return codecframe::Fail(BP_ERR_CORRUPT, "zstd decode: payload is not exactly one zstd frame");
    }
    unsigned long long frame_content = ZSTD_getFrameContentSize(payload, payload_len);
    if (frame_content != header.decoded_length) {
      return codecframe::Fail(BP_ERR_CORRUPT, "zstd decode: frame size disagrees with unit header (" +
                                                  claimed + " bytes)");
    }
    ZSTD_DCtx* dctx = ThreadDCtx();
    if (dctx == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "zstd decode: out of memory");
    size_t decoded_length = static_cast<size_t>(header.decoded_length);
    void* dest = bp_host->buf_reserve(out, decoded_length);
    if (dest == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "zstd decode: out of memory");
    size_t produced = ZSTD_decompressDCtx(dctx, dest, decoded_length, payload, payload_len);
    if (ZSTD_isError(produced)) {
      return codecframe::Fail(BP_ERR_CORRUPT, std::string("zstd decode: corrupt compressed data: ") +
                                                  ZSTD_getErrorName(produced));
    }
    if (produced != decoded_length) {
      return codecframe::Fail(BP_ERR_CORRUPT, "zstd decode: produced " + std::to_string(produced) +
                                                  " bytes, unit header says " + claimed);
    }
    bp_host->buf_commit(out, decoded_length);
    return BP_OK;
  });
}

struct bp_codec_plugin zstd_codec_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "zstd", "1.0", "zstd compression of each unit (level configurable)"},
    /* flags */ BP_CODEC_COMPRESSES,
    /* reserved */ 0,
    /* config_keys */ kConfigKeys,
    /* open */ ZstdOpen,
    /* close */ ZstdClose,
    /* encode */ ZstdEncode,
    /* decode */ ZstdDecode,
};

}  // namespace

BP_REGISTER_CODEC(zstd_codec_plugin, BP_THREAD_PARALLEL)
