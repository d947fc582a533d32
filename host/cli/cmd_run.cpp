// `blockpipe run`: serve until SIGTERM/SIGINT. Without --config (and without BLOCKPIPE_CONFIG)
// it uses ./blockpipe-data/blockpipe.toml, writing the embedded default there first if it does
// not exist: the one-command quick start.
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "config/config.h"

namespace bp::cli {

void RegisterRun(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Serve the configured volumes until SIGTERM/SIGINT");
  auto config = std::make_shared<std::string>();
  auto options = std::make_shared<RunOptions>();
  cmd->add_option("-c,--config", *config,
                  "Config file (default $BLOCKPIPE_CONFIG or ./blockpipe-data/blockpipe.toml)");
  cmd->add_option("--take-over", options->take_over,
                  "Take VOLUME (or `all`) over from the daemon its ownership record names, when "
                  "that daemon is known to be gone; repeatable or comma-separated")
      ->delimiter(',')
      ->type_name("VOLUME");
  cmd->add_flag("--force", options->force,
                "With --take-over: also take a volume whose owner runs with the local journal, "
                "losing the flushed writes only that owner's journal holds");
  cmd->callback([config, options, exit_code] {
    const auto file = ResolveConfigPath(*config);
    if (config->empty() && !std::filesystem::exists(file)) {
      InitOptions init;
      init.data_dir = file.parent_path();
      init.url = "file://" + (init.data_dir / "objects").string();
      std::error_code ec;
      std::filesystem::create_directories(init.data_dir, ec);
      std::ofstream out(file);
      out << RenderDefaultConfig(init);
      if (!out) {
        *exit_code =
            ReportError(Status::Permanent("cannot write the default config to " + file.string()));
        return;
      }
      std::cerr << "blockpipe: no config given; wrote the default to " << file.string() << "\n";
    }
    Status st = RunDaemon(file, *options);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace bp::cli
