// The local journal: rows round-trip with their checksums, a damaged row reads as Corrupt, the
// size bound refuses a batch (never drops), fsck's check finds gaps; and a volume with
// durability = "local" acknowledges a FLUSH the store never got, then replays it after a
// crash. Ownership: a journal-holding owner is refused to --take-over without --force.
#include "journal/local_journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

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
  static LocalJournal::Segment Entry(uint64_t seq, const Bytes& image) {
    // Two parts, as an image with kept parts comes.
    const size_t half = image.size() / 2;
    return LocalJournal::Segment{
        seq, {{image.data(), half}, {image.data() + half, image.size() - half}}};
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
  ASSERT_OK(j->Read(uuid_, 1, &got));
  EXPECT_EQ(got, a);
  JournalCheck check;
  ASSERT_OK(CheckJournal(*j, &check));
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  ASSERT_OK(j->Drop(uuid_, {1}));
  EXPECT_TRUE(j->Read(uuid_, 1, &got).IsNotFound());
  EXPECT_EQ(j->Backlog().segments, 1u);
  // Reopened: the rows are still there (committed means durable).
  j.reset();
  ASSERT_OK(LocalJournal::Open(dir_ + "/j", 0, &j));
  ASSERT_OK(j->Read(uuid_, 2, &got));
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
  EXPECT_TRUE(j->Read(uuid_, 1, &got).IsCorrupt());
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

}  // namespace
}  // namespace bp
