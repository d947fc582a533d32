// Codec adapter: one codec plugin instance bound to one volume, as a Codec. Owns the handle
// (closed on destruction) and shares the instance config with other instances of the same
// [[codec]] section. Honours the thread model; a failed encode/decode leaves the output as it
// was before the call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "loader/host_services.h"
#include "loader/plugin_library.h"
#include "pipeline/codec_chain.h"
#include "util/status.h"

namespace bp {

// Open an instance for a volume. stored_header: the bytes recorded at creation, or nullptr
// when creating a volume (then new_header receives the header to record). The message on
// failure is the plugin's ("encrypt: open: wrong password").
Status OpenPluginCodec(std::shared_ptr<LoadedPlugin> plugin,
                       std::shared_ptr<const bp_config> config, const uint8_t uuid[16],
                       const std::string& volume_name, const Bytes* stored_header,
                       Bytes* new_header, std::unique_ptr<Codec>* out);

// change-password for one codec: the header that opens with new_secret instead of the
// configured secret (bp_codec_plugin.rekey, ABI 1.1). Unsupported, naming the codec, when the
// plugin lacks the slot (built against 1.0, or keeps no secret). *already_done is set (and
// new_header left empty) when the plugin reports the header already uses new_secret.
Status RekeyPluginCodec(const std::shared_ptr<LoadedPlugin>& plugin, const bp_config* config,
                        const uint8_t uuid[16], const std::string& volume_name,
                        const Bytes& stored_header, const std::string& new_secret,
                        Bytes* new_header, bool* already_done);
// Whether the plugin implements rekey (declared struct size covers the slot and it is set).
bool PluginCanRekey(const LoadedPlugin& plugin);

}  // namespace bp
