// The local journal: rows round-trip with their checksums, a damaged row reads as Corrupt, the
// size bound refuses a batch (never drops), fsck's check finds gaps; and a volume with
// durability = "local" acknowledges a FLUSH the store never got, then replays it after a
// crash. Ownership: a journal-holding owner is refused to --take-over without --force.
#include "journal/local_journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/volume_owner.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/local-journal-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A segment-shaped image: a valid object header for (uuid, seq) and `extra` bytes of body.
  static Bytes Image(const Uuid& uuid, uint64_t seq, size_t extra) {
    ObjectHeader h;
    h.type = ObjectType::kSegment;
    h.uuid = uuid;
    h.seq = seq;
    h.data_length = extra;
    Bytes out;
    EncodeObjectHeader(h, &out);
    for (size_t i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(seq + i));
    return out;
  }
  static LocalJournal::Segment Entry(uint64_t seq, const Bytes& image, uint32_t delta = 0) {
    // Two parts, as an image with kept parts comes.
    const size_t half = image.size() / 2;
    return LocalJournal::Segment{
        seq, {{image.data(), half}, {image.data() + half, image.size() - half}}, delta};
  }

  std::string dir_;
  Uuid uuid_ = RandomUuid();
};

TEST_F(JournalTest, RowsRoundTripAndDropLeavesTheRest) {
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_ + "/j", 0, &j));
  const Bytes a = Image(uuid_, 1, 5000), b = Image(uuid_, 2, 100);
  ASSERT_TRUE(j->Reserve(a.size() + b.size()));
  ASSERT_OK(j->Append(uuid_, "v", {Entry(1, a), Entry(2, b)}, a.size() + b.size()));
  EXPECT_EQ(j->Backlog().segments, 2u);
  EXPECT_EQ(j->Backlog().bytes, a.size() + b.size());
  std::vector<JournalRow> rows;
  ASSERT_OK(j->List(&uuid_, &rows));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 1u);
  EXPECT_EQ(rows[1].volume, "v");
  Bytes got;
  ASSERT_OK(j->Read(uuid_, 1, 0, &got));
  EXPECT_EQ(got, a);
  JournalCheck check;
  ASSERT_OK(CheckJournal(*j, &check));
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  ASSERT_OK(j->DropThrough(uuid_, 1));
  EXPECT_TRUE(j->Read(uuid_, 1, 0, &got).IsNotFound());
  EXPECT_EQ(j->Backlog().segments, 1u);
  // Reopened: the rows are still there (committed means durable).
  j.reset();
  ASSERT_OK(LocalJournal::Open(dir_ + "/j", 0, &j));
  ASSERT_OK(j->Read(uuid_, 2, 0, &got));
  EXPECT_EQ(got, b);
}

TEST_F(JournalTest, DamagedRowIsCorruptAndFsckSaysSo) {
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_, 0, &j));
  const Bytes a = Image(uuid_, 1, 300), c = Image(uuid_, 3, 300);
  ASSERT_OK(j->Append(uuid_, "v", {Entry(1, a), Entry(3, c)}, 0));
  // Flip a byte of row 1's image behind the journal's back.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/" + kJournalFileName).c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "UPDATE segments SET image = CAST(substr(image, 1, 100) || x'ff' || "
                         "substr(image, 102) AS BLOB) WHERE seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  Bytes got;
  EXPECT_TRUE(j->Read(uuid_, 1, 0, &got).IsCorrupt());
  JournalCheck check;
  ASSERT_OK(CheckJournal(*j, &check));
  ASSERT_EQ(check.problems.size(), 2u);  // the checksum, and the gap from 1 to 3
}

TEST_F(JournalTest, BoundRefusesBatchesButNeverAnEmptyJournal) {
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_, 1000, &j));
  EXPECT_TRUE(j->Reserve(5000));  // empty: one oversized batch still goes in
  EXPECT_FALSE(j->Reserve(10));   // past the bound while that one is held
  const Bytes a = Image(uuid_, 1, 4000);
  ASSERT_OK(j->Append(uuid_, "v", {Entry(1, a)}, 5000));
  EXPECT_FALSE(j->Reserve(10));
  ASSERT_OK(j->DropThrough(uuid_, UINT64_MAX));
  EXPECT_TRUE(j->Reserve(10));
}

