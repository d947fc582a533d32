// VolumeCopier between two MemoryStores: the meta object is written last, an interrupted copy
// leaves no volume and a rerun completes it reusing identical objects (compared by content),
// anything else at the destination is refused without a write, a source that changes during the
// copy fails it, renaming keeps the uuid and refuses a second volume with that uuid, and
// quarantined objects travel only on request.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "engine/volume_copier.h"
#include "engine/volume_meta.h"
#include "support/memory_store.h"
#include "support/status_assert.h"

namespace bp {
namespace {

// A MemoryStore that records the order of successful puts and can run a hook after a get, so a
// test can change the store while a copy reads it.
class RecordingStore : public MemoryStore {
 public:
  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override {
    Status st = MemoryStore::Put(key, data, length, if_absent);
    if (st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      puts_.push_back(key);
    }
    return st;
  }
  Status Get(const std::string& key, Bytes* out) override {
    Status st = MemoryStore::Get(key, out);
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hook = after_get_;
    }
    if (hook) hook(key);
    return st;
  }
  std::vector<std::string> puts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return puts_;
  }
  void AfterGet(std::function<void(const std::string&)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    after_get_ = std::move(hook);
  }
  std::string Describe() const override { return description_; }
  void SetDescription(std::string d) { description_ = std::move(d); }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> puts_;
  std::function<void(const std::string&)> after_get_;
  std::string description_ = "memory://";
};

Uuid MakeUuid(uint8_t fill) {
  Uuid u{};
  u.fill(fill);
  return u;
}

Bytes MetaObject(const std::string& name, const Uuid& uuid, uint64_t size = 64ull << 20) {
  VolumeMeta meta;
  meta.uuid = uuid;
  meta.name = name;
  meta.size = size;
  meta.created_unix_ms = 1700000000000ull;
  meta.codecs.push_back(CodecRecord{"lz4", {}});
  return EncodeVolumeMetaObject(meta);
}

// A segment or checkpoint: a valid header carrying the uuid and seq, then `body` filler bytes
// (the copier never decodes bodies, it carries them).
Bytes DataObject(ObjectType type, const Uuid& uuid, uint64_t seq, size_t body, uint8_t fill) {
  ObjectHeader h;
  h.type = type;
  h.uuid = uuid;
  h.seq = seq;
  h.body_length = body;
  h.body_logical_length = body;
  Bytes out;
  EncodeObjectHeader(h, &out);
  out.insert(out.end(), body, fill);
  return out;
}

class VolumeCopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.SetDescription("memory://source");
    destination_.SetDescription("memory://destination");
  }

  // Volume `name` in the source: meta, `segments` segments, checkpoints at 2 and 4 (if reached).
  void MakeSourceVolume(const std::string& name, int segments, const Uuid& uuid = MakeUuid(0xA1)) {
    source_.Poke(MetaKey(name), MetaObject(name, uuid));
    for (int s = 1; s <= segments; ++s) {
      source_.Poke(SegmentKey(name, s),
                   DataObject(ObjectType::kSegment, uuid, s, 1000 + 37 * s, s));
    }
    for (int c : {2, 4}) {
      if (c <= segments) {
        source_.Poke(CheckpointKey(name, c),
                     DataObject(ObjectType::kCheckpoint, uuid, c, 300, 0xC0 + c));
      }
    }
  }

  Status Copy(VolumeCopyOptions options, VolumeCopyReport* report = nullptr) {
    VolumeCopyReport local;
    VolumeCopier copier(source_, destination_, std::move(options));
    return copier.Run(report != nullptr ? report : &local);
  }

  static VolumeCopyOptions Options(const std::string& name, uint32_t jobs = 4) {
    VolumeCopyOptions o;
    o.name = name;
    o.jobs = jobs;
    return o;
  }

  // Every source object under volumes/<from>/ is at the destination under volumes/<to>/ with the
  // same bytes (meta compared separately when renamed).
  void ExpectSameObjects(const std::string& from, const std::string& to, bool compare_meta = true) {
    const auto keys = source_.Keys(VolumePrefix(from));
    ASSERT_FALSE(keys.empty());
    for (const auto& key : keys) {
      if (key.find("/quarantine/") != std::string::npos) continue;
      if (!compare_meta && key == MetaKey(from)) continue;
      const std::string there = VolumePrefix(to) + key.substr(VolumePrefix(from).size());
      ASSERT_TRUE(destination_.Has(there)) << there;
      EXPECT_EQ(destination_.Peek(there), source_.Peek(key)) << there;
    }
  }

  RecordingStore source_, destination_;
};

