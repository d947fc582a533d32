// CollectListing: the host's side of a paged list() callback, shared by the backend and filter
// adapters. A plugin's list returns one page and an opaque cursor for the next; the host calls it
// until no cursor is set, guards against a cursor chain that never ends, and then enforces what
// the engine relies on — only keys under the prefix, in ascending order — rather than trust it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "loader/host_services.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// A listing longer than this many pages is taken as a plugin that never ends its cursor chain.
inline constexpr size_t kMaxListPages = 1u << 20;

// Call `page(cursor, sink)` (cursor NULL for the first page; it returns the plugin's code, with
// the plugin's error cleared before the call) until the listing is complete. `context` names the
// plugin and the operation in errors ("file: list volumes/").
Status CollectListing(const std::string& context, const std::string& prefix,
                      const std::function<int(const char* cursor, bp_list* sink)>& page,
                      std::vector<ObjectInfo>* out);

}  // namespace bp
