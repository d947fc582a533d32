// `blockpipe stats`: volume summaries and the daemon's metrics (Prometheus text format), and
// `blockpipe flush`: seal and upload every buffered write now.
#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "config/config.h"
#include "control/control_client.h"

namespace bp::cli {
namespace {

int CallDaemon(const std::string& config_flag, const nlohmann::json& request,
               nlohmann::json* reply) {
  Config config;
  if (Status st = LoadConfig(ResolveConfigPath(config_flag), &config); !st.ok())
    return ReportError(st);
  if (Status st = ControlCall(config.host.control_socket, request, reply); !st.ok())
    return ReportError(st);
  return 0;
}

std::string Mib(const nlohmann::json& bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes.get<double>() / (1 << 20));
  return buf;
}

// One line per cache: "memory cache: 212.0 MiB of 256.0 MiB, hit rate 93.1% (…)".
void PrintCaches(const nlohmann::json& caches) {
  auto line = [](const char* name, const nlohmann::json& c) {
    std::printf("%s: %s of %s, hit rate %.1f%% (%lld hits, %lld misses)", name,
                Mib(c["bytes"]).c_str(), Mib(c["capacity"]).c_str(),
                100.0 * c["hit_rate"].get<double>(), c["hits"].get<long long>(),
                c["misses"].get<long long>());
  };
  line("memory cache", caches["memory"]);
  std::printf("\n");
  if (caches["disk"].is_null()) {
    std::printf("disk cache: off\n");
  } else {
    line("disk cache", caches["disk"]);
    std::printf(", %lld entries, %lld dropped\n", caches["disk"]["entries"].get<long long>(),
                caches["disk"]["dropped"].get<long long>());
  }
  std::fflush(stdout);
}

}  // namespace

void RegisterStats(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  auto* stats =
      app.add_subcommand("stats", "Print volume statistics and metrics of the running daemon");
  auto prometheus = std::make_shared<bool>(false);
  stats->add_option("-c,--config", *config, "Config file");
  stats->add_flag("--prometheus", *prometheus, "Print only the metrics, in Prometheus text format");
  stats->callback([=] {
    nlohmann::json reply;
    *exit_code = CallDaemon(*config, {{"op", "stats"}}, &reply);
    if (*exit_code != 0) return;
    if (*prometheus) {
      std::cout << reply["metrics"].get<std::string>();
      return;
    }
    std::cout << reply["volumes"].dump(2) << "\n";
    if (reply.contains("caches")) PrintCaches(reply["caches"]);
    if (reply.contains("journal")) {
      const auto& j = reply["journal"];
      std::cout << "local journal " << j["path"].get<std::string>() << ": "
                << j["backlog_segments"].get<uint64_t>() << " segment(s), "
                << j["backlog_bytes"].get<uint64_t>() << " bytes not yet in the store (bound "
                << j["max_size"].get<uint64_t>() << " bytes)\n";
    }
    std::cout << reply["metrics"].get<std::string>();
  });

  auto* flush = app.add_subcommand("flush", "Make every acknowledged write durable now");
  flush->add_option("-c,--config", *config, "Config file");
  flush->callback([=] {
    nlohmann::json reply;
    *exit_code = CallDaemon(*config, {{"op", "flush"}}, &reply);
  });
}

}  // namespace bp::cli
