// `blockpipe fsck`: check volumes in the object store, read-only. For each volume it reads the
// metadata, opens the codec chain (a wrong password or a missing codec plugin is a problem of
// that volume), then runs the engine's inspection (engine/volume_fsck.h): every checkpoint,
// every segment header and map, every unit the map needs, decoded and authenticated. Each
// problem is printed with its object and the byte ranges of the volume it affects; the exit
// status is 0 when every volume is clean, 1 when any problem was found, 2 when the check
// itself could not run (bad config, unreachable store).
//
// The store is wrapped read-only, so nothing can be written, moved to quarantine or deleted.
// fsck does not need the daemon stopped, but with a daemon writing, objects it creates or
// reclaims during the check can show up as problems, so it says so; when no daemon runs it
// holds the data dir's lock so that none starts in the middle of the check.
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "cli/offline_store.h"
#include "engine/object_format.h"
#include "engine/store_layout.h"
#include "engine/volume_fsck.h"
#include "engine/volume_meta.h"
#include "journal/local_journal.h"

namespace bp::cli {
namespace {

struct Options {
  std::string config;
  std::string volume;
  uint32_t threads = 4;
};

constexpr int kExitProblems = 1;
constexpr int kExitCannotCheck = 2;
constexpr size_t kRangesShown = 4;

std::string Mib(uint64_t bytes) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << static_cast<double>(bytes) / (1 << 20) << " MiB";
  return out.str();
}

std::string DescribeRanges(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  if (ranges.empty()) return "";
  std::string text = " [volume bytes ";
  for (size_t i = 0; i < ranges.size() && i < kRangesShown; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(ranges[i].first) + "-" + std::to_string(ranges[i].second);
  }
  if (ranges.size() > kRangesShown)
    text += " and " + std::to_string(ranges.size() - kRangesShown) + " more ranges";
  return text + "]";
}

// Metadata and chain, then the inspection. Problems that stop the check early (unreadable
// metadata, a chain that does not open) are problems of the meta object.
Status CheckOne(OfflineStore& offline, ObjectStore& store, const std::string& name,
                uint32_t threads, FsckReport* report) {
  report->volume = name;
  const std::string key = MetaKey(name);
  Bytes object;
  Status st = store.Get(key, &object);
  if (st.IsNotFound()) {
    report->problems.push_back({key, "does not exist: there is no volume " + name, {}});
    return Status::Ok();
  }
  if (!st.ok()) return st.WithContext("volume " + name + ": reading " + key);
  VolumeMeta meta;
  st = DecodeVolumeMetaObject(object.data(), object.size(), &meta);
  if (st.ok() && meta.name != name) st = Status::Corrupt("names volume " + meta.name);
  if (!st.ok()) {
    report->problems.push_back({key, st.message() + "; the volume cannot be opened", {}});
    return Status::Ok();
  }
  std::unique_ptr<CodecChain> chain;
  st = offline.codecs->OpenChain(meta.uuid.data(), name, meta.codecs, &chain);
  if (!st.ok()) {
    report->problems.push_back({key, "the codec chain does not open: " + st.message(), {}});
    return Status::Ok();
  }
  FsckOptions options;
  options.threads = threads;
  options.progress = [](const std::string& line) { std::cerr << "fsck: " << line << std::endl; };
  options.codecs = offline.codecs.get();
  return CheckVolume(store, meta, *chain, options, report);
}

void Print(const FsckReport& r) {
  for (const auto& note : r.notes) std::cout << "volume " << r.volume << ": note: " << note << "\n";
  for (const auto& p : r.problems) {
    std::cout << "volume " << r.volume << ": PROBLEM " << p.object << ": " << p.what
              << DescribeRanges(p.ranges) << "\n";
  }
  std::cout << "volume " << r.volume << ": "
            << (r.ok() ? "clean" : std::to_string(r.problems.size()) + " problem(s)") << " — "
            << r.checkpoints_checked << " checkpoint(s), " << r.segments_checked << " segment(s), "
            << r.units_checked << " unit(s) (" << Mib(r.stored_bytes_checked) << " stored, "
            << Mib(r.logical_bytes_mapped) << " of data) checked";
  if (r.checkpoints_checked + r.segments_checked > 0) {
    std::cout << "; opens from checkpoint " << r.newest_checkpoint << " through segment "
              << r.last_segment;
  }
  std::cout << std::endl;
}

// The local journal, when the config's journal directory holds one (whatever the durability
// mode now: a journal left by an earlier run still matters). Returns the problems found.
size_t CheckLocalJournal(const Config& config, bool* could_not_check) {
  std::unique_ptr<LocalJournal> journal;
  Status st = LocalJournal::OpenExisting(config.engine.journal_dir, &journal);
  if (st.IsNotFound()) return 0;
  JournalCheck check;
  if (st.ok()) st = CheckJournal(*journal, &check);
  if (!st.ok()) {
    ReportError(st.WithContext("checking the local journal"));
    *could_not_check = true;
    return 0;
  }
  for (const auto& p : check.problems) std::cout << "journal: PROBLEM " << p << "\n";
  std::cout << "journal " << journal->path() << ": "
            << (check.problems.empty() ? "clean"
                                       : std::to_string(check.problems.size()) + " problem(s)")
            << " — " << check.backlog.segments << " segment(s) of " << check.volumes
            << " volume(s), " << Mib(check.backlog.bytes) << " not yet in the store" << std::endl;
  return check.problems.size();
}

int Run(const Options& options) {
  OfflineStore offline;
  if (Status st = LoadOfflineConfig(ResolveConfigPath(options.config), &offline); !st.ok()) {
    ReportError(st);
    return kExitCannotCheck;
  }
  DataDirLockGuard lock;
  Status locked = lock.TryAcquire(offline.config.host.data_dir);
  if (locked.IsPrecondition() || ControlSocketAnswers(offline.config.host.control_socket)) {
    std::cerr
        << "blockpipe: warning: a daemon is running with this config; objects it writes or "
           "reclaims during the check may be reported as problems (stop it for an exact result)\n";
  } else if (!locked.ok()) {
    ReportError(locked);
    return kExitCannotCheck;
  }
  if (Status st = OpenOfflinePlugins(&offline); !st.ok()) {
    ReportError(st);
    return kExitCannotCheck;
  }
  std::shared_ptr<ObjectStore> store = ReadOnlyView(offline.store);

  std::vector<std::string> names;
  if (options.volume.empty()) {
    if (Status st = ListVolumeNames(*store, &names); !st.ok()) {
      ReportError(st);
      return kExitCannotCheck;
    }
  } else {
    names.push_back(options.volume);
  }
  size_t problems = 0, damaged = 0;
  for (const auto& name : names) {
    FsckReport report;
    if (Status st = CheckOne(offline, *store, name, options.threads, &report); !st.ok()) {
      ReportError(st.WithContext("the check could not run"));
      return kExitCannotCheck;
    }
    Print(report);
    problems += report.problems.size();
    if (!report.ok()) ++damaged;
  }
  bool journal_unchecked = false;
  const size_t journal_problems = CheckLocalJournal(offline.config, &journal_unchecked);
  if (journal_unchecked) return kExitCannotCheck;
  problems += journal_problems;
  std::cout << "fsck: " << names.size() << " volume(s) checked in " << store->Describe() << ", "
            << (problems == 0 ? "no problems"
                              : std::to_string(problems) + " problem(s) in " +
                                    std::to_string(damaged) + " volume(s)")
            << std::endl;
  return problems == 0 ? 0 : kExitProblems;
}

}  // namespace

void RegisterFsck(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "fsck",
      "Check volumes read-only: read and authenticate every checkpoint, segment and live unit; "
      "exit 0 when clean, 1 on any problem, 2 when the check cannot run");
  auto options = std::make_shared<Options>();
  cmd->add_option("-c,--config", options->config,
                  "Config file (default $BLOCKPIPE_CONFIG or ./blockpipe-data/blockpipe.toml)");
  cmd->add_option("--volume", options->volume, "Check only this volume (default: every volume)");
  cmd->add_option("--threads", options->threads, "Units read and decoded in parallel")
      ->check(CLI::Range(1, 64));
  cmd->callback([options, exit_code] { *exit_code = Run(*options); });
}

}  // namespace bp::cli