TEST_F(JournalTest, DeltasListAfterTheirSegmentAndItsImageReplacesThem) {
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_, 0, &j));
  const Bytes one = Image(uuid_, 1, 700), d1 = Image(uuid_, 2, 100), d2 = Image(uuid_, 2, 200);
  ASSERT_OK(j->Append(uuid_, "v", {Entry(1, one), Entry(2, d1, 1)}, 0));
  ASSERT_OK(j->Append(uuid_, "v", {Entry(2, d2, 2)}, 0));
  EXPECT_EQ(j->Backlog().segments, 2u);  // segment 1 whole, segment 2 as two deltas
  EXPECT_EQ(j->Backlog().bytes, one.size() + d1.size() + d2.size());
  std::vector<JournalRow> rows;
  ASSERT_OK(j->List(&uuid_, &rows));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].seq * 10 + rows[0].delta, 10u);
  EXPECT_EQ(rows[1].seq * 10 + rows[1].delta, 21u);
  EXPECT_EQ(rows[2].seq * 10 + rows[2].delta, 22u);
  Bytes got;
  ASSERT_OK(j->Read(uuid_, 2, 2, &got));
  EXPECT_EQ(got, d2);
  JournalCheck check;
  ASSERT_OK(CheckJournal(*j, &check));
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  EXPECT_EQ(check.backlog.segments, 2u);
  // Segment 2 sealed and journaled whole: its deltas go in the same commit.
  const Bytes two = Image(uuid_, 2, 250);
  ASSERT_OK(j->Append(uuid_, "v", {Entry(2, two)}, 0));
  ASSERT_OK(j->List(&uuid_, &rows));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].delta, 0u);
  EXPECT_TRUE(j->Read(uuid_, 2, 1, &got).IsNotFound());
  // DropThrough takes deltas too.
  ASSERT_OK(j->Append(uuid_, "v", {Entry(3, Image(uuid_, 3, 10), 1)}, 0));
  ASSERT_OK(j->DropThrough(uuid_, 3));
  EXPECT_EQ(j->Backlog().segments, 0u);
  EXPECT_EQ(j->Backlog().bytes, 0u);
}

TEST_F(JournalTest, FsckFindsAGapInASegmentsDeltas) {
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_, 0, &j));
  ASSERT_OK(j->Append(uuid_, "v",
                      {Entry(4, Image(uuid_, 4, 10), 1), Entry(4, Image(uuid_, 4, 10), 3)}, 0));
  JournalCheck check;
  ASSERT_OK(CheckJournal(*j, &check));
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_NE(check.problems[0].find("skip from 1"), std::string::npos) << check.problems[0];
}

