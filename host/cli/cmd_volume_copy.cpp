// `blockpipe volume copy NAME --config SRC.toml --to-config DST.toml`: move a volume between
// backends. Each config's backend is opened through the plugin loader with that config's own
// plugin dirs and [backend] section; the copying itself is engine/volume_copier. This file adds
// what only a command line needs: the option parsing, a refusal to copy from a daemon that is
// serving the volume, progress on stderr (one line redrawn on a terminal, a line every few
// seconds otherwise) and the summary.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/cli.h"
#include "cli/format.h"
#include "config/config.h"
#include "control/control_client.h"
#include "engine/volume_copier.h"
#include "loader/plugin_registry.h"
#include "util/log.h"

namespace bp::cli {
namespace {

struct CopyFlags {
  std::string name;
  std::string config;
  std::string to_config;
  std::string to_name;
  uint32_t jobs = 4;
  bool include_quarantine = false;
  std::string max_rate;
  bool allow_running = false;
};

// Asks the daemon behind a config's control socket whether it serves `name`. Only a daemon that
// answers counts: no socket, a refused connection or a timeout mean none is running there.
bool DaemonServes(const Config& config, const std::string& name) {
  nlohmann::json reply;
  if (!ControlCall(config.host.control_socket, {{"op", "volume.list"}}, &reply,
                   std::chrono::seconds(3))
           .ok()) {
    return false;
  }
  if (!reply.contains("volumes") || !reply["volumes"].is_array()) return false;
  for (const auto& v : reply["volumes"]) {
    if (v.contains("name") && v["name"].is_string() && v["name"].get<std::string>() == name)
      return true;
  }
  return false;
}

bool DaemonRunning(const Config& config) {
  nlohmann::json reply;
  return ControlCall(config.host.control_socket, {{"op", "volume.list"}}, &reply,
                     std::chrono::seconds(3))
      .ok();
}

std::string FormatRate(double bytes_per_second) {
  return FormatBytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

// Draws progress from a thread of its own while the copy runs, so a slow store never freezes the
// display. On a terminal one line is redrawn five times a second; in a log, a line every 5 s.
class ProgressPrinter {
 public:
  ProgressPrinter(const VolumeCopier& copier, std::string label)
      : copier_(copier),
        label_(std::move(label)),
        tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressPrinter() { Finish(); }

  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) return;
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // A copy refused while planning has nothing to show; one that stopped later shows how far.
    const VolumeCopyProgress p = copier_.Progress();
    if (p.phase == CopyPhase::kPlanning && p.objects_total == 0) {
      if (tty_ && printed_) std::fputs("\r\033[K", stderr);
      return;
    }
    Print();
    if (tty_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  void Loop() {
    const auto interval = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval, [this] { return done_; })) Print();
  }

