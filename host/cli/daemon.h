// Daemon: what `blockpipe run` does — load the config and plugins, open the object store and
// every volume (recovering them), create the configured volumes that are missing, start the
// control socket and the frontends, serve until SIGTERM/SIGINT, then drain: stop frontends
// (in-flight requests complete), flush every volume, write final checkpoints.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/status.h"

namespace bp {

struct RunOptions {
  // `--take-over`: volumes (or "all") whose ownership record, held by another data dir's daemon
  // that the operator knows is gone, this daemon may override (engine/volume_owner.h).
  std::vector<std::string> take_over;
  // --force with --take-over: also take volumes whose owner runs with the local journal.
  bool force = false;
};

// Runs until a termination signal. Returns ok after a clean shutdown; an error if startup failed
// (including any volume in the store that cannot be opened: wrong password, missing codec,
// unreadable metadata — checked before anything is served or written) or the final flush did
// not reach the store (exit non-zero so supervisors notice).
// A volume another daemon owns (its ownership record is active and names another data dir) is
// one that cannot be opened, unless options.take_over names it.
Status RunDaemon(const std::filesystem::path& config_file, const RunOptions& options = {});

}  // namespace bp
