// Snapshots, clones, restore and resize in the engine: the records' encoding, snapshots that read
// as taken while the volume changes and after a crash, reclaim that never takes what a snapshot,
// a clone or a restored map needs, clones that share segments (read with the base's uuid, which
// the test codec binds like the encrypt codec does) and survive the deletion of their parent,
// restores that are whole after a crash, and resize.
#include <gtest/gtest.h>

#include "engine/object_format.h"
#include "engine/snapshot_format.h"
#include "engine/volume_meta.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;
using test::Seqs;

TEST(SnapshotFormat, RecordsRoundTripAndRejectDamage) {
  const Uuid uuid = RandomUuid();
  SnapshotRecord snap{"nightly", 1234, 8, 11, 1u << 20, {}};
  Bytes object = EncodeSnapshotObject(uuid, snap);
  SnapshotRecord back;
  Uuid found{};
  ASSERT_OK(DecodeSnapshotObject(object.data(), object.size(), &found, &back));
  EXPECT_EQ(found, uuid);
  EXPECT_EQ(back.name, "nightly");
  EXPECT_EQ(back.checkpoint_seq, 8u);
  EXPECT_EQ(back.through_seq, 11u);
  EXPECT_EQ(back.size, 1u << 20);
  object[kObjectHeaderLength + 3] ^= 1;
  EXPECT_TRUE(DecodeSnapshotObject(object.data(), object.size(), &found, &back).IsCorrupt());

  CloneRef ref;
  ref.clone_uuid = RandomUuid();
  ref.clone_name = "fork";
  ref.snapshot = "nightly";
  ref.checkpoint_seq = 8;
  ref.through_seq = 11;
  object = EncodeCloneRefObject(uuid, ref);
  CloneRef ref_back;
  ASSERT_OK(DecodeCloneRefObject(object.data(), object.size(), &found, &ref_back));
  EXPECT_EQ(ref_back.clone_uuid, ref.clone_uuid);
  EXPECT_EQ(ref_back.through_seq, 11u);
}

TEST(SnapshotFormat, CloneBasesAreCriticalAndOrdered) {
  CloneBase a{"base", RandomUuid(), "s1", 4, 7, 65536, {{"xor", {1, 2}}}};
  CloneBase b{"mid", RandomUuid(), "s2", 0, 9, 65536, {}};
  VolumeMeta meta;
  meta.uuid = RandomUuid();
  meta.name = "fork";
  meta.size = 1u << 20;
  meta.extensions.push_back(EncodeCloneBases({a, b}));
  Bytes object = EncodeVolumeMetaObject(meta);
  VolumeMeta back;
  ASSERT_OK(DecodeVolumeMetaObject(object.data(), object.size(), &back));
  std::vector<CloneBase> bases;
  ASSERT_OK(DecodeCloneBases(back.extensions, &bases));
  ASSERT_EQ(bases.size(), 2u);
  EXPECT_EQ(bases[0].volume, "base");
  EXPECT_EQ(bases[0].codecs[0].header, (Bytes{1, 2}));
  EXPECT_EQ(bases[1].through_seq, 9u);
  // Through seqs must increase: a base list out of order is damage.
  meta.extensions = {EncodeCloneBases({b, a})};
  object = EncodeVolumeMetaObject(meta);
  ASSERT_OK(DecodeVolumeMetaObject(object.data(), object.size(), &back));
  EXPECT_TRUE(DecodeCloneBases(back.extensions, &bases).IsCorrupt());
}

TEST(SnapshotFormat, MaxSizeSurvivesAShrink) {
  VolumeMeta meta;
  meta.size = 8u << 20;
  meta.SetSize(4u << 20);
  EXPECT_EQ(meta.size, 4u << 20);
  EXPECT_EQ(meta.max_size(), 8u << 20);
  meta.SetSize(16u << 20);
  EXPECT_EQ(meta.max_size(), 16u << 20);
}

