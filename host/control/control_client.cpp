// One JSON request/response over the control socket (see control_client.h).
#include "control/control_client.h"

#include <unistd.h>

#include "control/unix_socket.h"

namespace bp {

Status ControlCall(const std::filesystem::path& socket_path, const nlohmann::json& request,
                   nlohmann::json* response, std::chrono::milliseconds timeout) {
  int fd = -1;
  Status st = ConnectUnixSocket(socket_path, &fd);
  if (!st.ok()) {
    if (st.IsNotFound()) {
      return Status::NotFound("the blockpipe daemon is not running (no control socket at " +
                              socket_path.string() + "); start it with `blockpipe run`");
    }
    return st;
  }
  std::string line;
  st = WriteAll(fd, request.dump() + "\n");
  if (st.ok()) st = ReadLine(fd, 64u << 20, static_cast<int>(timeout.count()), &line);
  ::close(fd);
  BP_RETURN_IF_ERROR(st);
  try {
    *response = nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string("malformed reply from the daemon: ") + e.what());
  }
  if (!response->value("ok", false)) {
    return Status::Permanent(response->value("error", std::string("unknown error")));
  }
  return Status::Ok();
}

}  // namespace bp
