// Sector data and codec chains of the simulated volume (see sim_volume.h).
#include "sim_volume.h"

#include <cstring>
#include <map>
#include <mutex>

#include "config/config.h"
#include "loader/plugin_registry.h"
#include "sim_random.h"
#include "util/crc32c.h"

namespace bp::sim {
namespace {

void Put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint64_t Get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
constexpr uint64_t kMagic = 0x31534D4953504221ull;  // "!BPSIMS1"

// Scrambles each unit with a key stream drawn from the volume and the unit's identity and
// appends a crc32c of the plain bytes: decoding with the wrong identity, or a flipped byte,
// fails as Corrupt, which is what the engine's fail-closed paths need to see.
class XorCodec final : public Codec {
 public:
  const std::string& name() const override { return name_; }
  uint32_t flags() const override { return BP_CODEC_AUTHENTICATES; }
  Status Encode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    const size_t base = out->size();
    out->resize(base + n + 4);
    uint8_t* dst = out->data() + base;
    Scramble(Key(uuid, unit), in, n, dst);
    const uint32_t crc = Crc32c(in, n);
    std::memcpy(dst + n, &crc, 4);
    return Status::Ok();
  }
  Status Decode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    if (n < 4) return Status::Corrupt("xor: unit too short");
    const size_t base = out->size();
    out->resize(base + n - 4);
    uint8_t* dst = out->data() + base;
    Scramble(Key(uuid, unit), in, n - 4, dst);
    uint32_t crc;
    std::memcpy(&crc, in + n - 4, 4);
    if (crc != Crc32c(dst, n - 4)) {
      out->resize(base);
      return Status::Corrupt("xor: checksum mismatch");
    }
    return Status::Ok();
  }

 private:
  // dst = src xor a key stream (little-endian words of the generator).
  static void Scramble(uint64_t key, const uint8_t* src, size_t n, uint8_t* dst) {
    uint64_t state = key;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      w ^= SplitMix64(&state);
      std::memcpy(dst + i, &w, 8);
    }
    const uint64_t k = SplitMix64(&state);
    for (; i < n; ++i) dst[i] = src[i] ^ static_cast<uint8_t>(k >> (8 * (i % 8)));
  }
  static uint64_t Key(const uint8_t uuid[16], const UnitId& unit) {
    uint64_t a, b;
    std::memcpy(&a, uuid, 8);
    std::memcpy(&b, uuid + 8, 8);
    return Mix(Mix(a ^ b, unit.kind),
               Mix(unit.object_seq, unit.unit_index * 1000003 + unit.logical_length));
  }
  std::string name_ = "xor";
};

std::unique_ptr<CodecChain> XorChain(const uint8_t uuid[16]) {
  std::vector<std::unique_ptr<Codec>> codecs;
  codecs.push_back(std::make_unique<XorCodec>());
  return std::make_unique<CodecChain>(uuid, std::move(codecs));
}

// The plugin codec factories, one per chain name, built once per process.
struct Plugins {
  std::mutex mu;
  std::unique_ptr<PluginRegistry> registry;
  std::map<std::string, std::unique_ptr<CodecFactory>> factories;
  std::map<std::string, std::string> errors;
};
Plugins& GetPlugins() {
  static Plugins plugins;
  return plugins;
}

std::string ChainConfig(const std::string& codec) {
  std::string codecs;
  if (codec == "lz4") codecs = "[[codec]]\nplugin = \"lz4\"\n";
  if (codec == "zstd") codecs = "[[codec]]\nplugin = \"zstd\"\n";
  if (codec == "encrypt") {
    // kdf_ops/kdf_mem at the lowest bounds the plugin accepts (docs/plugins/codec-encrypt.md):
    // a derivation then costs microseconds, so every reopen may derive again.
    codecs =
        "[[codec]]\nplugin = \"zstd\"\n[[codec]]\nplugin = \"encrypt\"\n"
        "password = \"simulated secret\"\nkdf_ops = 1\nkdf_mem = \"8KiB\"\n";
  }
  if (codecs.empty()) return "";
  return "[backend]\nurl = \"file:///nonexistent/sim\"\n" + codecs +
         "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"unix:/nonexistent/sim.sock\"]\n";
}