TEST(SnapshotLayout, KeysParseAndClassify) {
  EXPECT_EQ(SnapshotKey("v", "daily.1"), "volumes/v/snap/daily.1");
  std::string name;
  EXPECT_TRUE(ParseSnapshotKey("v", "volumes/v/snap/daily.1", &name));
  EXPECT_EQ(name, "daily.1");
  EXPECT_FALSE(ParseSnapshotKey("v", "volumes/v/snap/a/b", &name));
  EXPECT_FALSE(ParseSnapshotKey("v", "volumes/v/snap/", &name));
  const std::string hex(32, 'a');
  EXPECT_EQ(ClassifyVolumeKey("v", CloneRefKey("v", hex)), VolumeKeyKind::kCloneRef);
  EXPECT_EQ(ClassifyVolumeKey("v", SnapshotKey("v", "x")), VolumeKeyKind::kSnapshot);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/refs/ABC"), VolumeKeyKind::kUnknown);
}

class Snapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    h.Start();
    ASSERT_OK(h.manager->Create("v", 16u << 20));
  }
  void WriteSegment(VolumeRef& ref, uint64_t block, uint32_t seed, const std::string& name = "v") {
    ASSERT_EQ(test::Write(ref, block * 4096, Pattern(4096, seed)), 0);
    h.FlushSegment(ref, name);
  }
  void ExpectBlock(const std::string& export_name, uint64_t block, uint32_t seed) {
    auto ref = h.Ref(export_name, true);
    ASSERT_TRUE(ref);
    Bytes out;
    ASSERT_EQ(test::Read(*ref, block * 4096, 4096, &out), 0) << export_name;
    EXPECT_EQ(out, Pattern(4096, seed)) << export_name << " block " << block;
  }
  SnapshotSummary Take(const std::string& name, const std::string& volume = "v") {
    SnapshotSummary s;
    EXPECT_OK(h.manager->CreateSnapshot(volume, name, &s));
    return s;
  }
  Harness h;
};

TEST_F(Snapshots, ReadAsTakenWhileTheVolumeChangesAndAfterACrash) {
  auto ref = h.Ref();
  WriteSegment(*ref, 0, 1);
  // Acknowledged but not flushed: the snapshot's flush covers it.
  ASSERT_EQ(test::Write(*ref, 5 * 4096, Pattern(4096, 2)), 0);
  Take("a");
  WriteSegment(*ref, 0, 3);
  WriteSegment(*ref, 5, 4);
  ExpectBlock("v@a", 0, 1);
  ExpectBlock("v@a", 5, 2);
  ExpectBlock("v", 0, 3);
  // The export is read-only.
  auto snap = h.Ref("v@a", false);
  EXPECT_NE(test::Write(*snap, 0, Pattern(4096, 9)), 0);
  snap.reset();
  SnapshotSummary dup;
  EXPECT_TRUE(h.manager->CreateSnapshot("v", "a", &dup).IsPrecondition());
  ref.reset();
  ASSERT_OK(h.Crash());
  ExpectBlock("v@a", 0, 1);
  ExpectBlock("v@a", 5, 2);
  ExpectBlock("v", 5, 4);
}

TEST_F(Snapshots, ReclaimKeepsWhatSnapshotsNeedAndReturnsItAfterDelete) {
  auto ref = h.Ref();
  for (int i = 0; i < 6; ++i) WriteSegment(*ref, 0, 100 + i);
  Take("mid");  // block 0 = 105
  for (int i = 6; i < 30; ++i) WriteSegment(*ref, 0, 100 + i);
  // Many checkpoints and reclaim passes later the snapshot still reads.
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, CheckpointPrefix("v")).size() >= 3; }));
  ExpectBlock("v@mid", 0, 105);
  const size_t before = Seqs(*h.store, SegmentPrefix("v")).size();
  std::vector<SnapshotSummary> list;
  ASSERT_OK(h.manager->ListSnapshots("v", &list));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_GT(list[0].exclusive_bytes, 0u);
  ASSERT_OK(h.manager->DeleteSnapshot("v", "mid"));
  for (int i = 30; i < 42; ++i) WriteSegment(*ref, 0, 100 + i);
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, SegmentPrefix("v")).size() < before; }))
      << "segments: " << Seqs(*h.store, SegmentPrefix("v")).size() << " before " << before;
  ExpectBlock("v", 0, 141);
  EXPECT_EQ(Seqs(*h.store, CheckpointPrefix("v")).size(), 2u);
}

