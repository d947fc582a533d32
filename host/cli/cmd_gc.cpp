// `blockpipe gc [--volume NAME] [--wait]`: run garbage collection now in the running daemon, on
// one volume or on every writable one, through the control socket (no restart). With --wait it
// polls the daemon's volume list, printing progress, until every pass it started has finished:
// live blocks of mostly-dead segments rewritten and the emptied segments deleted (engine/
// collector.h).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "cli/cli.h"
#include "cli/format.h"
#include "config/config.h"
#include "control/control_client.h"

namespace bp::cli {
namespace {

struct Progress {
  uint64_t pass = 0;
  bool done = false;
  uint64_t stored = 0, live = 0, garbage = 0, rewritten = 0;
};

void PrintProgress(const std::map<std::string, Progress>& passes) {
  for (const auto& [name, p] : passes) {
    std::printf("%-24s %-8s stored %10s  live %10s  garbage %10s  rewritten %10s\n", name.c_str(),
                p.done ? "done" : "running", FormatBytes(p.stored).c_str(),
                FormatBytes(p.live).c_str(), FormatBytes(p.garbage).c_str(),
                FormatBytes(p.rewritten).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

void RegisterGc(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  auto volume = std::make_shared<std::string>();
  auto wait = std::make_shared<bool>(false);
  auto timeout = std::make_shared<unsigned>(3600);
  auto* gc = app.add_subcommand(
      "gc", "Collect garbage now: rewrite mostly-dead segments and delete emptied ones");
  gc->add_option("-c,--config", *config, "Config file");
  gc->add_option("--volume", *volume, "Only this volume (default: every writable volume)");
  gc->add_flag("--wait", *wait, "Wait until the passes have finished, showing progress");
  gc->add_option("--timeout", *timeout, "With --wait: give up after this many seconds")
      ->check(CLI::Range(1u, 7u * 24 * 3600));
  gc->callback([=] {
    Config cfg;
    if (Status st = LoadConfig(ResolveConfigPath(*config), &cfg); !st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    nlohmann::json request = {{"op", "gc"}};
    if (!volume->empty()) request["name"] = *volume;
    nlohmann::json reply;
    if (Status st = ControlCall(cfg.host.control_socket, request, &reply); !st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    std::map<std::string, Progress> passes;
    for (const auto& p : reply["passes"]) passes[p["name"].get<std::string>()].pass = p["pass"];
    if (passes.empty()) {
      std::cout << "no writable volume to collect\n";
      return;
    }
    if (!*wait) {
      for (const auto& [name, p] : passes) {
        std::cout << "volume " << name << ": garbage collection pass " << p.pass << " started\n";
      }
      return;
    }
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(*timeout);
    auto last_print = std::chrono::steady_clock::now();
    for (;;) {
      nlohmann::json list;
      if (Status st = ControlCall(cfg.host.control_socket, {{"op", "volume.list"}}, &list);
          !st.ok()) {
        *exit_code = ReportError(st.WithContext("waiting for garbage collection"));
        return;
      }
      bool all_done = true;
      for (auto& [name, p] : passes) {
        bool found = false;
        for (const auto& v : list["volumes"]) {
          if (v["name"] != name) continue;
          found = true;
          p.done = v["gc"]["passes_done"].get<uint64_t>() >= p.pass;
          p.stored = v["stored_bytes"];
          p.live = v["live_bytes"];
          p.garbage = v["garbage_bytes"];
          p.rewritten = v["gc"]["rewritten_bytes"];
        }
        if (!found) {
          *exit_code = ReportError(
              Status::NotFound("volume " + name + " went away during garbage collection"));
          return;
        }
        all_done = all_done && p.done;
      }
      const auto now = std::chrono::steady_clock::now();
      if (all_done) break;
      if (now >= limit) {
        PrintProgress(passes);
        *exit_code = ReportError(Status::Transient("garbage collection still running after " +
                                                   std::to_string(*timeout) + " s"));
        return;
      }
      if (now - last_print >= std::chrono::seconds(5)) {
        PrintProgress(passes);
        last_print = now;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    PrintProgress(passes);
  });
}

}  // namespace bp::cli
