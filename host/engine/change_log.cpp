// ChangeLog implementation (see change_log.h).
#include "engine/change_log.h"

#include <algorithm>

namespace bp {

std::vector<BlockRun> ChangeLog::Take() {
  std::vector<BlockRun> runs;
  runs.swap(runs_);
  bytes_ = 0;
  std::sort(runs.begin(), runs.end(),
            [](const BlockRun& a, const BlockRun& b) { return a.lba < b.lba; });
  size_t out = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (out != 0 && runs[i].lba <= runs[out - 1].lba + runs[out - 1].blocks) {
      BlockRun& prev = runs[out - 1];
      prev.blocks = std::max(prev.lba + prev.blocks, runs[i].lba + runs[i].blocks) - prev.lba;
    } else {
      runs[out++] = runs[i];
    }
  }
  runs.resize(out);
  return runs;
}

}  // namespace bp