TEST_F(JournalTest, AFormatOneJournalIsUpgradedAndKeepsItsRows) {
  const Bytes a = Image(uuid_, 1, 300);
  {
    std::unique_ptr<LocalJournal> j;
    ASSERT_OK(LocalJournal::Open(dir_, 0, &j));
    ASSERT_OK(j->Append(uuid_, "v", {Entry(1, a)}, 0));
  }
  // What a blockpipe before deltas left: format 1, no deltas table.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/" + kJournalFileName).c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "DROP TABLE deltas; UPDATE journal_info SET value = '1' WHERE key = "
                         "'format'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  std::unique_ptr<LocalJournal> j;
  ASSERT_OK(LocalJournal::Open(dir_, 0, &j));
  Bytes got;
  ASSERT_OK(j->Read(uuid_, 1, 0, &got));
  EXPECT_EQ(got, a);
  ASSERT_OK(j->Append(uuid_, "v", {Entry(2, Image(uuid_, 2, 10), 1)}, 0));
  EXPECT_EQ(j->Backlog().segments, 2u);
  j.reset();
  // A format this blockpipe does not know is refused, not read without what it adds.
  ASSERT_EQ(sqlite3_open((dir_ + "/" + kJournalFileName).c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE journal_info SET value = '3' WHERE key = 'format'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_EQ(LocalJournal::Open(dir_, 0, &j).code(), Status::Code::kUnsupported);
}

TEST(JournalOwner, JournalOwnerIsRefusedWithoutForce) {
  OwnerFinding found;
  found.present = true;
  found.record.state = OwnerState::kActive;
  found.record.writer_id = "aa";
  found.record.local_journal = true;
  EXPECT_EQ(DecideOwnership(found, "bb", /*take_over=*/false), OwnerDecision::kRefuse);
  EXPECT_EQ(DecideOwnership(found, "bb", /*take_over=*/true), OwnerDecision::kRefuse);
  EXPECT_EQ(DecideOwnership(found, "bb", true, /*force=*/true), OwnerDecision::kTakeOver);
  EXPECT_EQ(DecideOwnership(found, "aa", false), OwnerDecision::kTake);  // its own data dir
  // The flag survives encoding.
  const Uuid uuid = RandomUuid();
  Bytes object = EncodeOwnerObject(uuid, found.record);
  Uuid back{};
  OwnerRecord decoded;
  ASSERT_OK(DecodeOwnerObject(object.data(), object.size(), &back, &decoded));
  EXPECT_TRUE(decoded.local_journal);
  EXPECT_TRUE(decoded.extensions.empty());
}

class JournalVolume : public JournalTest {
 protected:
  void SetUp() override {
    JournalTest::SetUp();
    h.options.durability = EngineOptions::Durability::kLocal;
    h.options.journal_dir = dir_ + "/journal";
    h.options.uploads_in_flight = 3;
    h.Start();
    ASSERT_OK(h.manager->Create("v", 64u << 20));
  }
  // A crash that leaves the journal as it is now: a clean stop of the old manager would
  // journal what is still buffered, so the journal's files are copied first and put back
  // after (SQLite then recovers them as it would after a kill).
  Status CrashKeepingJournal() {
    namespace fs = std::filesystem;
    const std::string journal = dir_ + "/journal", saved = dir_ + "/journal-at-crash";
    fs::create_directories(saved);
    for (const char* name : {"journal.db", "journal.db-wal"}) {
      if (fs::exists(journal + "/" + name)) {
        fs::copy_file(journal + "/" + name, saved + "/" + name,
                      fs::copy_options::overwrite_existing);
      }
    }
    auto survivor = std::make_shared<MemoryStore>();
    for (const auto& k : h.store->Keys()) survivor->Poke(k, h.store->Peek(k));
    h.store->FailNext(MemoryStore::Op::kPut, Status::Permanent("crashed"), 1 << 30);
    h.manager.reset();
    fs::remove_all(journal);
    fs::rename(saved, journal);
    h.store = survivor;
    return h.StartAndOpen();
  }
  std::vector<JournalRow> Rows() {
    std::unique_ptr<LocalJournal> j;
    std::vector<JournalRow> rows;
    EXPECT_OK(LocalJournal::OpenExisting(dir_ + "/journal", &j));
    if (j) EXPECT_OK(j->List(nullptr, &rows));
    return rows;
  }
  Harness h;
};

TEST_F(JournalVolume, FlushAcknowledgedFromTheJournalSurvivesACrashWithoutTheStore) {
  auto ref = h.Ref();
  // The store takes nothing: the flush can only be acknowledged by the journal.
  h.store->FailNext(MemoryStore::Op::kPut, Status::Transient("store down"), 1 << 20, "/seg/");
  ASSERT_EQ(test::Write(*ref, 4096 * 10, test::Pattern(8192, 7)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 1)));
  JournalBacklog backlog;
  std::string path;
  uint64_t max = 0;
  ASSERT_TRUE(h.manager->Journal(&backlog, &path, &max));
  EXPECT_EQ(backlog.segments, 1u);
  ref.reset();
  ASSERT_OK(h.Crash());  // the new store copy lacks segment 1; the journal has it
  ref = h.Ref();
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 1)));
  Bytes got;
  ASSERT_EQ(test::Read(*ref, 4096 * 10, 8192, &got), 0);
  EXPECT_EQ(got, test::Pattern(8192, 7));
  ASSERT_TRUE(h.manager->Journal(&backlog, &path, &max));
  EXPECT_EQ(backlog.segments, 0u);  // replayed, then dropped
}

