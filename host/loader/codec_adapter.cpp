// PluginCodec: Codec over a bp_codec_plugin instance (see codec_adapter.h).
#include "loader/codec_adapter.h"

#include <spdlog/spdlog.h>

#include "loader/call_gate.h"

namespace bp {
namespace {

class PluginCodec final : public Codec {
 public:
  PluginCodec(std::shared_ptr<LoadedPlugin> plugin, std::shared_ptr<const bp_config> config,
              void* handle)
      : plugin_(std::move(plugin)),
        fn_(plugin_->codec()),
        config_(std::move(config)),
        handle_(handle),
        gate_(plugin_->thread_model(), &plugin_->plugin_mutex()) {}

  ~PluginCodec() override {
    auto lock = gate_.Enter();
    fn_.close(handle_);
  }

  const std::string& name() const override { return plugin_->name(); }
  uint32_t flags() const override { return fn_.flags; }

  Status Encode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    return Run(fn_.encode, "encode", uuid, unit, in, n, out);
  }

  Status Decode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    return Run(fn_.decode, "decode", uuid, unit, in, n, out);
  }

  // The plugin writes over *out from its start (its size is room): no zero-fill when the
  // caller's buffer is already large enough, then the vector is cut to what was committed.
  Status DecodeInto(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                    Bytes* out) override {
    bp_unit_ctx ctx = ContextFor(uuid, unit);
    int rc;
    size_t committed;
    {
      BufWriter writer(out, 0, BufWriter::ReuseTail{});
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.decode(handle_, &ctx, in, n, writer.get());
      committed = writer.committed();
    }
    if (rc != BP_OK) {
      out->clear();  // partial output is never the caller's business
      return PluginStatus(rc, plugin_->name() + ": decode");
    }
    ClearPluginError();  // as PluginStatus would: a message set on success is dropped
    out->resize(committed);
    return Status::Ok();
  }

  // The plugin writes into the room past *length as it is: no trim, no zero-fill.
  Status EncodeAt(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                  Bytes* out, size_t* length, std::vector<KeptInput>* kept) override {
    bp_unit_ctx ctx = ContextFor(uuid, unit);
    int rc;
    size_t committed;
    const size_t kept_before = kept != nullptr ? kept->size() : 0;
    {
      BufWriter writer(out, *length, BufWriter::ReuseTail{});
      if (kept != nullptr) writer.KeepInput(in, n, kept);
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.encode(handle_, &ctx, in, n, writer.get());
      committed = writer.committed();
    }
    Status st = PluginStatus(rc, plugin_->name() + ": encode");
    if (st.ok()) {
      *length = committed;
    } else if (kept != nullptr) {
      kept->resize(kept_before);
    }
    return st;
  }

 private:
  using Transform = int (*)(void*, const bp_unit_ctx*, const void*, size_t, bp_buf*);

  static bp_unit_ctx ContextFor(const uint8_t uuid[16], const UnitId& unit) {
    bp_unit_ctx ctx{};
    ctx.struct_size = sizeof ctx;
    ctx.kind = unit.kind;
    ctx.volume_uuid = uuid;
    ctx.object_seq = unit.object_seq;
    ctx.unit_index = unit.unit_index;
    ctx.logical_length = unit.logical_length;
    return ctx;
  }

  Status Run(Transform fn, const char* op, const uint8_t uuid[16], const UnitId& unit,
             const uint8_t* in, size_t n, Bytes* out) {
    bp_unit_ctx ctx = ContextFor(uuid, unit);
    const size_t before = out->size();
    int rc;
    {
      BufWriter writer(out);
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn(handle_, &ctx, in, n, writer.get());
    }
    Status st = PluginStatus(rc, plugin_->name() + ": " + op);
    if (!st.ok()) out->resize(before);  // partial output is never the caller's business
    return st;
  }

  std::shared_ptr<LoadedPlugin> plugin_;
  const bp_codec_plugin& fn_;
  std::shared_ptr<const bp_config> config_;  // read by the plugin until close
  void* handle_;
  CallGate gate_;
};

}  // namespace

