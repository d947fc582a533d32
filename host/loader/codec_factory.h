// PluginCodecFactory: the CodecFactory the daemon gives the volume engine. New volumes get the
// configured [[codec]] chain, in order; existing volumes get the chain their metadata records,
// matched by codec name to a configured section (so an encryption codec finds its password)
// or else loaded by name from the plugin directories with its defaults.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "loader/host_services.h"
#include "loader/plugin_library.h"
#include "pipeline/codec_chain.h"
#include "util/status.h"

namespace bp {

// One validated [[codec]] section.
struct ConfiguredCodec {
  std::shared_ptr<LoadedPlugin> plugin;
  std::shared_ptr<const bp_config> config;
  std::string where;  // "FILE:LINE: [codec[0]]", for messages
};

// Finds a codec plugin by its short name. NotFound's message reads "no plugin
// blockpipe-codec-NAME.so was found in DIRS".
using CodecLookup = std::function<Status(const std::string& name, std::shared_ptr<LoadedPlugin>*)>;

// Refuse a chain where a compressing codec follows an encrypting one (encrypted bytes do not
// compress, and the order would leak nothing but waste everything).
Status CheckCodecOrder(const std::vector<ConfiguredCodec>& chain);

class PluginCodecFactory final : public CodecFactory {
 public:
  // config: for validating the defaults of codecs loaded by name (file and dir only are used).
  PluginCodecFactory(std::vector<ConfiguredCodec> configured, CodecLookup lookup,
                     const Config& config);

  Status CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                     std::vector<CodecRecord>* records,
                     std::unique_ptr<CodecChain>* chain) override;
  Status OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                   const std::vector<CodecRecord>& records,
                   std::unique_ptr<CodecChain>* chain) override;
  Status RekeyChain(const uint8_t uuid[16], const std::string& volume_name,
                    const std::vector<CodecRecord>& records, const std::string& new_secret,
                    std::vector<CodecRecord>* rekeyed, RekeyOutcome* outcome) override;

 private:
  // The plugin and config to decode record `index` of a volume's chain.
  Status Resolve(const std::string& volume_name, const std::vector<CodecRecord>& records,
                 size_t index, ConfiguredCodec* out);

  std::vector<ConfiguredCodec> configured_;
  CodecLookup lookup_;
  Config config_;  // file and dir only
};

}  // namespace bp