TEST_F(Snapshots, ClonesShareSegmentsDivergeAndOutliveTheirParent) {
  auto ref = h.Ref();
  WriteSegment(*ref, 0, 1);
  WriteSegment(*ref, 1, 2);
  Take("s");
  const size_t parent_segments = Seqs(*h.store, SegmentPrefix("v")).size();
  ASSERT_OK(h.manager->Clone("v", "s", "c"));
  EXPECT_TRUE(h.manager->Clone("v", "s", "c").IsPrecondition());
  EXPECT_TRUE(Seqs(*h.store, SegmentPrefix("c")).empty()) << "a clone copies nothing";
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")).size(), parent_segments);
  ExpectBlock("c", 0, 1);
  {
    auto clone = h.Ref("c");
    WriteSegment(*clone, 0, 50, "c");
  }
  WriteSegment(*ref, 1, 60);
  ExpectBlock("c", 0, 50);
  ExpectBlock("c", 1, 2);
  ExpectBlock("v", 0, 1);
  ExpectBlock("v", 1, 60);
  // A clone of the clone's snapshot has two bases.
  Take("cs", "c");
  ASSERT_OK(h.manager->Clone("c", "cs", "cc"));
  ExpectBlock("cc", 0, 50);
  ExpectBlock("cc", 1, 2);
  // The parent goes; its shared segments stay for the clones.
  ASSERT_OK(h.manager->DeleteSnapshot("v", "s"));
  ref.reset();
  ASSERT_OK(h.manager->Delete("v"));
  ASSERT_OK(h.Crash());
  ExpectBlock("c", 1, 2);
  ExpectBlock("cc", 1, 2);
  EXPECT_TRUE(h.manager->Create("v", 1u << 20).IsPrecondition()) << "the name holds shared data";
  ASSERT_OK(h.manager->DeleteSnapshot("c", "cs"));
  ASSERT_OK(h.manager->Delete("cc"));
  ExpectBlock("c", 1, 2);
  ASSERT_OK(h.manager->Delete("c"));
  EXPECT_TRUE(h.store->Keys(VolumePrefix("v")).empty()) << "the last clone takes the remnant";
}

TEST_F(Snapshots, ACloneOfAnEmptySnapshotIsAPlainVolume) {
  // Taken before anything was written: the snapshot holds no segment of the volume, so its
  // clone has no base and is created as a new volume (it used to be refused as existing, with
  // a null volume left in the manager's table for the timer to trip over).
  Take("empty");
  ASSERT_OK(h.manager->Clone("v", "empty", "c"));
  EXPECT_TRUE(h.manager->Exists("c"));
  Bytes out;
  {
    auto clone = h.Ref("c");
    ASSERT_TRUE(clone);
    ASSERT_EQ(test::Read(*clone, 0, 4096, &out), 0);
    EXPECT_EQ(out, Bytes(4096, 0));
    WriteSegment(*clone, 0, 7, "c");
  }
  ExpectBlock("c", 0, 7);
  for (const VolumeSummary& s : h.manager->List()) EXPECT_FALSE(s.name.empty());
  ASSERT_OK(h.manager->Delete("c"));
}

