// The C ABI face of the NBD frontend: the bp_frontend_plugin struct, its registration, and the
// four lifecycle callbacks. No C++ exception crosses this boundary: each callback catches and
// reports through set_error. The instance handle is a Server.
#include <blockpipe/bp_frontend.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <string>

#include "frontend_config.h"
#include "plugin_log.h"
#include "server.h"

namespace {

void SetError(const std::string& message) {
  if (BP_HOST_HAS(bp_host, set_error)) bp_host->set_error(message.c_str());
}

int NbdOpen(const bp_config* config, const bp_volume_api* volumes, void** handle) {
  *handle = nullptr;
  try {
    if (!BP_VOLUME_API_HAS(volumes, submit)) {
      SetError("nbd: the host's volume API table is too old for this plugin");
      return BP_ERR_INVALID;
    }
    bpnbd::FrontendSettings settings;
    std::string error;
    if (!bpnbd::LoadSettings(bp_host, config, &settings, &error)) {
      SetError("nbd: " + error);
      return BP_ERR_INVALID;
    }
    auto server = std::make_unique<bpnbd::Server>(std::move(settings), volumes);
    if (!server->Bind(&error)) {
      SetError("nbd: " + error);
      return BP_ERR_INVALID;
    }
    *handle = server.release();
    return BP_OK;
  } catch (const std::exception& e) {
    SetError(std::string("nbd: cannot open frontend: ") + e.what());
    return BP_ERR_PERMANENT;
  }
}

int NbdStart(void* handle) {
  try {
    std::string error;
    if (!static_cast<bpnbd::Server*>(handle)->Start(&error)) {
      SetError("nbd: " + error);
      return BP_ERR_PERMANENT;
    }
    return BP_OK;
  } catch (const std::exception& e) {
    SetError(std::string("nbd: cannot start frontend: ") + e.what());
    return BP_ERR_PERMANENT;
  }
}

void NbdStop(void* handle) {
  try {
    static_cast<bpnbd::Server*>(handle)->Stop();
  } catch (const std::exception& e) {
    bpnbd::Log(BP_LOG_ERROR, std::string("stop failed: ") + e.what());
  }
}

void NbdClose(void* handle) {
  auto* server = static_cast<bpnbd::Server*>(handle);
  if (!server) return;
  try {
    // A server whose connections still wait on the store must stay allocated: the host holds
    // pointers into it. Leaking is the only memory-safe choice (Stop already logged it).
    if (!server->Stop()) return;
    delete server;
  } catch (const std::exception& e) {
    bpnbd::Log(BP_LOG_ERROR, std::string("close failed: ") + e.what());
  }
}

bp_frontend_plugin nbd_plugin = {
    {0, 0, 0, 0, 0, 0, "nbd", "0.1.0",
     "NBD server (fixed newstyle) over TCP and unix sockets, pipelined, on boost.asio"},
    bpnbd::kConfigKeys,
    NbdOpen,
    NbdStart,
    NbdStop,
    NbdClose,
};

}  // namespace

BP_REGISTER_FRONTEND(nbd_plugin, BP_THREAD_PARALLEL)
