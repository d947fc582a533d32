// `blockpipe volume create|list|delete|clone|resize`: manage the volumes of a running daemon through its
// control socket, so devices appear and disappear without a restart.
#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "cli/format.h"
#include "config/config.h"
#include "control/control_client.h"

namespace bp::cli {
namespace {

// The control socket path comes from the config, so every command takes --config.
Status ControlSocketOf(const std::string& config_flag, std::filesystem::path* socket) {
  Config config;
  BP_RETURN_IF_ERROR(LoadConfig(ResolveConfigPath(config_flag), &config));
  *socket = config.host.control_socket;
  return Status::Ok();
}

int Call(const std::string& config_flag, const nlohmann::json& request, nlohmann::json* reply) {
  std::filesystem::path socket;
  if (Status st = ControlSocketOf(config_flag, &socket); !st.ok()) return ReportError(st);
  if (Status st = ControlCall(socket, request, reply); !st.ok()) return ReportError(st);
  return 0;
}

}  // namespace

void RegisterVolume(CLI::App& app, int* exit_code) {
  auto* volume = app.add_subcommand(
      "volume", "Create, list, delete, clone and resize volumes of the running daemon");
  volume->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  RegisterVolumeCopy(*volume, exit_code);

  auto* create = volume->add_subcommand("create", "Create a volume (it is exported at once)");
  auto name = std::make_shared<std::string>();
  auto size = std::make_shared<std::string>();
  create->add_option("name", *name, "Volume name")->required();
  create->add_option("--size", *size, "Size, e.g. 10GiB")->required();
  create->add_option("-c,--config", *config, "Config file");
  create->callback([=] {
    uint64_t bytes = 0;
    if (Status st = ParseSize(*size, &bytes); !st.ok()) {
      *exit_code = ReportError(st.WithContext("--size"));
      return;
    }
    nlohmann::json reply;
    *exit_code = Call(*config, {{"op", "volume.create"}, {"name", *name}, {"size", bytes}}, &reply);
    if (*exit_code == 0)
      std::cout << "created volume " << *name << " (" << FormatBytes(bytes) << ")\n";
  });

  auto* list = volume->add_subcommand("list", "List volumes");
  auto json = std::make_shared<bool>(false);
  list->add_option("-c,--config", *config, "Config file");
  list->add_flag("--json", *json, "Print JSON");
  list->callback([=] {
    nlohmann::json reply;
    *exit_code = Call(*config, {{"op", "volume.list"}}, &reply);
    if (*exit_code != 0) return;
    if (*json) {
      std::cout << reply["volumes"].dump(2) << "\n";
      return;
    }
    // STORED is what the store holds for the volume (every object, exactly); GARBAGE the part
    // of it the live map does not need; WAMP garbage collection's write amplification.
    std::printf("%-24s %10s %10s %10s %10s %5s %-16s %5s\n", "NAME", "SIZE", "LIVE", "STORED",
                "GARBAGE", "WAMP", "CODECS", "CONNS");
    for (const auto& v : reply["volumes"]) {
      const double wamp = v.contains("gc") ? v["gc"]["write_amplification"].get<double>() : 1.0;
      std::printf("%-24s %10s %10s %10s %10s %5.2f %-16s %5u%s\n",
                  v["name"].get<std::string>().c_str(), FormatBytes(v["size"]).c_str(),
                  FormatBytes(v["live_bytes"]).c_str(), FormatBytes(v["stored_bytes"]).c_str(),
                  FormatBytes(v["garbage_bytes"]).c_str(), wamp,
                  v["codecs"].get<std::string>().c_str(), v["references"].get<unsigned>(),
                  v["read_only"].get<bool>() ? "  (read-only)" : "");
    }
  });

  auto* clone = volume->add_subcommand(
      "clone", "Create a writable volume NEW from snapshot VOLUME@NAME (segments are shared)");
  auto source = std::make_shared<std::string>();
  auto clone_name = std::make_shared<std::string>();
  clone->add_option("source", *source, "VOLUME@SNAPSHOT")->required();
  clone->add_option("new", *clone_name, "Name of the new volume")->required();
  clone->add_option("-c,--config", *config, "Config file");
  clone->callback([=] {
    const size_t at = source->find('@');
    if (at == std::string::npos) {
      *exit_code = ReportError(Status::Invalid("the source must be VOLUME@SNAPSHOT"));
      return;
    }
    nlohmann::json reply;
    *exit_code = Call(*config,
                      {{"op", "volume.clone"},
                       {"name", source->substr(0, at)},
                       {"snapshot", source->substr(at + 1)},
                       {"clone", *clone_name}},
                      &reply);
    if (*exit_code == 0) std::cout << "cloned " << *source << " as volume " << *clone_name << "\n";
  });

  auto* resize = volume->add_subcommand(
      "resize", "Grow or shrink a volume (new connections see the new size at once)");
  auto resize_name = std::make_shared<std::string>();
  auto resize_size = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  resize->add_option("name", *resize_name, "Volume name")->required();
  resize->add_option("--size", *resize_size, "New size, e.g. 20GiB")->required();
  resize->add_flag("--force", *force, "Shrink even if data lies past the new end (it is trimmed)");
  resize->add_option("-c,--config", *config, "Config file");
  resize->callback([=] {
    uint64_t bytes = 0;
    if (Status st = ParseSize(*resize_size, &bytes); !st.ok()) {
      *exit_code = ReportError(st.WithContext("--size"));
      return;
    }
    nlohmann::json reply;
    *exit_code =
        Call(*config,
             {{"op", "volume.resize"}, {"name", *resize_name}, {"size", bytes}, {"force", *force}},
             &reply);
    if (*exit_code == 0) {
      std::cout << "resized volume " << *resize_name << " to " << FormatBytes(bytes) << "\n";
    }
  });

  auto* del = volume->add_subcommand(
      "delete", "Delete a volume and all its objects (refused while connected)");
  auto del_name = std::make_shared<std::string>();
  del->add_option("name", *del_name, "Volume name")->required();
  del->add_option("-c,--config", *config, "Config file");
  del->callback([=] {
    nlohmann::json reply;
    *exit_code = Call(*config, {{"op", "volume.delete"}, {"name", *del_name}}, &reply);
    if (*exit_code == 0) std::cout << "deleted volume " << *del_name << "\n";
  });
}

}  // namespace bp::cli
