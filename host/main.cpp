// blockpipe: block devices over NBD whose data lives in object storage. Entry point: parses the
// command line and dispatches to the subcommands in cli/.
#include <csignal>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // Writes to a vanished client must be errors, not a signal that kills the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"blockpipe " BLOCKPIPE_VERSION
               " — block devices over NBD, stored compressed in object storage"};
  app.set_version_flag("--version", BLOCKPIPE_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  bp::cli::RegisterInit(app, &exit_code);
  bp::cli::RegisterRun(app, &exit_code);
  bp::cli::RegisterVolume(app, &exit_code);
  bp::cli::RegisterSnapshot(app, &exit_code);
  bp::cli::RegisterPlugins(app, &exit_code);
  bp::cli::RegisterStats(app, &exit_code);
  bp::cli::RegisterGc(app, &exit_code);
  bp::cli::RegisterChangePassword(app, &exit_code);
  bp::cli::RegisterFsck(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
