// fuzz-make-seeds: writes the seed corpora of the fuzz targets from blockpipe's own writers, so
// every seed is something the product really produces (or a client really sends) and can be
// regenerated when a format changes. Not a test; run by hand:
//
//   fuzz-make-seeds OUTDIR [PLUGIN_DIR]
//
// writes OUTDIR/<target>/seed-<what>. Codec seeds are encoded by the built codec plugins, loaded
// through the host's loader from PLUGIN_DIR (default: the build tree's plugin directory).
// Regression inputs (regress-*) are committed next to the seeds by hand and never generated.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "encrypt_format.h"
#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/segment_format.h"
#include "engine/volume_meta.h"
#include "engine/write_buffer.h"
#include "loader/codec_adapter.h"
#include "loader/host_services.h"
#include "loader/plugin_library.h"
#include "nbd_protocol.h"
#include "negotiation.h"
#include "support/encrypt_fixtures.h"
#include "support/identity_volumes.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

fs::path g_out;

void Write(const std::string& target, const std::string& name, const Bytes& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / ("seed-" + name), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A seed built from a failed encode would be garbage in the corpus: stop instead.
void MustSucceed(const bp::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "fuzz-make-seeds: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

void Be(Bytes* b, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Append(Bytes* b, const std::string& s) { b->insert(b->end(), s.begin(), s.end()); }

// ---- NBD ------------------------------------------------------------------------------------

void Option(Bytes* b, uint32_t option, const Bytes& data) {
  Be(b, bpnbd::kOptMagic, 8);
  Be(b, option, 4);
  Be(b, data.size(), 4);
  b->insert(b->end(), data.begin(), data.end());
}
Bytes InfoData(const std::string& name, const std::vector<uint16_t>& requests) {
  Bytes d;
  Be(&d, name.size(), 4);
  Append(&d, name);
  Be(&d, requests.size(), 2);
  for (uint16_t r : requests) Be(&d, r, 2);
  return d;
}
void Request(Bytes* b, uint16_t flags, uint16_t type, uint64_t offset, uint32_t length) {
  Be(b, bpnbd::kRequestMagic, 4);
  Be(b, flags, 2);
  Be(b, type, 2);
  Be(b, 0x1122334455667700ull + type, 8);
  Be(b, offset, 8);
  Be(b, length, 4);
  if (type == bpnbd::kCmdWrite) b->insert(b->end(), length, 0xAB);
}
void Requests(Bytes* b) {
  using namespace bpnbd;
  Request(b, 0, kCmdWrite, 0, 512);
  Request(b, kCmdFlagFua, kCmdWrite, 4096, 256);
  Request(b, 0, kCmdRead, 0, 8192);
  Request(b, 0, kCmdFlush, 0, 0);
  Request(b, 0, kCmdTrim, 8192, 65536);
  Request(b, kCmdFlagNoHole, kCmdWriteZeroes, 0, 4096);
  Request(b, kCmdFlagFastZero, kCmdWriteZeroes, 4096, 4096);
  Request(b, 0, kCmdCache, 0, 1u << 20);
  Request(b, 0, kCmdRead, (1u << 20) - 1, 2);  // crosses the end
  Request(b, 0, kCmdBlockStatus, 0, 4096);
  Request(b, 0, kCmdDisc, 0, 0);
}

void NbdNegotiationSeeds() {
  using namespace bpnbd;
  const uint32_t both = kClientFlagFixedNewstyle | kClientFlagNoZeroes;
  Bytes b = {0};
  Be(&b, both, 4);
  Option(&b, kOptList, {});
  Option(&b, kOptInfo, InfoData("default", {kInfoName, kInfoDescription, kInfoBlockSize}));
  Option(&b, kOptGo, InfoData("", {}));
  Requests(&b);
  Write("nbd_negotiation", "list-info-go-requests", b);

  b = {0};
  Be(&b, kClientFlagFixedNewstyle, 4);
  Option(&b, kOptStructuredReply, {});
  Option(&b, kOptStartTls, {});
  Option(&b, 0x7777, {1, 2, 3});
  Bytes name = {};
  Append(&name, "alpha");
  Option(&b, kOptExportName, name);
  Requests(&b);
  Write("nbd_negotiation", "unsupported-then-export-name", b);

  b = {1};  // allow-list: only "alpha"
  Be(&b, both, 4);
  Option(&b, kOptGo, InfoData("beta", {}));
  Option(&b, kOptList, {9});
  Option(&b, kOptGo, InfoData("alpha", {kInfoName}));
  Requests(&b);
  Write("nbd_negotiation", "allow-list", b);

  b = {2};  // read-only
  Be(&b, both, 4);
  Option(&b, kOptGo, InfoData("beta", {kInfoBlockSize}));
  Requests(&b);
  Write("nbd_negotiation", "read-only", b);

  b = {4};  // shutting down
  Be(&b, both, 4);
  Option(&b, kOptInfo, InfoData("default", {}));
  Option(&b, kOptAbort, {});
  Write("nbd_negotiation", "shutdown-abort", b);

  b = {0};
  Be(&b, both, 4);
  Bytes bad = InfoData("default", {});
  bad[3] = 200;  // name length beyond the data
  Option(&b, kOptInfo, bad);
  Option(&b, kOptGo, {0, 0});
  Option(&b, kOptInfo, Bytes(kMaxBufferedOptionData + 1, 0x41));
  Option(&b, kOptAbort, {});
  Write("nbd_negotiation", "malformed-options", b);

  b = {0};
  Be(&b, 0, 4);  // no fixed newstyle: only EXPORT_NAME is legal
  Option(&b, kOptList, {});
  Write("nbd_negotiation", "old-client-list", b);
}

void NbdRequestSeeds() {
  using namespace bpnbd;
  for (uint8_t shape : {0x00, 0xFE, 0x01, 0x6F}) {
    Bytes b = {shape};
    Be(&b, 1u << 20, 8);
    Be(&b, 32u << 20, 4);
    Requests(&b);
    char name[32];
    std::snprintf(name, sizeof name, "shape-%02x", shape);
    Write("nbd_request", name, b);
  }
  Bytes b = {0xFE};
  Be(&b, ~0ull - 4095, 8);  // near the top of the offset space
  Be(&b, 512, 4);
  Request(&b, 0, kCmdRead, ~0ull - 4095, 512);
  Request(&b, 0, kCmdWriteZeroes, ~0ull - 1, 4096);
  Request(&b, 0, kCmdWrite, 0, 600);  // above the maximum payload
  Write("nbd_request", "huge-export", b);
}

// ---- On-object formats -----------------------------------------------------------------------

const bp::Uuid kUuid = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
                        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

void FillBlock(uint8_t* block, uint8_t seed) {
  for (int i = 0; i < 4096; ++i) block[i] = static_cast<uint8_t>(seed + i / 64);
}

// A prefix byte 0 (no checksum repair): the seeds are valid as written.
Bytes Seed(uint8_t mode, const Bytes& object) {
  Bytes b = {mode};
  b.insert(b.end(), object.begin(), object.end());
  return b;
}

bp::BuiltSegment Segment(uint64_t seq, bool two_runs) {
  bp::WriteBuffer buffer;
  FillBlock(buffer.PutBlock(3), 1);
  if (two_runs) {
    FillBlock(buffer.PutBlock(4), 2);
    FillBlock(buffer.PutBlock(100), 3);
  }
  buffer.SetRange(10, 20, bp::ExtentKind::kZero);
  buffer.SetRange(200, 1000, bp::ExtentKind::kHole);
  auto chain = bptest::IdentityChain(kUuid.data());
  bp::BuiltSegment built;
  bp::Status st = bp::BuildSegment(buffer, seq, kUuid, *chain, 8192, &built);
  if (!st.ok()) std::fprintf(stderr, "BuildSegment: %s\n", st.ToString().c_str());
  return built;
}

void FormatSeeds() {
  bp::BuiltSegment one = Segment(1, false), two = Segment(7, true);
  Write("segment", "one-block", Seed(0, one.object));
  Write("segment", "three-blocks-two-units", Seed(0, two.object));
  Write("segment", "meta-only",
        Seed(8, bp::SerializeSegmentMeta(two.meta, two.meta.units.front().offset)));

  bp::VolumeState state;
  state.ApplySegment(one.meta, one.object.size());
  state.ApplySegment(two.meta, two.object.size());
  auto chain = bptest::IdentityChain(kUuid.data());
  Bytes plain = bp::SerializeCheckpoint(state), object;
  MustSucceed(bp::BuildCheckpointObject(plain, state.through_seq, kUuid, *chain, &object),
              "building the two-segment checkpoint");
  Write("checkpoint", "two-segments", Seed(0, object));
  Write("checkpoint", "body-only", Seed(8, plain));
  bp::VolumeState empty;
  plain = bp::SerializeCheckpoint(empty);
  MustSucceed(bp::BuildCheckpointObject(plain, 0, kUuid, *chain, &object),
              "building the empty checkpoint");
  Write("checkpoint", "empty", Seed(0, object));

  bp::VolumeMeta meta;
  meta.uuid = kUuid;
  meta.name = "default";
  meta.size = 1ull << 30;
  meta.created_unix_ms = 1700000000000ull;
  Write("volume_meta", "no-codecs", Seed(0, bp::EncodeVolumeMetaObject(meta)));
  meta.codecs = {{"zstd", {}}, {"encrypt", Bytes(48, 0x5c)}};
  meta.extensions = {{7, 0, {1, 2, 3}}};
  Write("volume_meta", "codecs-and-extension", Seed(0, bp::EncodeVolumeMetaObject(meta)));
}

// ---- Config ------------------------------------------------------------------------------------

void ConfigSeeds() {
  auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
  bp::InitOptions init;
  init.data_dir = "/var/lib/blockpipe";
  Write("config", "init-default", text(bp::RenderDefaultConfig(init)));
  Write("config", "frontend-keys",
        text("[host]\ndata_dir = \"data\"\nlog_level = \"debug\"\n"
             "[engine]\nsegment_size = \"8MiB\"\nunit_size = \"64KiB\"\nio_threads = 4\n"
             "[backend]\nurl = \"file:///srv/objects\"\n"
             "[[codec]]\nplugin = \"zstd\"\nlevel = 3\n"
             "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"127.0.0.1:10809\", \"[::1]:10810\", "
             "\"unix:nbd.sock\"]\n"
             "socket_mode = \"0600\"\nexports = [\"default\"]\nmax_connections = 8\nthreads = 2\n"
             "read_only = false\nmax_inflight = 64\nmax_inflight_bytes = "
             "\"16MiB\"\nhandshake_timeout = 5\n"
             "[[volume]]\nname = \"default\"\nsize = \"1GiB\"\n"));
  Write("config", "env-and-errors",
        text("[backend]\nurl = \"${HOME}/objects\"\npassword = \"${BLOCKPIPE_UNSET_FOR_FUZZ}\"\n"
             "[[volume]]\nname = \"-bad\"\nsize = 4097\n[unknown]\nx = 1\n"));
}

// ---- Codecs ------------------------------------------------------------------------------------

void CodecSeeds(const fs::path& plugin_dir, const std::string& codec) {
  std::shared_ptr<bp::LoadedPlugin> plugin;
  bp::Status st =
      bp::LoadedPlugin::Load(plugin_dir / ("blockpipe-codec-" + codec + ".so"), &plugin);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return;
  }
  auto config = std::make_shared<const bp_config>(bp::MakePluginConfig(bp::ResolvedConfig{}));
  std::unique_ptr<bp::Codec> instance;
  Bytes header;
  st = bp::OpenPluginCodec(plugin, config, kUuid.data(), "seed", nullptr, &header, &instance);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return;
  }
  std::vector<std::pair<std::string, Bytes>> inputs;
  inputs.push_back({"zeros", Bytes(4096, 0)});
  Bytes text;
  while (text.size() < 3000) Append(&text, "blockpipe serves block devices over NBD. ");
  inputs.push_back({"text", text});
  Bytes noise(600);
  uint32_t x = 12345;
  for (auto& byte : noise) byte = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  inputs.push_back({"noise", noise});
  inputs.push_back({"one-byte", {7}});
  inputs.push_back({"empty", {}});
  const std::string target = "codec_" + codec;
  for (const auto& [name, data] : inputs) {
    Bytes encoded;
    st = instance->Encode(kUuid.data(), bp::UnitId{}, data.data(), data.size(), &encoded);
    if (!st.ok()) continue;
    Write(target, "unit-" + name, Seed(0, encoded));
    if (data.size() <= 600) Write(target, "data-" + name, Seed(1, data));
  }
}

// ---- Encrypt ---------------------------------------------------------------------------------

// Key headers as the encrypt codec plugin writes them for a new volume (one per cipher), under the
// fixtures' password and cheapest costs; unit frames sealed by its format layer under the
// fixtures' data key. Mode byte 0: header; 1: XChaCha20-Poly1305 frame; 3: XAES-256-GCM frame.
void EncryptSeeds(const fs::path& plugin_dir) {
  namespace fx = bptest::encrypt;
  std::shared_ptr<bp::LoadedPlugin> plugin;
  bp::Status st = bp::LoadedPlugin::Load(plugin_dir / "blockpipe-codec-encrypt.so", &plugin);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return;
  }
  for (const std::string cipher : {"xchacha20-poly1305", "xaes-256-gcm"}) {
    bp::ResolvedConfig resolved;
    resolved.scalars = {{"password", fx::kPassword},
                        {"kdf_ops", std::to_string(fx::kSeedOps)},
                        {"kdf_mem", std::to_string(fx::kSeedMem)},
                        {"cipher", cipher}};
    auto config = std::make_shared<const bp_config>(bp::MakePluginConfig(std::move(resolved)));
    std::unique_ptr<bp::Codec> instance;
    Bytes header;
    st = bp::OpenPluginCodec(plugin, config, fx::kVolumeUuid, "seed", nullptr, &header, &instance);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      continue;
    }
    Write("encrypt_format", "header-" + cipher, Seed(0, header));
  }
  Bytes text;
  while (text.size() < 700) Append(&text, "blockpipe serves block devices over NBD. ");
  const std::pair<std::string, Bytes> inputs[] = {{"empty", {}}, {"one-byte", {7}}, {"text", text}};
  for (const auto cipher :
       {encryptfmt::Cipher::kXChaCha20Poly1305, encryptfmt::Cipher::kXAes256Gcm}) {
    for (const auto& [name, data] : inputs) {
      encryptfmt::UnitIdentity unit;
      unit.volume_uuid = fx::kVolumeUuid;
      unit.kind = fx::kUnitKind;
      unit.object_seq = fx::kUnitSeq;
      unit.unit_index = fx::kUnitIndex;
      unit.logical_length = data.size();
      uint8_t nonce[encryptfmt::kNonceBytes];
      for (size_t i = 0; i < sizeof nonce; ++i) nonce[i] = static_cast<uint8_t>(0x40 + i);
      Bytes frame(data.size() + encryptfmt::kFrameOverhead);
      if (!encryptfmt::SealUnit(fx::kDataKey, nonce, unit, data.data(), data.size(), frame.data(),
                                cipher)) {
        continue;
      }
      const bool xaes = cipher == encryptfmt::Cipher::kXAes256Gcm;
      Write("encrypt_format", std::string("frame-") + (xaes ? "xaes-" : "xchacha-") + name,
            Seed(xaes ? 3 : 1, frame));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUTDIR [PLUGIN_DIR]\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  const fs::path plugin_dir =
      argc > 2 ? fs::path(argv[2]) : bp::ExecutableDir() / ".." / "lib" / "blockpipe" / "plugins";
  NbdNegotiationSeeds();
  NbdRequestSeeds();
  FormatSeeds();
  ConfigSeeds();
  CodecSeeds(plugin_dir, "lz4");
  CodecSeeds(plugin_dir, "zstd");
  EncryptSeeds(plugin_dir);
  return 0;
}