TEST_F(VolumeCopierTest, CopiesEveryObjectAndWritesMetaLast) {
  MakeSourceVolume("vol", 12);
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol", 6), &report));
  ExpectSameObjects("vol", "vol");
  EXPECT_EQ(destination_.Keys().size(), source_.Keys().size());
  const auto puts = destination_.puts();
  ASSERT_EQ(puts.size(), source_.Keys().size());
  EXPECT_EQ(puts.back(), MetaKey("vol"));
  EXPECT_EQ(std::count(puts.begin(), puts.end(), MetaKey("vol")), 1);
  EXPECT_EQ(report.objects, 15u);  // meta + 12 segments + 2 checkpoints
  EXPECT_EQ(report.objects_written, 15u);
  EXPECT_EQ(report.objects_reused, 0u);
  EXPECT_FALSE(report.already_complete);
  EXPECT_EQ(report.uuid, UuidToHex(MakeUuid(0xA1)));
}

TEST_F(VolumeCopierTest, ProgressReachesTheTotals) {
  MakeSourceVolume("vol", 5);
  VolumeCopier copier(source_, destination_, Options("vol"));
  VolumeCopyReport report;
  ASSERT_OK(copier.Run(&report));
  const VolumeCopyProgress p = copier.Progress();
  EXPECT_EQ(p.phase, CopyPhase::kDone);
  EXPECT_EQ(p.objects_done, p.objects_total);
  EXPECT_EQ(p.objects_total, report.objects);
  EXPECT_EQ(p.bytes_done, p.bytes_total);
  EXPECT_EQ(p.bytes_total, report.bytes);
}

TEST_F(VolumeCopierTest, InterruptedCopyLeavesNoVolumeAndARerunCompletesIt) {
  MakeSourceVolume("vol", 8);
  // One job, so the failure stops the copy part-way in key order.
  destination_.FailNext(MemoryStore::Op::kPut, Status::Permanent("disk full"), 1,
                        SegmentKey("vol", 5));
  Status st = Copy(Options("vol", 1));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("rerun"), std::string::npos) << st.message();
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));
  const size_t copied_before = destination_.Keys().size();
  EXPECT_GT(copied_before, 0u);

  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol", 3), &report));
  ExpectSameObjects("vol", "vol");
  EXPECT_EQ(report.objects_reused, copied_before);
  EXPECT_EQ(report.objects_written, report.objects - copied_before);
  EXPECT_EQ(destination_.puts().back(), MetaKey("vol"));
}

TEST_F(VolumeCopierTest, AFailedMetaWriteIsFinishedByARerun) {
  MakeSourceVolume("vol", 3);
  destination_.FailNext(MemoryStore::Op::kPut, Status::Permanent("denied"), 1, "/meta");
  ASSERT_FALSE(Copy(Options("vol")).ok());
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  EXPECT_EQ(report.objects_written, 1u);  // only meta
  ExpectSameObjects("vol", "vol");
}

TEST_F(VolumeCopierTest, ReusesOnlyObjectsWithIdenticalContent) {
  MakeSourceVolume("vol", 4);
  const std::string same = SegmentKey("vol", 1);
  const std::string forged = SegmentKey("vol", 2);
  destination_.Poke(same, source_.Peek(same));
  Bytes other = source_.Peek(forged);
  other.back() ^= 0xFF;  // same name, same size, different bytes
  destination_.Poke(forged, other);

  Status st = Copy(Options("vol", 1));
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find(forged), std::string::npos) << st.message();
  EXPECT_EQ(destination_.Peek(forged), other) << "an existing object was overwritten";
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));

  destination_.Poke(forged, source_.Peek(forged));
  const size_t present = destination_.Keys().size();  // the two above and what the run copied
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  EXPECT_EQ(report.objects_reused, present);
  const auto puts = destination_.puts();
  EXPECT_EQ(std::count(puts.begin(), puts.end(), same), 0);
  ExpectSameObjects("vol", "vol");
}

TEST_F(VolumeCopierTest, RefusesADifferentVolumeOfTheSameNameWithoutWriting) {
  MakeSourceVolume("vol", 3);
  destination_.Poke(MetaKey("vol"), MetaObject("vol", MakeUuid(0xB2)));
  destination_.Poke(SegmentKey("vol", 1),
                    DataObject(ObjectType::kSegment, MakeUuid(0xB2), 1, 50, 9));
  const auto before = destination_.CountOps(MemoryStore::Op::kPut);
  Status st = Copy(Options("vol"));
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("different volume"), std::string::npos) << st.message();
  EXPECT_EQ(destination_.CountOps(MemoryStore::Op::kPut), before);
  EXPECT_EQ(destination_.CountOps(MemoryStore::Op::kDelete), 0u);
}

