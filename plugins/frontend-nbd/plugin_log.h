// Logging and metrics through the host-services table (bp_host, set by the registration macro).
// Plugins have no logger of their own: the host decides format, level filtering and destination.
#pragma once

#include <cstdint>
#include <string>

namespace bpnbd {

// level: BP_LOG_DEBUG … BP_LOG_ERROR. Never pass secrets.
void Log(int level, const std::string& message);
// Adds delta to the Prometheus counter "nbd_<name>".
void Metric(const char* name, int64_t delta);

}  // namespace bpnbd
