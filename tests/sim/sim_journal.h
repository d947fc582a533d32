// The local journal of the simulated host (durability = "local", --journal): the real
// LocalJournal, SQLite and all, in a private temp directory — on tmpfs (/dev/shm) when there is
// one, so synchronous=FULL costs no real fsync.
//
// A crash keeps exactly what a killed process leaves behind: the database and WAL files as they
// are at that instant. Append writes and commits before it returns and runs inside one executor
// task, which the simulator never interrupts, so that is every committed transaction and
// nothing else. Crash() copies those files, lets the connection go (closing it would checkpoint
// the WAL and delete it, which a killed process never does) and puts the copies back, so the
// next Open runs SQLite's WAL recovery as a restarted daemon would.
//
// Determinism: the directory's name never reaches the trace, and the journal's only other tie to
// the outside, the free-space check before each commit, passes whenever the temp file system
// has a few MiB free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "journal/local_journal.h"
#include "util/status.h"

namespace bp::sim {

class SimJournal {
 public:
  explicit SimJournal(uint64_t max_bytes) : max_bytes_(max_bytes) {}
  ~SimJournal();  // closes the journal and removes its directory
  SimJournal(const SimJournal&) = delete;
  SimJournal& operator=(const SimJournal&) = delete;

  // Open the journal (creating its directory the first time); a reopen after Crash recovers.
  Status Open();
  LocalJournal* get() const { return journal_.get(); }
  // The host dies: the files stay as they are, the connection goes.
  void Crash();

 private:
  const uint64_t max_bytes_;
  std::string dir_;
  std::unique_ptr<LocalJournal> journal_;
};

}  // namespace bp::sim
