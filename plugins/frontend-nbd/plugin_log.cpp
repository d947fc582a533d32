// Thin wrappers over bp_host->log and bp_host->metric_add that tolerate a host table without
// those slots (BP_HOST_HAS), so the plugin never calls through a NULL pointer.
#include "plugin_log.h"

#include <blockpipe/bp_common.h>

namespace bpnbd {

namespace {
constexpr const char* kPluginName = "nbd";
}

void Log(int level, const std::string& message) {
  if (BP_HOST_HAS(bp_host, log)) bp_host->log(level, kPluginName, message.c_str());
}

void Metric(const char* name, int64_t delta) {
  if (delta != 0 && BP_HOST_HAS(bp_host, metric_add)) bp_host->metric_add(kPluginName, name, delta);
}

}  // namespace bpnbd
