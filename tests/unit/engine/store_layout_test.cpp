// Store layout: every key is the one docs/format.md names, every parser takes back exactly what
// its builder made, and refuses anything else.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/store_layout.h"
#include "support/memory_store.h"
#include "support/status_assert.h"

namespace bp {
namespace {

const uint64_t kSeqs[] = {0, 1, 0x2a, 0xff, 0x0123456789abcdefull, UINT64_MAX};

TEST(StoreLayout, KeysAreTheDocumentedOnes) {
  EXPECT_EQ(VolumesPrefix(), "volumes/");
  EXPECT_EQ(VolumePrefix("db"), "volumes/db/");
  EXPECT_EQ(MetaKey("db"), "volumes/db/meta");
  EXPECT_EQ(OwnerKey("db"), "volumes/db/owner");
  EXPECT_EQ(SegmentPrefix("db"), "volumes/db/seg/");
  EXPECT_EQ(SegmentKey("db", 0x2a), "volumes/db/seg/000000000000002a");
  EXPECT_EQ(CheckpointPrefix("db"), "volumes/db/ckpt/");
  EXPECT_EQ(CheckpointKey("db", UINT64_MAX), "volumes/db/ckpt/ffffffffffffffff");
  EXPECT_EQ(QuarantinePrefix("db"), "volumes/db/quarantine/");
  EXPECT_EQ(QuarantineKey("db", kQuarantinedSegment, 3, 1700000000),
            "volumes/db/quarantine/seg-0000000000000003.1700000000");
  EXPECT_EQ(QuarantineKey("db", kQuarantinedCheckpoint, 0x10, 0),
            "volumes/db/quarantine/ckpt-0000000000000010.0");
}

TEST(StoreLayout, SeqKeysRoundTripAndSortBySeq) {
  std::string previous;
  for (uint64_t seq : kSeqs) {
    uint64_t back = 7;
    ASSERT_TRUE(ParseSeqKey(SegmentKey("v", seq), SegmentPrefix("v"), &back)) << seq;
    EXPECT_EQ(back, seq);
    ASSERT_TRUE(ParseSeqKey(CheckpointKey("v", seq), CheckpointPrefix("v"), &back)) << seq;
    EXPECT_EQ(back, seq);
    EXPECT_LT(previous, SegmentKey("v", seq));
    previous = SegmentKey("v", seq);
  }
}

TEST(StoreLayout, SeqKeysRefuseAnythingElse) {
  const std::string prefix = SegmentPrefix("v");
  const char* bad[] = {
      "",
      "volumes/v/seg/",                    // no digits
      "volumes/v/seg/000000000000002",     // 15 digits
      "volumes/v/seg/000000000000002a0",   // 17 digits
      "volumes/v/seg/000000000000002a/x",  // trailing junk
      "volumes/v/seg/000000000000002A",    // upper case
      "volumes/v/seg/00000000000000zz",    // not hex
      "volumes/v/seg/-00000000000002a",    // sign
      "volumes/v/seg/ 00000000000002a",    // space
      "volumes/v/ckpt/000000000000002a",   // a checkpoint
      "volumes/w/seg/000000000000002a",    // another volume
      "volumes/vv/seg/000000000000002a",   // a volume whose name starts like this one's
      "xvolumes/v/seg/000000000000002a",   // wrong root
  };
  for (const char* key : bad) {
    uint64_t seq = 99;
    EXPECT_FALSE(ParseSeqKey(key, prefix, &seq)) << key;
    EXPECT_EQ(seq, 99u) << key;
  }
  std::string with_nul = SegmentKey("v", 1);
  with_nul[with_nul.size() - 1] = '\0';
  uint64_t seq = 0;
  EXPECT_FALSE(ParseSeqKey(with_nul, prefix, &seq));
}

TEST(StoreLayout, MetaKeysNameValidVolumesOnly) {
  const std::string names[] = {"v", "data_01.img-x", std::string(64, 'a')};
  for (const std::string& name : names) {
    std::string back;
    ASSERT_TRUE(ParseMetaKey(MetaKey(name), &back)) << name;
    EXPECT_EQ(back, name);
  }
  const std::string bad[] = {
      "volumes/meta",
      "volumes//meta",     // empty name
      "volumes/a/b/meta",  // a name with a slash
      "volumes/a/seg/meta",
      "volumes/.a/meta",  // invalid names
      "volumes/-a/meta",
      "volumes/a b/meta",
      "volumes/" + std::string(65, 'a') + "/meta",
      "volumes/a/meta/",  // trailing junk
      "volumes/a/metadata",
      "volumes/a/meta.old",
      "volumes/a/owner",  // another object of the volume
      "Volumes/a/meta",   // wrong prefix
      "xvolumes/a/meta",
      "a/meta",
  };
  for (const auto& key : bad) {
    std::string name = "untouched";
    EXPECT_FALSE(ParseMetaKey(key, &name)) << key;
    EXPECT_EQ(name, "untouched") << key;
  }
}

TEST(StoreLayout, QuarantineKeysRoundTrip) {
  for (const std::string kind : {kQuarantinedSegment, kQuarantinedCheckpoint}) {
    for (uint64_t seq : kSeqs) {
      for (uint64_t seconds : {uint64_t{0}, uint64_t{1700000000}, UINT64_MAX}) {
        std::string k;
        uint64_t s = 0, t = 0;
        ASSERT_TRUE(ParseQuarantineKey("v", QuarantineKey("v", kind, seq, seconds), &k, &s, &t));
        EXPECT_EQ(k, kind);
        EXPECT_EQ(s, seq);
        EXPECT_EQ(t, seconds);
      }
    }
  }
}

TEST(StoreLayout, QuarantineKeysRefuseAnythingElse) {
  const char* bad[] = {
      "volumes/v/quarantine/",
      "volumes/v/quarantine/seg-0000000000000003",      // no time
      "volumes/v/quarantine/seg-0000000000000003.",     // empty time
      "volumes/v/quarantine/seg-0000000000000003.01",   // leading zero
      "volumes/v/quarantine/seg-0000000000000003.12x",  // trailing junk
      "volumes/v/quarantine/seg-0000000000000003.-1",
      "volumes/v/quarantine/seg-0000000000000003.18446744073709551616",  // 2^64
      "volumes/v/quarantine/seg-000000000000003.1",                      // 15 digits
      "volumes/v/quarantine/seg-00000000000000G3.1",                     // not hex
      "volumes/v/quarantine/seg_0000000000000003.1",                     // separator
      "volumes/v/quarantine/segment-0000000000000003.1",                 // kind
      "volumes/v/quarantine/meta-0000000000000003.1",
      "volumes/v/quarantine/x/seg-0000000000000003.1",
      "volumes/w/quarantine/seg-0000000000000003.1",  // another volume
      "volumes/v/seg/0000000000000003",
  };
  for (const char* key : bad) {
    std::string kind = "untouched";
    uint64_t seq = 99, seconds = 99;
    EXPECT_FALSE(ParseQuarantineKey("v", key, &kind, &seq, &seconds)) << key;
    EXPECT_EQ(kind, "untouched") << key;
    EXPECT_EQ(seq, 99u) << key;
    EXPECT_EQ(seconds, 99u) << key;
  }
}

TEST(StoreLayout, ClassifiesEveryObjectOfAVolume) {
  uint64_t seq = 0;
  EXPECT_EQ(ClassifyVolumeKey("v", MetaKey("v")), VolumeKeyKind::kMeta);
  EXPECT_EQ(ClassifyVolumeKey("v", OwnerKey("v")), VolumeKeyKind::kOwner);
  EXPECT_EQ(ClassifyVolumeKey("v", SegmentKey("v", 5), &seq), VolumeKeyKind::kSegment);
  EXPECT_EQ(seq, 5u);
  EXPECT_EQ(ClassifyVolumeKey("v", CheckpointKey("v", 6), &seq), VolumeKeyKind::kCheckpoint);
  EXPECT_EQ(seq, 6u);
  EXPECT_EQ(ClassifyVolumeKey("v", QuarantineKey("v", "seg", 7, 1)), VolumeKeyKind::kQuarantined);
  // Anything under quarantine/ is set aside, whatever its name.
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/quarantine/notes.txt"), VolumeKeyKind::kQuarantined);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/seg/zz"), VolumeKeyKind::kUnknown);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/seg/000000000000002a.tmp"), VolumeKeyKind::kUnknown);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/metadata"), VolumeKeyKind::kUnknown);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/owner.bak"), VolumeKeyKind::kUnknown);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v/quarantine"), VolumeKeyKind::kUnknown);
  EXPECT_EQ(ClassifyVolumeKey("v", MetaKey("vv")), VolumeKeyKind::kOutside);
  EXPECT_EQ(ClassifyVolumeKey("v", SegmentKey("w", 1)), VolumeKeyKind::kOutside);
  EXPECT_EQ(ClassifyVolumeKey("v", "volumes/v"), VolumeKeyKind::kOutside);
}

