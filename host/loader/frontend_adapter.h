// Frontend adapter: a frontend plugin instance as a FrontendInstance, plus the host side of the
// volume API (struct bp_volume_api) it calls: list, open → VolumeRef, close, info, submit,
// all over a VolumeManager. Stop() is idempotent and runs before close on destruction.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "engine/volume_manager.h"
#include "loader/plugin_library.h"
#include "loader/plugin_registry.h"
#include "util/status.h"

namespace bp {

// Open (and bind) a frontend instance serving `volumes`, which must outlive it. label names
// the instance in messages and FrontendInstance::name() ("nbd (frontend[0])").
Status OpenPluginFrontend(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                          VolumeManager* volumes, const std::string& label,
                          std::unique_ptr<FrontendInstance>* out);

// The volume API table over a VolumeManager, for frontends and their tests. ctx must be the
// VolumeManager. frontend_minor is the ABI minor the calling frontend was built against: it
// decides how the table's submit reads a struct bp_io (a frontend below 1.5 passes the 1.0
// layout, with no struct_size).
bp_volume_api MakeVolumeApi(VolumeManager* volumes, uint32_t frontend_minor = BP_ABI_MINOR);

}  // namespace bp