TEST_F(VolumeCopierTest, AnIdenticalCompletedCopyIsAcceptedWithoutWriting) {
  MakeSourceVolume("vol", 5);
  ASSERT_OK(Copy(Options("vol")));
  const auto puts = destination_.CountOps(MemoryStore::Op::kPut);
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  EXPECT_TRUE(report.already_complete);
  EXPECT_EQ(report.objects_written, 0u);
  EXPECT_EQ(report.objects_reused, report.objects);
  EXPECT_EQ(destination_.CountOps(MemoryStore::Op::kPut), puts);
}

TEST_F(VolumeCopierTest, ACompletedCopyThatWasUsedSinceIsRefused) {
  MakeSourceVolume("vol", 5);
  ASSERT_OK(Copy(Options("vol")));
  // The copy was served and written to at the destination: a new segment there.
  destination_.Poke(SegmentKey("vol", 6),
                    DataObject(ObjectType::kSegment, MakeUuid(0xA1), 6, 10, 1));
  Status st = Copy(Options("vol"));
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("differ"), std::string::npos) << st.message();
  EXPECT_TRUE(destination_.Has(SegmentKey("vol", 6)));

  // Same objects, one with other content: also refused, found by comparing bytes.
  destination_.Erase(SegmentKey("vol", 6));
  Bytes changed = destination_.Peek(SegmentKey("vol", 3));
  changed[100] ^= 1;
  destination_.Poke(SegmentKey("vol", 3), changed);
  st = Copy(Options("vol"));
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_EQ(destination_.Peek(SegmentKey("vol", 3)), changed);
}

TEST_F(VolumeCopierTest, ASourceThatChangesDuringTheCopyFailsIt) {
  MakeSourceVolume("vol", 4);
  // A writer adds segment 5 while the copy reads segment 2.
  source_.AfterGet([this](const std::string& key) {
    if (key == SegmentKey("vol", 2) && !source_.Has(SegmentKey("vol", 5))) {
      source_.Poke(SegmentKey("vol", 5),
                   DataObject(ObjectType::kSegment, MakeUuid(0xA1), 5, 64, 5));
    }
  });
  Status st = Copy(Options("vol", 1));
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("changed during the copy"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(SegmentKey("vol", 5)), std::string::npos) << st.message();
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));

  // Once the writer has stopped, a rerun completes with the new segment.
  source_.AfterGet(nullptr);
  ASSERT_OK(Copy(Options("vol")));
  ExpectSameObjects("vol", "vol");
}

TEST_F(VolumeCopierTest, ASourceObjectRemovedDuringTheCopyFailsIt) {
  MakeSourceVolume("vol", 4);
  // The engine reclaims a dead segment after the listing.
  source_.AfterGet([this](const std::string& key) {
    if (key == SegmentKey("vol", 1)) source_.Erase(CheckpointKey("vol", 4));
  });
  Status st = Copy(Options("vol", 1));
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));

  // The rerun removes the checkpoint copied earlier that the source no longer has.
  source_.AfterGet(nullptr);
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  ExpectSameObjects("vol", "vol");
  EXPECT_EQ(destination_.Keys().size(), source_.Keys().size());
}

TEST_F(VolumeCopierTest, LeftoversOfThisVolumeAreRemovedOthersAreRefused) {
  MakeSourceVolume("vol", 3);
  destination_.Poke(CheckpointKey("vol", 1),
                    DataObject(ObjectType::kCheckpoint, MakeUuid(0xA1), 1, 20, 1));
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  EXPECT_EQ(report.leftovers_removed, 1u);
  EXPECT_FALSE(destination_.Has(CheckpointKey("vol", 1)));

  // Another volume's object under the same prefix, no meta there: nothing is written.
  RecordingStore other_destination;
  other_destination.Poke(SegmentKey("vol", 9),
                         DataObject(ObjectType::kSegment, MakeUuid(0xEE), 9, 20, 1));
  other_destination.Poke("volumes/vol/notes.txt", Bytes{'h', 'i'});
  VolumeCopier copier(source_, other_destination, Options("vol"));
  Status st = copier.Run(&report);
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("not part of volume"), std::string::npos) << st.message();
  EXPECT_EQ(other_destination.CountOps(MemoryStore::Op::kPut), 0u);
  EXPECT_EQ(other_destination.CountOps(MemoryStore::Op::kDelete), 0u);
}