TEST(StoreLayout, RebasesKeysOntoAnotherVolume) {
  std::string out;
  ASSERT_TRUE(RebaseVolumeKey(SegmentKey("a", 9), "a", "b", &out));
  EXPECT_EQ(out, SegmentKey("b", 9));
  ASSERT_TRUE(RebaseVolumeKey(QuarantineKey("a", "ckpt", 2, 3), "a", "bb", &out));
  EXPECT_EQ(out, QuarantineKey("bb", "ckpt", 2, 3));
  out = "untouched";
  EXPECT_FALSE(RebaseVolumeKey(SegmentKey("ab", 9), "a", "b", &out));
  EXPECT_FALSE(RebaseVolumeKey("volumes/a", "a", "b", &out));
  EXPECT_EQ(out, "untouched");
}

TEST(StoreLayout, VolumeNames) {
  EXPECT_TRUE(IsValidVolumeName("data_01.img-x"));
  EXPECT_TRUE(IsValidVolumeName(std::string(64, 'z')));
  for (const std::string bad : {"", ".a", "-a", "a/b", "a b", "a\\b", "é"}) {
    EXPECT_FALSE(IsValidVolumeName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidVolumeName(std::string(65, 'z')));
}

TEST(StoreLayout, ListVolumeNamesFindsTheVolumesOnly) {
  MemoryStore store;
  const Bytes x{1};
  const std::string keys[] = {
      MetaKey("zeta"),          SegmentKey("zeta", 1),   MetaKey("alpha"),   OwnerKey("alpha"),
      MetaKey("m.1"),           SegmentKey("orphan", 1), "volumes/a/b/meta", "volumes/.x/meta",
      "volumes/alpha/meta.old", "other/c/meta",
  };
  for (const std::string& key : keys) {
    store.Poke(key, x);
  }
  std::vector<std::string> names{"stale"};
  const Status st = ListVolumeNames(store, &names);
  ASSERT_OK(st);
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "m.1", "zeta"}));
}

}  // namespace
}  // namespace bp