Status PluginFactory(const std::string& codec, CodecFactory** out) {
  Plugins& p = GetPlugins();
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.factories.find(codec);
  if (it != p.factories.end()) {
    *out = it->second.get();
    return Status::Ok();
  }
  const std::string text = ChainConfig(codec);
  if (text.empty()) return Status::Invalid("unknown codec '" + codec + "'");
  Config config;
  BP_RETURN_IF_ERROR(ParseConfig(text, "sim.toml", &config));
  if (!p.registry)
    p.registry = std::make_unique<PluginRegistry>(std::vector<std::filesystem::path>{});
  std::unique_ptr<CodecFactory> factory;
  BP_RETURN_IF_ERROR(p.registry->OpenCodecs(config, &factory));
  *out = factory.get();
  p.factories[codec] = std::move(factory);
  return Status::Ok();
}

}  // namespace

void FillSector(uint64_t id, uint64_t sector, uint8_t* out) {
  Put64(out, kMagic);
  Put64(out + 8, id);
  Put64(out + 16, sector);
  uint64_t s = Mix(id, sector);
  // 232 random bytes, then a 16-byte motif repeated: compressible about by half.
  for (size_t i = 24; i < 256; i += 8) Put64(out + i, SplitMix64(&s));
  uint8_t motif[16];
  for (size_t i = 0; i < 16; i += 8) Put64(motif + i, SplitMix64(&s));
  for (size_t i = 256; i < kSector; i += 16) std::memcpy(out + i, motif, 16);
}

SectorValue DecodeSector(const uint8_t* p, uint64_t sector) {
  SectorValue v;
  bool zero = true;
  for (size_t i = 0; i < kSector; i += 8) {
    if (Get64(p + i) != 0) {
      zero = false;
      break;
    }
  }
  if (zero) return v;
  v.kind = SectorValue::kGarbage;
  if (Get64(p) != kMagic) return v;
  v.id = Get64(p + 8);
  v.claimed_sector = Get64(p + 16);
  if (v.id == 0 || v.claimed_sector != sector) return v;
  uint8_t expect[kSector];
  FillSector(v.id, sector, expect);
  if (std::memcmp(expect, p, kSector) == 0) v.kind = SectorValue::kData;
  return v;
}

bool ChainMaker::Known(const std::string& codec, std::string* error) {
  if (codec == "none" || codec == "xor") return true;
  CodecFactory* factory = nullptr;
  Status s = PluginFactory(codec, &factory);
  if (!s.ok()) *error = s.ToString();
  return s.ok();
}

Status ChainMaker::Create(const std::string& codec, const uint8_t uuid[16],
                          std::vector<CodecRecord>* records, std::unique_ptr<CodecChain>* chain,
                          const std::string& volume) {
  records->clear();
  if (codec == "none") {
    *chain = std::make_unique<CodecChain>(uuid, std::vector<std::unique_ptr<Codec>>{});
    return Status::Ok();
  }
  if (codec == "xor") {
    records->push_back({"xor", {}});
    *chain = XorChain(uuid);
    return Status::Ok();
  }
  CodecFactory* factory = nullptr;
  BP_RETURN_IF_ERROR(PluginFactory(codec, &factory));
  return factory->CreateChain(uuid, volume, records, chain);
}

Status ChainMaker::Open(const std::string& codec, const uint8_t uuid[16],
                        const std::vector<CodecRecord>& records, std::unique_ptr<CodecChain>* chain,
                        const std::string& volume) {
  if (codec == "none" || codec == "xor") {
    std::vector<CodecRecord> ignored;
    return Create(codec, uuid, &ignored, chain);
  }
  CodecFactory* factory = nullptr;
  BP_RETURN_IF_ERROR(PluginFactory(codec, &factory));
  return factory->OpenChain(uuid, volume, records, chain);
}

}  // namespace bp::sim