TEST_F(Snapshots, ACreateWhoseRecordMayHaveLandedKeepsItsPin) {
  auto ref = h.Ref();
  for (int i = 0; i < 6; ++i) WriteSegment(*ref, 0, 100 + i);
  // The record is stored but the reply is lost, and the read-back fails (an outage): the
  // create cannot tell, so it fails, and what the record names must stay (the simulator found
  // the record of such a create pointing at a pruned checkpoint after a restart).
  h.store->FailNextPutAfterStoring(Status::Transient("reply lost"), "/snap/");
  h.store->FailNext(MemoryStore::Op::kGet, Status::Transient("outage"), 1, "/snap/");
  SnapshotSummary summary;
  EXPECT_FALSE(h.manager->CreateSnapshot("v", "doubt", &summary).ok());
  ASSERT_TRUE(h.store->Has(SnapshotKey("v", "doubt")));
  for (int i = 6; i < 30; ++i) WriteSegment(*ref, 0, 100 + i);
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, CheckpointPrefix("v")).size() >= 3; }));
  ref.reset();
  ASSERT_OK(h.Crash());
  ExpectBlock("v@doubt", 0, 105);
  // A lost reply alone is resolved: the record read back is ours.
  ref = h.Ref();
  WriteSegment(*ref, 0, 200);
  h.store->FailNextPutAfterStoring(Status::Transient("reply lost"), "/snap/");
  EXPECT_OK(h.manager->CreateSnapshot("v", "resolved", &summary));
  // A pin left by a create that failed before its record landed is dropped by the delete.
  h.store->FailNext(MemoryStore::Op::kPut, Status::Transient("outage"), 1, "/snap/");
  h.store->FailNext(MemoryStore::Op::kGet, Status::Transient("outage"), 1, "/snap/");
  EXPECT_FALSE(h.manager->CreateSnapshot("v", "never", &summary).ok());
  EXPECT_FALSE(h.store->Has(SnapshotKey("v", "never")));
  EXPECT_TRUE(h.manager->DeleteSnapshot("v", "never").IsNotFound());
  EXPECT_OK(h.manager->CreateSnapshot("v", "never", &summary));
}

TEST_F(Snapshots, RestoreIsWholeAndSurvivesReclaimAfterTheSnapshotGoes) {
  auto ref = h.Ref();
  WriteSegment(*ref, 0, 1);
  WriteSegment(*ref, 3, 2);
  Take("old");
  for (int i = 0; i < 12; ++i) WriteSegment(*ref, 0, 10 + i);
  WriteSegment(*ref, 3, 30);
  Take("new");
  EXPECT_TRUE(h.manager->RestoreSnapshot("v", "old").IsPrecondition()) << "a client is connected";
  ref.reset();
  ASSERT_OK(h.manager->RestoreSnapshot("v", "old"));
  ExpectBlock("v", 0, 1);
  ExpectBlock("v", 3, 2);
  ExpectBlock("v@new", 0, 21);
  // The snapshot it came from goes, and the volume keeps rewriting other blocks: reclaim
  // passes must keep the segments the restored map revived.
  ASSERT_OK(h.manager->DeleteSnapshot("v", "old"));
  ASSERT_OK(h.manager->DeleteSnapshot("v", "new"));
  ref = h.Ref();
  for (int i = 0; i < 16; ++i) WriteSegment(*ref, 7, 200 + i);
  ref.reset();
  ASSERT_OK(h.Crash());
  ExpectBlock("v", 0, 1);
  ExpectBlock("v", 3, 2);
  ExpectBlock("v", 7, 215);
}

// A restore revives a segment that an older pinned checkpoint holds as dead; a snapshot taken
// after the restore needs it. Reclaim passes whose reference is that older checkpoint must keep
// it: "dead in the oldest checkpoint" no longer means "dead for good".
TEST_F(Snapshots, ASnapshotAfterAnInterruptedRestoreStartsPastItsMarker) {
  auto ref = h.Ref();
  for (int i = 0; i < 6; ++i) WriteSegment(*ref, 0, 100 + i);
  Take("old");  // block 0 = 105, from a checkpoint before the restore marker
  for (int i = 6; i < 12; ++i) WriteSegment(*ref, 0, 100 + i);
  ref.reset();
  // The checkpoint that follows the restore marker fails, so the volume reopens by replaying
  // the marker. A snapshot taken now from the older checkpoint would replay the marker too,
  // needing what "old" pins; the simulator found one unreadable once "old" was deleted.
  ASSERT_TRUE(test::WaitFor([&] { return h.store->Has(CheckpointKey("v", 12)); }));
  h.store->FailNext(MemoryStore::Op::kPut, Status::Permanent("disk full"), 1, "/ckpt/");
  ASSERT_OK(h.manager->RestoreSnapshot("v", "old"));
  const uint64_t marker = Seqs(*h.store, SegmentPrefix("v")).back();
  ASSERT_FALSE(h.store->Has(CheckpointKey("v", marker)));
  ExpectBlock("v", 0, 105);
  ASSERT_OK(h.manager->DeleteSnapshot("v", "old"));
  const SnapshotSummary next = Take("next");
  EXPECT_GE(next.checkpoint_seq, marker);
  ref = h.Ref();
  for (int i = 0; i < 16; ++i) WriteSegment(*ref, 7, 200 + i);
  ref.reset();
  ASSERT_OK(h.Crash());
  ExpectBlock("v@next", 0, 105);
  ExpectBlock("v", 0, 105);
  ExpectBlock("v", 7, 215);
}

