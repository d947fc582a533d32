// Model: the reference the simulator checks the engine against. It records every write, trim
// and zeroing the workload submits (per sector, in order: the workload never has two
// overlapping modifications in flight, so each sector's history is a sequence), when each was
// submitted and completed, and which were made durable by a FLUSH or FUA. From that it judges
//   - every read: each sector is zeros or data some write put there, no older than the last
//     write to it that completed before the read was submitted (CheckRead);
//   - every recovery: the volume read back after a crash is a prefix of the history — each
//     write wholly in or wholly out, the set closed under happens-before, every
//     durably-acknowledged write in, each sector showing the newest write of that set
//     (CheckRecovery).
// After a recovery is verified, what was read back becomes the new base and the history
// restarts from it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim_volume.h"

namespace bp::sim {

class Model {
 public:
  explicit Model(uint64_t sectors);

  // A modification was submitted: returns its write index. zero: TRIM/WRITE_ZEROES.
  uint32_t Submit(uint64_t id, uint64_t first, uint64_t count, bool zero, uint64_t event);
  void Completed(uint32_t index, bool ok, bool fua, uint64_t event);
  // A FLUSH submitted at `submitted` succeeded: everything completed before it is durable.
  void Flushed(uint64_t submitted, uint64_t flush_id);

  // Per sector of a read, the oldest acceptable position (call at submission).
  std::vector<int32_t> ReadFloor(uint64_t first, uint64_t count) const;
  // Check a completed read; "" when fine, else what broke.
  std::string CheckRead(uint64_t first, uint64_t count, const std::vector<int32_t>& floor,
                        const uint8_t* data, uint64_t read_id) const;

  // Check the whole volume read back after a recovery; "" when fine. On success the image
  // becomes the new base.
  std::string CheckRecovery(const std::vector<uint8_t>& image);

  // The volume now holds exactly `values` (per sector: 0 zeros, else the write id), all of it
  // durable: a clone at its snapshot, a volume restored to one. The history restarts from it;
  // call only while none of the volume's modifications is in flight.
  void Rebase(const std::vector<uint64_t>& values);
  // What the volume holds now, per sector: the newest write that completed OK (or the base),
  // then every later write (failed, or still in flight) that may show as well. *first gets
  // the former, *more the latter for the sectors that have any.
  void Current(std::vector<uint64_t>* first,
               std::vector<std::pair<uint64_t, std::vector<uint64_t>>>* more) const;
  // Every write that completed OK before event `before` is durable, for `why` (a snapshot's
  // flush, which covers them as a FLUSH would).
  void DurableBefore(uint64_t before, const std::string& why);

  uint64_t sectors() const { return base_.size(); }
  size_t history_writes() const { return writes_.size(); }
  // Global record of every write ever submitted, for messages (ids start at 1).
  struct Origin {
    uint64_t first = 0, count = 0;
    bool zero = false;
    int epoch = 0;
  };

 private:
  enum class State { kInFlight, kOk, kFailed };
  struct Write {
    uint64_t id;
    uint64_t first, count;
    bool zero;
    State state = State::kInFlight;
    bool durable = false;
    std::string durable_why;
    uint64_t submit_ev, complete_ev = UINT64_MAX;
    std::vector<uint32_t> pos;  // position in each sector's history
  };
  std::string Describe(uint32_t w) const;
  std::string DescribeValue(const SectorValue& v) const;
  // Positions at `sector` whose value matches v (-1 = base).
  void Candidates(uint64_t sector, const SectorValue& v, std::vector<int32_t>* out) const;
  bool Matches(uint64_t sector, int32_t pos, const SectorValue& v) const;

  std::vector<uint64_t> base_;                  // per sector: 0 = zeros, else write id
  std::vector<std::vector<uint32_t>> history_;  // per sector: write indices, in order
  std::vector<Write> writes_;                   // since the last verified recovery
  std::vector<Origin> origins_;                 // by id - 1, forever
  int epoch_ = 0;
};

}  // namespace bp::sim
