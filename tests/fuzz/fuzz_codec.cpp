// Fuzz target for a bundled compression codec, built once per codec: the executable links the
// codec plugin's own source (lz4 or zstd), obtains its bp_codec_plugin through the exported
// entry point exactly as the host's loader does, and drives it through the SDK struct with the
// host's real services table (bp_buf growth, set_error). The first input byte chooses the
// property: bit 0 clear — decode the rest as a stored unit, which must either fail with
// BP_ERR_CORRUPT or produce bytes that re-encode and decode to themselves; bit 0 set — encode
// the rest as unit data, which must decode back to exactly the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include <blockpipe/blockpipe.h>

#include "loader/host_services.h"
#include "support/fuzz_check.h"

extern "C" const struct bp_plugin_header* blockpipe_plugin_entry(const struct bp_host_api* host);

namespace {

struct CodecUnderTest {
  const bp_codec_plugin* plugin = nullptr;
  bp_config config = bp::MakePluginConfig(bp::ResolvedConfig{});
  void* handle = nullptr;
  uint8_t uuid[16] = {0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

  CodecUnderTest() {
    const bp_plugin_header* header = blockpipe_plugin_entry(bp::HostApi());
    FUZZ_CHECK(header != nullptr && header->kind == BP_KIND_CODEC, "not a codec plugin");
    plugin = reinterpret_cast<const bp_codec_plugin*>(header);
    bp_codec_volume volume{};
    volume.struct_size = sizeof volume;
    volume.volume_uuid = uuid;
    volume.volume_name = "fuzz";
    bp::Bytes new_header;
    bp::BufWriter writer(&new_header);
    bp::ClearPluginError();
    int rc = plugin->open(&config, &volume, nullptr, 0, writer.get(), &handle);
    FUZZ_CHECK(rc == BP_OK && handle != nullptr, "codec open failed: " + bp::TakePluginError());
  }

  int Run(bool encode, const uint8_t* in, size_t n, bp::Bytes* out) {
    bp_unit_ctx unit{};
    unit.struct_size = sizeof unit;
    unit.kind = BP_UNIT_DATA;
    unit.volume_uuid = uuid;
    unit.logical_length = encode ? n : 0;
    out->clear();
    bp::BufWriter writer(out);
    bp::ClearPluginError();
    return (encode ? plugin->encode : plugin->decode)(handle, &unit, in, n, writer.get());
  }
};

CodecUnderTest& Codec() {
  static CodecUnderTest* codec = new CodecUnderTest();
  return *codec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  CodecUnderTest& codec = Codec();
  const uint8_t* in = data + 1;
  const size_t n = size - 1;
  bp::Bytes encoded, decoded;

  if (data[0] & 1) {
    int rc = codec.Run(true, in, n, &encoded);
    FUZZ_CHECK(rc == BP_OK, "encode failed: " + bp::TakePluginError());
    rc = codec.Run(false, encoded.data(), encoded.size(), &decoded);
    FUZZ_CHECK(rc == BP_OK, "own unit does not decode: " + bp::TakePluginError());
    FUZZ_CHECK(decoded == bp::Bytes(in, in + n), "round trip changes the data");
    return 0;
  }

  int rc = codec.Run(false, in, n, &decoded);
  if (rc != BP_OK) {
    const std::string message = bp::TakePluginError();
    FUZZ_CHECK(rc == BP_ERR_CORRUPT, "decode failed with " + std::to_string(rc) + ": " + message);
    FUZZ_CHECK(!message.empty(), "decode failed without saying why");
    return 0;
  }
  // Accepted input is a unit this codec could have written: the same bytes come back through
  // a fresh encode and decode.
  rc = codec.Run(true, decoded.data(), decoded.size(), &encoded);
  FUZZ_CHECK(rc == BP_OK, "re-encode failed: " + bp::TakePluginError());
  bp::Bytes again;
  rc = codec.Run(false, encoded.data(), encoded.size(), &again);
  FUZZ_CHECK(rc == BP_OK && again == decoded, "re-encoded unit does not decode to itself");
  return 0;
}
