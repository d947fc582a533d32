// Backend adapter: a backend plugin instance as an ObjectStore. Owns the handle (closed on
// destruction) and its config; honours the plugin's thread model; turns return codes plus the
// plugin's set_error message into Status; emulates ranged reads with get() when the backend
// lacks them; pages through list() until the listing is complete; treats deleting a missing
// object as success.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "loader/plugin_library.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// Open a backend instance for `url`. On failure the Status carries the plugin's message
// ("file: cannot open file:///x: …"); the caller adds the config location.
Status OpenPluginBackend(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                         const std::string& url, std::shared_ptr<ObjectStore>* out);

// The url without credentials ("s3://AKIA…:secret@host/b" → "s3://***@host/b"), for messages.
std::string RedactUrl(const std::string& url);

}  // namespace bp
