// The lz4 codec: fast block compression of each unit with liblz4, framed by unit_frame.h so a
// decode knows the exact output size and refuses anything it did not write. Input that lz4
// cannot shrink is stored raw (one flag byte plus the length), so an incompressible unit costs at
// most a few bytes more than its size. It keeps no state between calls and persists no header.
#include <blockpipe/bp_codec.h>
#include <lz4.h>

#include <cstring>
#include <memory>
#include <string>

#include "../common/unit_frame.h"

namespace {

constexpr uint8_t kMagic = 'L';
constexpr const char* kName = "lz4";

struct Lz4Codec {
  int acceleration = 1;
};

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
        return codecframe::Fail(BP_ERR_INVALID, "lz4: acceleration must be between 1 and 65537, got " +
                                                    std::to_string(acceleration));
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
    const auto* codec = static_cast<const Lz4Codec*>(handle);
    // lz4 compresses at most LZ4_MAX_INPUT_SIZE (~2 GiB) per block; anything larger is stored.
    if (in_len < 2 || in_len > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return codecframe::AppendRaw(kMagic, in, in_len, out);
    }
    // One reservation serves both outcomes: the compressed stream gets in_len - 1 bytes of room,
    // so lz4 fails exactly when compressing would not save anything, and the raw copy fits.
    auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, codecframe::kMaxHeaderSize + in_len));
    if (dest == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "lz4 encode: out of memory");
    size_t header = codecframe::WriteHeader(dest, kMagic, codecframe::kMethodCompressed, in_len);
    int compressed = LZ4_compress_fast(static_cast<const char*>(in),
                                       reinterpret_cast<char*>(dest + header),
                                       static_cast<int>(in_len), static_cast<int>(in_len - 1),
                                       codec->acceleration);
    if (compressed <= 0) {
      dest[1] = codecframe::kMethodRaw;
      std::memcpy(dest + header, in, in_len);
      bp_host->buf_commit(out, header + in_len);
      return BP_OK;
    }
    bp_host->buf_commit(out, header + static_cast<size_t>(compressed));
    return BP_OK;
  });
}

int Lz4Decode(void* /*handle*/, const struct bp_unit_ctx* /*unit*/, const void* in, size_t in_len,
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
        return codecframe::Fail(BP_ERR_PERMANENT, "lz4 decode: out of memory");
      }
      return BP_OK;
    }
    // An lz4 block expands by at most ~255x (one length byte per 255 output bytes), so a larger
    // claim is corruption, refused before allocating anything.
    if (header.decoded_length < 2 || header.decoded_length > static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE) ||
        header.decoded_length > static_cast<uint64_t>(payload_len) * 256 + 64) {
      return codecframe::Fail(BP_ERR_CORRUPT, "lz4 decode: implausible decoded length " +
                                                  std::to_string(header.decoded_length) + " for " +
                                                  std::to_string(payload_len) + " compressed bytes");
    }
    if (payload_len > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return codecframe::Fail(BP_ERR_CORRUPT, "lz4 decode: compressed payload too large");
    }
    size_t decoded_length = static_cast<size_t>(header.decoded_length);
    auto* dest = static_cast<char*>(bp_host->buf_reserve(out, decoded_length));
    if (dest == nullptr) return codecframe::Fail(BP_ERR_PERMANENT, "lz4 decode: out of memory");
    int produced = LZ4_decompress_safe(reinterpret_cast<const char*>(payload), dest,
                                       static_cast<int>(payload_len), static_cast<int>(decoded_length));
    if (produced < 0 || static_cast<size_t>(produced) != decoded_length) {
      return codecframe::Fail(BP_ERR_CORRUPT,
                              "lz4 decode: corrupt compressed data (expected " +
                                  std::to_string(decoded_length) + " bytes, lz4 returned " +
                                  std::to_string(produced) + ")");
    }
    bp_host->buf_commit(out, decoded_length);
    return BP_OK;
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
};

}  // namespace

BP_REGISTER_CODEC(lz4_codec_plugin, BP_THREAD_PARALLEL)