TEST_F(JournalVolume, UploadedSegmentsLeaveTheJournalAndACleanStopEmptiesIt) {
  auto ref = h.Ref();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(test::Write(*ref, 4096 * i, test::Pattern(4096, static_cast<uint32_t>(i))), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  ref.reset();
  ASSERT_OK(h.Restart());
  JournalBacklog backlog;
  std::string path;
  uint64_t max = 0;
  ASSERT_TRUE(h.manager->Journal(&backlog, &path, &max));
  EXPECT_EQ(backlog.segments, 0u);
  ref = h.Ref();
  for (int i = 0; i < 5; ++i) {
    Bytes got;
    ASSERT_EQ(test::Read(*ref, 4096 * i, 4096, &got), 0);
    EXPECT_EQ(got, test::Pattern(4096, static_cast<uint32_t>(i)));
  }
}

TEST_F(JournalVolume, SmallFlushesAreJournaledAsDeltasAndTheBufferKeepsFilling) {
  auto ref = h.Ref();
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_EQ(test::Write(*ref, 4096 * (2 * i), test::Pattern(4096, i)), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  // Twenty flushes, no segment: each one committed only its write to the journal.
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 1)));
  const std::vector<JournalRow> rows = Rows();
  ASSERT_EQ(rows.size(), 20u);
  for (uint32_t i = 0; i < 20; ++i) {
    EXPECT_EQ(rows[i].seq, 1u);
    EXPECT_EQ(rows[i].delta, i + 1);
    EXPECT_LT(rows[i].size, 3 * 4096u);  // one block and the segment's front, not the buffer
  }
  ref.reset();
  ASSERT_OK(CrashKeepingJournal());
  ref = h.Ref();
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 1)));  // rebuilt from the deltas, then uploaded
  for (uint32_t i = 0; i < 20; ++i) {
    Bytes got;
    ASSERT_EQ(test::Read(*ref, 4096 * (2 * i), 4096, &got), 0);
    EXPECT_EQ(got, test::Pattern(4096, i)) << "block " << 2 * i;
  }
  EXPECT_TRUE(Rows().empty());
}

TEST_F(JournalVolume, ATrimAndAnOverwriteBetweenDeltasReplayAsTheyHappened) {
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, test::Pattern(4 * 4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 4096, 2 * 4096, nullptr), 0);
  ASSERT_EQ(test::Write(*ref, 2 * 4096, test::Pattern(4096, 2)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  Bytes expected = test::Pattern(4 * 4096, 1);
  std::fill(expected.begin() + 4096, expected.begin() + 2 * 4096, 0);
  const Bytes two = test::Pattern(4096, 2);
  std::copy(two.begin(), two.end(), expected.begin() + 2 * 4096);
  ref.reset();
  ASSERT_OK(CrashKeepingJournal());
  ref = h.Ref();
  Bytes got;
  ASSERT_EQ(test::Read(*ref, 0, 4 * 4096, &got), 0);
  EXPECT_EQ(got, expected);
}

TEST_F(JournalVolume, ASegmentRebuiltFromDeltasKeepsLaterUnflushedSegmentsOut) {
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, test::Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);  // delta 1 of segment 1
  // Segment 1 fills up and never reaches the store; segment 2 does. No flush covers either.
  h.store->FailNext(MemoryStore::Op::kPut, Status::Transient("store down"), 1 << 20,
                    SegmentKey("v", 1));
  const uint64_t segment = h.options.segment_size;
  ASSERT_EQ(test::Write(*ref, 1 << 20, test::Pattern(segment, 2)), 0);
  ASSERT_EQ(test::Write(*ref, 4 << 20, test::Pattern(segment, 3)), 0);
  for (int i = 0; i < 200 && !h.store->Has(SegmentKey("v", 2)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(h.store->Has(SegmentKey("v", 2)));
  ref.reset();
  ASSERT_OK(CrashKeepingJournal());
  ref = h.Ref();
  // Segment 1 as far as its delta went, and not segment 2 after it: that would give the volume
  // writes without the older writes that were lost with segment 1.
  Bytes got;
  ASSERT_EQ(test::Read(*ref, 0, 4096, &got), 0);
  EXPECT_EQ(got, test::Pattern(4096, 1));
  ASSERT_EQ(test::Read(*ref, 4 << 20, 4096, &got), 0);
  EXPECT_EQ(got, Bytes(4096, 0));
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 2)));
}

}  // namespace
}  // namespace bp