  void Print() {
    const VolumeCopyProgress p = copier_.Progress();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(p.bytes_done) / seconds : 0;
    char line[512];
    const int percent =
        p.bytes_total == 0 ? 0 : static_cast<int>(p.bytes_done * 100 / p.bytes_total);
    std::snprintf(line, sizeof(line), "%s: %llu/%llu objects, %s/%s (%d%%), %s, %s", label_.c_str(),
                  static_cast<unsigned long long>(p.objects_done),
                  static_cast<unsigned long long>(p.objects_total),
                  FormatBytes(p.bytes_done).c_str(), FormatBytes(p.bytes_total).c_str(), percent,
                  FormatRate(rate).c_str(), CopyPhaseName(p.phase));
    printed_ = true;
    if (tty_) {
      std::fprintf(stderr, "\r%s\033[K", line);
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  const VolumeCopier& copier_;
  std::string label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool printed_ = false;
  std::thread thread_;
};

void PrintSummary(const VolumeCopyReport& r, double seconds) {
  const std::string as = r.destination_name == r.name ? "" : " as " + r.destination_name;
  if (r.already_complete) {
    std::cout << "volume " << r.name << " is already in " << r.destination << as << ", identical ("
              << r.objects << " objects, " << FormatBytes(r.bytes)
              << " compared); nothing was written\n";
    return;
  }
  std::cout << "copied volume " << r.name << " (uuid " << r.uuid << ") from " << r.source << " to "
            << r.destination << as << "\n"
            << "  " << r.objects << " objects, " << FormatBytes(r.bytes) << ": "
            << r.objects_written << " written (" << FormatBytes(r.bytes_written) << "), "
            << r.objects_reused << " already there and identical (" << FormatBytes(r.bytes_reused)
            << ")\n";
  if (r.leftovers_removed > 0) {
    std::cout << "  removed " << r.leftovers_removed
              << " leftover objects of an earlier copy that the source no longer has\n";
  }
  if (r.quarantine_left_out > 0) {
    std::cout << "  left out " << r.quarantine_left_out
              << " quarantined objects (--include-quarantine copies them)\n";
  }
  std::cout << "  verified: both listings match\n";
  char took[96];
  std::snprintf(
      took, sizeof(took), "  took %.1f s (%s)\n", seconds,
      FormatRate(seconds > 0 ? static_cast<double>(r.bytes_written) / seconds : 0).c_str());
  std::cout << took;
}

int RunCopy(const CopyFlags& flags) {
  SetupLogging("warn");
  Config source_config, destination_config;
  const auto source_file = ResolveConfigPath(flags.config);
  if (Status st = LoadConfig(source_file, &source_config); !st.ok()) return ReportError(st);
  if (Status st = LoadConfig(ResolveConfigPath(flags.to_config), &destination_config); !st.ok()) {
    return ReportError(st);
  }
  VolumeCopyOptions options;
  options.name = flags.name;
  options.destination_name = flags.to_name;
  options.jobs = flags.jobs;
  options.include_quarantine = flags.include_quarantine;
  if (!flags.max_rate.empty()) {
    if (Status st = ParseSize(flags.max_rate, &options.max_bytes_per_second);
        !st.ok() || options.max_bytes_per_second == 0) {
      return ReportError(Status::Invalid("--max-rate: expected bytes per second like 50MiB, got `" +
                                         flags.max_rate + "`"));
    }
  }

  if (!flags.allow_running && DaemonServes(source_config, flags.name)) {
    return ReportError(Status::Precondition("a blockpipe daemon is serving volume `" + flags.name +
                                            "` (control socket " +
                                            source_config.host.control_socket.string() +
                                            "); stop it first, or pass --allow-running "
                                            "if nothing writes to the volume during the copy (a "
                                            "change is detected and fails the copy)"));
  }

  PluginRegistry source_plugins(source_config.host.plugin_dirs);
  PluginRegistry destination_plugins(destination_config.host.plugin_dirs);
  std::shared_ptr<ObjectStore> source, destination;
  if (Status st = source_plugins.OpenBackend(source_config, &source); !st.ok()) {
    return ReportError(st.WithContext("source " + source_config.file.string()));
  }
  if (Status st = destination_plugins.OpenBackend(destination_config, &destination); !st.ok()) {
    return ReportError(st.WithContext("destination " + destination_config.file.string()));
  }

  VolumeCopier copier(*source, *destination, options);
  VolumeCopyReport report;
  const auto start = std::chrono::steady_clock::now();
  Status st;
  {
    ProgressPrinter progress(copier, "copy " + flags.name);
    st = copier.Run(&report);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.destination_lacks_put_if_absent) {
    std::cerr << "blockpipe: warning: " << report.destination
              << " has no atomic put-if-absent; a concurrent writer there would not be detected\n";
  }
  if (!st.ok()) return ReportError(st);
  PrintSummary(report, seconds);
  if (DaemonRunning(destination_config)) {
    std::cout << "note: the daemon of " << destination_config.file.string()
              << " is running; it serves the copy after a restart\n";
  }
  return 0;
}

}  // namespace

void RegisterVolumeCopy(CLI::App& volume, int* exit_code) {
  auto flags = std::make_shared<CopyFlags>();
  auto* copy = volume.add_subcommand(
      "copy", "Copy a volume's objects to another backend (stop the daemon serving it first)");
  copy->add_option("name", flags->name, "Volume to copy")->required();
  copy->add_option("-c,--config", flags->config, "Config of the source store");
  copy->add_option("--to-config", flags->to_config, "Config of the destination store")->required();
  copy->add_option("--to-name", flags->to_name, "Name at the destination (default: the same)");
  copy->add_option("-j,--jobs", flags->jobs, "Objects copied at once (1-64, default 4)");
  copy->add_flag("--include-quarantine", flags->include_quarantine,
                 "Also copy objects the engine moved to quarantine/");
  copy->add_option("--max-rate", flags->max_rate,
                   "Limit writes to the destination, e.g. 50MiB (per second)");
  copy->add_flag(
      "--allow-running", flags->allow_running,
      "Copy even while a daemon of the source config serves the volume (it must be idle)");
  copy->callback([flags, exit_code] { *exit_code = RunCopy(*flags); });
}

}  // namespace bp::cli
