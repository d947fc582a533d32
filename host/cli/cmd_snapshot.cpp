// `blockpipe snapshot create|list|delete|restore`: snapshots of the running daemon's volumes,
// through its control socket (docs/control.md). A snapshot is exported read-only as
// VOLUME@NAME; `blockpipe volume clone VOLUME@NAME NEW` makes a writable copy of it.
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/cli.h"
#include "cli/format.h"
#include "config/config.h"
#include "control/control_client.h"

namespace bp::cli {
namespace {

int Call(const std::string& config_flag, const nlohmann::json& request, nlohmann::json* reply) {
  Config config;
  if (Status st = LoadConfig(ResolveConfigPath(config_flag), &config); !st.ok()) {
    return ReportError(st);
  }
  if (Status st = ControlCall(config.host.control_socket, request, reply); !st.ok()) {
    return ReportError(st);
  }
  return 0;
}

std::string FormatTime(uint64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void RegisterSnapshot(CLI::App& app, int* exit_code) {
  auto* snapshot = app.add_subcommand(
      "snapshot", "Take, list, delete and restore snapshots of the running daemon's volumes");
  snapshot->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto volume = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();

  auto* create = snapshot->add_subcommand(
      "create", "Record VOLUME as of now (every acknowledged write; O(1) in its size)");
  create->add_option("volume", *volume, "Volume name")->required();
  create->add_option("name", *name, "Snapshot name")->required();
  create->add_option("-c,--config", *config, "Config file");
  create->callback([=] {
    nlohmann::json reply;
    *exit_code =
        Call(*config, {{"op", "snapshot.create"}, {"name", *volume}, {"snapshot", *name}}, &reply);
    if (*exit_code == 0) {
      std::cout << "snapshot " << *volume << "@" << *name << " taken (export it read-only as "
                << *volume << "@" << *name << ")\n";
    }
  });

  auto* list = snapshot->add_subcommand("list", "List snapshots (of every volume, or of VOLUME)");
  auto list_volume = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  list->add_option("volume", *list_volume, "Volume name");
  list->add_option("-c,--config", *config, "Config file");
  list->add_flag("--json", *json, "Print JSON");
  list->callback([=] {
    nlohmann::json request = {{"op", "snapshot.list"}};
    if (!list_volume->empty()) request["name"] = *list_volume;
    nlohmann::json reply;
    *exit_code = Call(*config, request, &reply);
    if (*exit_code != 0) return;
    if (*json) {
      std::cout << reply["snapshots"].dump(2) << "\n";
      return;
    }
    std::printf("%-24s %-24s %-20s %10s %12s %5s\n", "VOLUME", "SNAPSHOT", "CREATED", "SIZE",
                "EXCLUSIVE", "CONNS");
    for (const auto& s : reply["snapshots"]) {
      std::printf("%-24s %-24s %-20s %10s %12s %5u\n", s["volume"].get<std::string>().c_str(),
                  s["name"].get<std::string>().c_str(),
                  FormatTime(s["created_unix_ms"].get<uint64_t>()).c_str(),
                  FormatBytes(s["size"]).c_str(), FormatBytes(s["exclusive_bytes"]).c_str(),
                  s["references"].get<unsigned>());
      if (s.contains("problem") && !s["problem"].get<std::string>().empty()) {
        std::printf("  damaged: %s\n", s["problem"].get<std::string>().c_str());
      }
    }
  });

  auto* del = snapshot->add_subcommand(
      "delete", "Delete a snapshot (its space returns once nothing else needs it)");
  auto del_volume = std::make_shared<std::string>();
  auto del_name = std::make_shared<std::string>();
  del->add_option("volume", *del_volume, "Volume name")->required();
  del->add_option("name", *del_name, "Snapshot name")->required();
  del->add_option("-c,--config", *config, "Config file");
  del->callback([=] {
    nlohmann::json reply;
    *exit_code =
        Call(*config, {{"op", "snapshot.delete"}, {"name", *del_volume}, {"snapshot", *del_name}},
             &reply);
    if (*exit_code == 0)
      std::cout << "deleted snapshot " << *del_volume << "@" << *del_name << "\n";
  });

  auto* restore = snapshot->add_subcommand(
      "restore", "Roll VOLUME back to a snapshot (no client may be connected; snapshots stay)");
  auto res_volume = std::make_shared<std::string>();
  auto res_name = std::make_shared<std::string>();
  restore->add_option("volume", *res_volume, "Volume name")->required();
  restore->add_option("name", *res_name, "Snapshot name")->required();
  restore->add_option("-c,--config", *config, "Config file");
  restore->callback([=] {
    nlohmann::json reply;
    *exit_code =
        Call(*config, {{"op", "snapshot.restore"}, {"name", *res_volume}, {"snapshot", *res_name}},
             &reply);
    if (*exit_code == 0) {
      std::cout << "restored volume " << *res_volume << " to snapshot " << *res_name << "\n";
    }
  });
}

}  // namespace bp::cli
