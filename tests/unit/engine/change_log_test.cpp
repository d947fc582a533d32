// ChangeLog: the runs a journal delta copies come back sorted and merged, and the log gives up
// (instead of growing without bound) past its limit.
#include "engine/change_log.h"

#include <gtest/gtest.h>

namespace bp {
namespace {

TEST(ChangeLog, RunsComeBackSortedAndMerged) {
  ChangeLog log;
  log.Note(100, 4, /*data=*/true);
  log.Note(104, 4, true);  // continues the run before: still one
  log.Note(10, 1, true);
  log.Note(50, 1000, /*data=*/false);  // a trim overlapping the first run
  log.Note(11, 2, true);
  EXPECT_EQ(log.delta_bytes(), 11 * 4096 + ChangeLog::kRangeBytes);
  const std::vector<BlockRun> runs = log.Take();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].lba, 10u);
  EXPECT_EQ(runs[0].blocks, 3u);
  EXPECT_EQ(runs[1].lba, 50u);
  EXPECT_EQ(runs[1].blocks, 1000u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.delta_bytes(), 0u);
}

TEST(ChangeLog, GivesUpPastItsLimitUntilReset) {
  ChangeLog log;
  for (uint64_t i = 0; i <= ChangeLog::kMaxRuns; ++i) log.Note(i * 2, 1, true);
  EXPECT_TRUE(log.overflow());
  EXPECT_FALSE(log.empty());
  log.Note(1, 1, true);
  EXPECT_TRUE(log.Take().empty());
  EXPECT_TRUE(log.overflow());  // taking does not make the forgotten changes come back
  log.Reset();
  EXPECT_FALSE(log.overflow());
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace bp