TEST_F(VolumeCopierTest, RenameKeepsTheUuidAndRewritesOnlyTheName) {
  MakeSourceVolume("vol", 3);
  VolumeCopyOptions o = Options("vol");
  o.destination_name = "moved";
  VolumeCopyReport report;
  ASSERT_OK(Copy(o, &report));
  ExpectSameObjects("vol", "moved", /*compare_meta=*/false);
  EXPECT_TRUE(destination_.Keys(VolumePrefix("vol")).empty());
  const Bytes meta_bytes = destination_.Peek(MetaKey("moved"));
  VolumeMeta original, moved;
  const Bytes source_meta = source_.Peek(MetaKey("vol"));
  ASSERT_OK(DecodeVolumeMetaObject(source_meta.data(), source_meta.size(), &original));
  ASSERT_OK(DecodeVolumeMetaObject(meta_bytes.data(), meta_bytes.size(), &moved));
  EXPECT_EQ(moved.name, "moved");
  EXPECT_EQ(moved.uuid, original.uuid);
  EXPECT_EQ(moved.size, original.size);
  EXPECT_EQ(moved.created_unix_ms, original.created_unix_ms);
  ASSERT_EQ(moved.codecs.size(), 1u);
  EXPECT_EQ(moved.codecs[0].name, "lz4");
  EXPECT_EQ(destination_.puts().back(), MetaKey("moved"));
}

TEST_F(VolumeCopierTest, ASecondVolumeWithTheSameUuidIsRefused) {
  MakeSourceVolume("vol", 2);
  ASSERT_OK(Copy(Options("vol")));
  VolumeCopyOptions o = Options("vol");
  o.destination_name = "twin";
  const auto puts = destination_.CountOps(MemoryStore::Op::kPut);
  Status st = Copy(o);
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("uuid"), std::string::npos) << st.message();
  EXPECT_EQ(destination_.CountOps(MemoryStore::Op::kPut), puts);

  // Within one store, a rename is the same situation: the source itself holds the uuid.
  VolumeCopier same_store(source_, source_, o);
  VolumeCopyReport report;
  st = same_store.Run(&report);
  ASSERT_TRUE(st.IsPrecondition()) << st.ToString();
  EXPECT_FALSE(source_.Has(MetaKey("twin")));
}

TEST_F(VolumeCopierTest, QuarantineTravelsOnlyOnRequest) {
  MakeSourceVolume("vol", 2);
  const std::string quarantined = QuarantineKey("vol", "seg", 3, 1700000000);
  source_.Poke(quarantined, DataObject(ObjectType::kSegment, MakeUuid(0xA1), 3, 40, 3));
  VolumeCopyReport report;
  ASSERT_OK(Copy(Options("vol"), &report));
  EXPECT_EQ(report.quarantine_left_out, 1u);
  EXPECT_FALSE(destination_.Has(quarantined));

  RecordingStore full;
  VolumeCopyOptions o = Options("vol");
  o.include_quarantine = true;
  VolumeCopier copier(source_, full, o);
  ASSERT_OK(copier.Run(&report));
  EXPECT_EQ(full.Peek(quarantined), source_.Peek(quarantined));
  EXPECT_EQ(report.quarantine_left_out, 0u);
}

TEST_F(VolumeCopierTest, BadRequestsAreRefused) {
  MakeSourceVolume("vol", 1);
  EXPECT_TRUE(Copy(Options("absent")).IsNotFound());
  VolumeCopyOptions bad_name = Options("vol");
  bad_name.destination_name = "../escape";
  EXPECT_EQ(Copy(bad_name).code(), Status::Code::kInvalid);
  EXPECT_EQ(Copy(Options("vol", 0)).code(), Status::Code::kInvalid);
  EXPECT_EQ(Copy(Options("vol", 65)).code(), Status::Code::kInvalid);
  VolumeCopier same(source_, source_, Options("vol"));
  VolumeCopyReport report;
  EXPECT_EQ(same.Run(&report).code(), Status::Code::kInvalid);
  // Objects without meta are not a volume to copy.
  source_.Poke(SegmentKey("half", 1), DataObject(ObjectType::kSegment, MakeUuid(3), 1, 10, 1));
  Status st = Copy(Options("half"));
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_NE(st.message().find("no volumes/half/meta"), std::string::npos) << st.message();
  EXPECT_TRUE(destination_.Keys().empty());
}

TEST_F(VolumeCopierTest, ReadErrorsStopTheCopyWithoutAVolume) {
  MakeSourceVolume("vol", 6);
  source_.FailNext(MemoryStore::Op::kGet, Status::Permanent("bad sector"), 1, SegmentKey("vol", 4));
  Status st = Copy(Options("vol", 2));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad sector"), std::string::npos) << st.message();
  EXPECT_FALSE(destination_.Has(MetaKey("vol")));
}

TEST_F(VolumeCopierTest, PacedCopyStillCompletes) {
  MakeSourceVolume("vol", 3);
  VolumeCopyOptions o = Options("vol");
  o.max_bytes_per_second = 1 << 20;  // a few KiB here: a few ms
  ASSERT_OK(Copy(o));
  ExpectSameObjects("vol", "vol");
}

}  // namespace
}  // namespace bp
