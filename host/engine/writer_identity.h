// The stable identity of a data dir as a volume writer: DATA_DIR/writer-id holds 32 random hex
// digits, created on the daemon's first start and read on every later one. It is what lets a
// daemon restarted on the same data dir (after a crash or kill -9) take back the volumes its
// ownership records name (engine/volume_owner.h) without a manual step, while a daemon on any
// other data dir is refused. A copy of the data dir (a cloned VM image) carries the same id and
// is treated as the same writer, as ZFS treats a cloned hostid.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace bp {

// Read DATA_DIR/writer-id, creating it (atomically, durably) when it does not exist. The caller
// holds the data dir lock, so no other daemon creates it concurrently. A file that does not hold
// an id fails with a message naming it.
Status LoadOrCreateWriterId(const std::filesystem::path& data_dir, std::string* id);

// True for 32 lower-case hex digits.
bool IsValidWriterId(const std::string& id);
// A fresh random id.
std::string NewWriterId();

}  // namespace bp