TEST_F(Snapshots, ReclaimAfterARestoreKeepsRevivedSegments) {
  auto ref = h.Ref();
  WriteSegment(*ref, 0, 1);
  Take("x");
  for (int i = 0; i < 9; ++i) WriteSegment(*ref, 0, 10 + i);
  Take("z");  // its checkpoint holds block 0's first segment as dead
  ref.reset();
  ASSERT_OK(h.manager->RestoreSnapshot("v", "x"));
  Take("w");  // block 0 is the revived segment again
  ref = h.Ref();
  for (int i = 0; i < 12; ++i) WriteSegment(*ref, 0, 100 + i);
  ASSERT_OK(h.manager->DeleteSnapshot("v", "x"));
  for (int i = 0; i < 12; ++i) WriteSegment(*ref, 5, 200 + i);
  ExpectBlock("v@w", 0, 1);
  ExpectBlock("v@z", 0, 18);
  ref.reset();
  ASSERT_OK(h.Crash());
  ExpectBlock("v@w", 0, 1);
  ExpectBlock("v", 0, 111);
}

TEST_F(Snapshots, ConnectedExportsBlockDeletionAndDamagedRecordsCanBeDeleted) {
  auto ref = h.Ref();
  WriteSegment(*ref, 0, 1);
  Take("a");
  Take("b");
  ref.reset();
  auto snap = h.Ref("v@a", true);
  EXPECT_TRUE(h.manager->DeleteSnapshot("v", "a").IsPrecondition());
  EXPECT_TRUE(h.manager->Delete("v").IsPrecondition());
  ExpectBlock("v", 0, 1);  // the refused deletion left the volume serving
  snap.reset();
  // A record that does not decode holds everything back; deleting it is how it goes.
  Bytes damaged = h.store->Peek(SnapshotKey("v", "b"));
  damaged[kObjectHeaderLength + 2] ^= 0x40;
  h.store->Poke(SnapshotKey("v", "b"), damaged);
  ASSERT_OK(h.Restart());
  std::vector<SnapshotSummary> list;
  ASSERT_OK(h.manager->ListSnapshots("v", &list));
  EXPECT_EQ(list.size(), 1u);
  ASSERT_OK(h.manager->DeleteSnapshot("v", "b"));
  EXPECT_FALSE(h.store->Has(SnapshotKey("v", "b")));
  ASSERT_OK(h.manager->DeleteSnapshot("v", "a"));
  ASSERT_OK(h.manager->Delete("v"));
  EXPECT_TRUE(h.store->Keys(VolumePrefix("v")).empty());
}

TEST_F(Snapshots, ResizeGrowsAtOnceAndShrinksOnlyOverNothingUnlessForced) {
  auto ref = h.Ref();
  WriteSegment(*ref, 100, 7);
  ref.reset();
  ASSERT_OK(h.manager->Resize("v", 32u << 20, false));
  ref = h.Ref();
  bp_volume_info info{};
  info.struct_size = sizeof info;
  ref->Info(&info);
  EXPECT_EQ(info.size, 32u << 20);
  WriteSegment(*ref, (24u << 20) / 4096, 8);
  EXPECT_TRUE(h.manager->Resize("v", 16u << 20, false).IsPrecondition());
  ASSERT_OK(h.manager->Resize("v", 16u << 20, true));
  ExpectBlock("v", 100, 7);
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ref->Info(&info);
  EXPECT_EQ(info.size, 16u << 20);
  ref.reset();
  // Growing again shows zeros where the trimmed data was.
  ASSERT_OK(h.manager->Resize("v", 32u << 20, false));
  auto again = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*again, 24u << 20, 4096, &out), 0);
  EXPECT_EQ(out, Bytes(4096, 0));
}

}  // namespace
}  // namespace bp
