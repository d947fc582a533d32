// Codec chains from config and from volume metadata (see codec_factory.h).
#include "loader/codec_factory.h"

#include "loader/codec_adapter.h"

namespace bp {

Status CheckCodecOrder(const std::vector<ConfiguredCodec>& chain) {
  const ConfiguredCodec* encrypting = nullptr;
  for (const auto& c : chain) {
    const uint32_t flags = c.plugin->codec().flags;
    if (encrypting != nullptr && (flags & BP_CODEC_COMPRESSES) != 0) {
      return Status::Invalid(
          c.where + " codec " + c.plugin->name() + " compresses, but it comes after " +
          encrypting->plugin->name() + ", which encrypts: encrypted bytes look random " +
          "and do not compress. Put the [[codec]] sections that compress before " +
          "the ones that encrypt.");
    }
    if ((flags & BP_CODEC_ENCRYPTS) != 0 && encrypting == nullptr) encrypting = &c;
  }
  return Status::Ok();
}

PluginCodecFactory::PluginCodecFactory(std::vector<ConfiguredCodec> configured, CodecLookup lookup,
                                       const Config& config)
    : configured_(std::move(configured)), lookup_(std::move(lookup)) {
  config_.file = config.file;
  config_.dir = config.dir;
}

Status PluginCodecFactory::CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                                       std::vector<CodecRecord>* records,
                                       std::unique_ptr<CodecChain>* chain) {
  std::vector<std::unique_ptr<Codec>> codecs;
  std::vector<CodecRecord> recs;
  for (const auto& c : configured_) {
    CodecRecord rec;
    rec.name = c.plugin->name();
    std::unique_ptr<Codec> codec;
    Status st =
        OpenPluginCodec(c.plugin, c.config, uuid, volume_name, nullptr, &rec.header, &codec);
    if (!st.ok()) return st.WithContext("creating volume " + volume_name + ": " + c.where);
    codecs.push_back(std::move(codec));
    recs.push_back(std::move(rec));
  }
  *chain = std::make_unique<CodecChain>(uuid, std::move(codecs));
  *records = std::move(recs);
  return Status::Ok();
}

Status PluginCodecFactory::Resolve(const std::string& volume_name,
                                   const std::vector<CodecRecord>& records, size_t index,
                                   ConfiguredCodec* out) {
  const std::string& name = records[index].name;
  // The section at the same position wins (a chain may use one codec twice), then any other.
  if (index < configured_.size() && configured_[index].plugin->name() == name) {
    *out = configured_[index];
    return Status::Ok();
  }
  for (const auto& c : configured_) {
    if (c.plugin->name() == name) {
      *out = c;
      return Status::Ok();
    }
  }
  std::shared_ptr<LoadedPlugin> plugin;
  Status st = lookup_(name, &plugin);
  if (st.IsNotFound()) {
    return Status::NotFound("volume " + volume_name + " uses codec `" + name + "`, but " +
                            st.message());
  }
  if (!st.ok()) return st.WithContext("volume " + volume_name + " uses codec `" + name + "`");
  // Not configured: its defaults must be enough (a codec with required keys, such as a
  // password, needs its [[codec]] section).
  PluginSection empty;
  empty.table = "codec " + name;
  ResolvedConfig resolved;
  st = ValidatePluginSection(config_, empty, name, plugin->key_table(), &resolved);
  if (!st.ok()) {
    return Status::Invalid(
        "volume " + volume_name + " uses codec `" + name +
        "`, which is not configured and needs settings: add a [[codec]] section with plugin = \"" +
        name + "\" (" + st.message() + ")");
  }
  out->plugin = std::move(plugin);
  out->config = std::make_shared<const bp_config>(MakePluginConfig(std::move(resolved)));
  out->where = "codec " + name + " (not configured, defaults)";
  return Status::Ok();
}

Status PluginCodecFactory::OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                                     const std::vector<CodecRecord>& records,
                                     std::unique_ptr<CodecChain>* chain) {
  std::vector<std::unique_ptr<Codec>> codecs;
  for (size_t i = 0; i < records.size(); ++i) {
    ConfiguredCodec c;
    BP_RETURN_IF_ERROR(Resolve(volume_name, records, i, &c));
    std::unique_ptr<Codec> codec;
    Status st =
        OpenPluginCodec(c.plugin, c.config, uuid, volume_name, &records[i].header, nullptr, &codec);
    if (!st.ok()) return st.WithContext("opening volume " + volume_name + ": " + c.where);
    codecs.push_back(std::move(codec));
  }
  *chain = std::make_unique<CodecChain>(uuid, std::move(codecs));
  return Status::Ok();
}

Status PluginCodecFactory::RekeyChain(const uint8_t uuid[16], const std::string& volume_name,
                                      const std::vector<CodecRecord>& records,
                                      const std::string& new_secret,
                                      std::vector<CodecRecord>* rekeyed, RekeyOutcome* outcome) {
  std::vector<CodecRecord> out = records;
  bool any_secret = false;
  bool any_rekeyed = false;
  for (size_t i = 0; i < records.size(); ++i) {
    ConfiguredCodec c;
    BP_RETURN_IF_ERROR(Resolve(volume_name, records, i, &c));
    // A codec that encrypts holds a secret by definition; one that cannot change it must stop
    // the change rather than leave part of the chain on the old password.
    const bool encrypts = (c.plugin->codec().flags & BP_CODEC_ENCRYPTS) != 0;
    if (!PluginCanRekey(*c.plugin) && !encrypts) continue;
    any_secret = true;
    bool already = false;
    Status st = RekeyPluginCodec(c.plugin, c.config.get(), uuid, volume_name, records[i].header,
                                 new_secret, &out[i].header, &already);
    if (!st.ok()) return st.WithContext("volume " + volume_name + ": " + c.where);
    if (already) {
      out[i].header = records[i].header;
    } else {
      any_rekeyed = true;
    }
  }
  *outcome = !any_secret   ? RekeyOutcome::kNoSecret
             : any_rekeyed ? RekeyOutcome::kRekeyed
                           : RekeyOutcome::kAlreadyDone;
  *rekeyed = std::move(out);
  return Status::Ok();
}

}  // namespace bp
