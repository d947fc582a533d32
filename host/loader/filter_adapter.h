// Filter adapter: a filter plugin instance (bp_filter.h) as an ObjectStore over the next
// ObjectStore of the stack. Owns the handle (closed on destruction, before the layer below is
// released), the instance config and the next-layer table the filter keeps. Honours the
// filter's thread model; turns return codes plus the filter's message into Status; routes each
// operation to the filter or, for a slot the filter leaves NULL, straight to the layer below
// (a put_parts goes to the filter's put when only that is set, so a filter that sees puts sees
// every whole-object write); computes the capabilities seen through the filter.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "loader/plugin_library.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// Open a filter instance over `next`. On failure the Status carries the filter's message
// ("faults: cannot open: transient_rate must be …"); the caller adds the config location.
Status OpenPluginFilter(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                        std::shared_ptr<ObjectStore> next, std::shared_ptr<ObjectStore>* out);

}  // namespace bp