Status OpenPluginCodec(std::shared_ptr<LoadedPlugin> plugin,
                       std::shared_ptr<const bp_config> config, const uint8_t uuid[16],
                       const std::string& volume_name, const Bytes* stored_header,
                       Bytes* new_header, std::unique_ptr<Codec>* out) {
  bp_codec_volume volume{};
  volume.struct_size = sizeof volume;
  volume.volume_uuid = uuid;
  volume.volume_name = volume_name.c_str();

  // An existing volume whose codec recorded an empty header must still look "existing" to the
  // codec, so it gets a valid pointer with length 0, never NULL.
  static const uint8_t kEmpty = 0;
  const void* stored = nullptr;
  size_t stored_len = 0;
  if (stored_header != nullptr) {
    stored = stored_header->empty() ? &kEmpty : stored_header->data();
    stored_len = stored_header->size();
  }

  Bytes scratch;
  Bytes* header_out = new_header != nullptr ? new_header : &scratch;
  header_out->clear();
  void* handle = nullptr;
  Status st;
  {
    BufWriter writer(header_out);
    st = OpenPluginInstance(
        *plugin, plugin->name() + ": open", plugin->name() + ": open",
        [&](void** h) {
          return plugin->codec().open(config.get(), &volume, stored, stored_len, writer.get(), h);
        },
        plugin->codec().close, &handle);
  }
  if (!st.ok()) {
    header_out->clear();
    return st;
  }
  if (header_out->size() > BP_CODEC_HEADER_MAX_SIZE) {
    CallOutsideHandle(*plugin, [&] { plugin->codec().close(handle); });
    return Status::Permanent(plugin->name() + ": open produced a " +
                             std::to_string(header_out->size()) + "-byte header; the limit is " +
                             std::to_string(BP_CODEC_HEADER_MAX_SIZE) + " bytes");
  }
  *out = std::make_unique<PluginCodec>(std::move(plugin), std::move(config), handle);
  return Status::Ok();
}

bool PluginCanRekey(const LoadedPlugin& plugin) {
  const bp_codec_plugin* fn = &plugin.codec();
  return BP_CODEC_HAS(fn, rekey);
}

Status RekeyPluginCodec(const std::shared_ptr<LoadedPlugin>& plugin, const bp_config* config,
                        const uint8_t uuid[16], const std::string& volume_name,
                        const Bytes& stored_header, const std::string& new_secret,
                        Bytes* new_header, bool* already_done) {
  *already_done = false;
  new_header->clear();
  // The host's copy of the struct is zero past the plugin's declared size, but the size check
  // is the documented contract (BP_CODEC_HAS), so it is what decides.
  if (!PluginCanRekey(*plugin)) {
    return Status::Unsupported(
        "codec " + plugin->name() + " does not support changing the password" +
        (plugin->declared_size() < offsetof(bp_codec_plugin, rekey) + sizeof(void*)
             ? " (the plugin was built against blockpipe ABI 1.0; it needs 1.1)"
             : ""));
  }
  if (new_secret.empty()) return Status::Invalid("the new password is empty");
  bp_codec_volume volume{};
  volume.struct_size = sizeof volume;
  volume.volume_uuid = uuid;
  volume.volume_name = volume_name.c_str();
  static const uint8_t kEmpty = 0;
  const void* stored = stored_header.empty() ? &kEmpty : stored_header.data();
  int rc;
  {
    BufWriter writer(new_header);
    rc = CallOutsideHandle(*plugin, [&] {
      return plugin->codec().rekey(config, &volume, stored, stored_header.size(), new_secret.data(),
                                   new_secret.size(), writer.get());
    });
  }
  Status st = PluginStatus(rc, plugin->name() + ": rekey");
  if (st.IsPrecondition()) {
    new_header->clear();
    *already_done = true;
    return Status::Ok();
  }
  if (!st.ok()) {
    new_header->clear();
    return st;
  }
  if (new_header->empty() || new_header->size() > BP_CODEC_HEADER_MAX_SIZE) {
    const size_t n = new_header->size();
    new_header->clear();
    return Status::Permanent(plugin->name() + ": rekey produced a " + std::to_string(n) +
                             "-byte header (must be 1 to " +
                             std::to_string(BP_CODEC_HEADER_MAX_SIZE) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace bp
