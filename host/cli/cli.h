// The blockpipe command line: one binary, one subcommand per file. Each Register* function adds
// its subcommand to the app; when the subcommand runs it stores the process exit code in *exit_code.
#pragma once

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "util/status.h"

namespace bp::cli {

// Where commands look for the config when --config is not given: $BLOCKPIPE_CONFIG, else
// ./blockpipe-data/blockpipe.toml (what `blockpipe init` and a bare `blockpipe run` use).
std::filesystem::path DefaultConfigPath();
std::filesystem::path DefaultDataDir();
// --config value or the default, made absolute.
std::filesystem::path ResolveConfigPath(const std::string& flag);

// Print "blockpipe: <message>" to stderr; returns the exit code to use (1).
int ReportError(const Status& status);

void RegisterInit(CLI::App& app, int* exit_code);
void RegisterRun(CLI::App& app, int* exit_code);
void RegisterVolume(CLI::App& app, int* exit_code);
void RegisterVolumeCopy(CLI::App& volume, int* exit_code);  // `volume copy`, under `volume`
void RegisterSnapshot(CLI::App& app, int* exit_code);
void RegisterPlugins(CLI::App& app, int* exit_code);
void RegisterStats(CLI::App& app, int* exit_code);
void RegisterChangePassword(CLI::App& app, int* exit_code);
void RegisterFsck(CLI::App& app, int* exit_code);
void RegisterGc(CLI::App& app, int* exit_code);

}  // namespace bp::cli
