// ExportCatalog over the host's real volume API: listing and the allow-list, name resolution,
// what Open advertises (flags, sizes, read-only), and VolumeHandle's ownership of the reference,
// which is what lets the host refuse to delete a volume a client is using.
#include <gtest/gtest.h>

#include <algorithm>

#include "export_catalog.h"
#include "nbd_protocol.h"
#include "support/identity_volumes.h"
#include "support/status_assert.h"

namespace bpnbd::test {
namespace {

class ExportCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(volumes_.status()); }
  bptest::IdentityVolumes volumes_{
      {{"default", 1u << 20}, {"alpha", 64u << 10}, {"beta", 8u << 20}}};
};

std::vector<std::string> Names(const std::vector<ExportEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(ExportCatalogTest, ListsEveryVolumeWithItsSize) {
  ExportCatalog catalog(volumes_.api(), {}, false);
  std::vector<ExportEntry> entries;
  ASSERT_TRUE(catalog.List(&entries));
  EXPECT_EQ(Names(entries), (std::vector<std::string>{"alpha", "beta", "default"}));
  for (const auto& e : entries) {
    if (e.name == "beta") {
      EXPECT_EQ(e.size, 8u << 20);
    }
  }
}

TEST_F(ExportCatalogTest, AllowListFiltersListResolveAndOpen) {
  ExportCatalog catalog(volumes_.api(), {"beta", "missing"}, false);
  std::vector<ExportEntry> entries;
  ASSERT_TRUE(catalog.List(&entries));
  EXPECT_EQ(Names(entries), (std::vector<std::string>{"beta"}));
  std::string volume;
  EXPECT_TRUE(catalog.Resolve("beta", &volume));
  EXPECT_EQ(volume, "beta");
  EXPECT_FALSE(catalog.Resolve("alpha", &volume));
  EXPECT_FALSE(catalog.Resolve("", &volume)) << "\"\" is \"default\", which is not allowed";
}

TEST_F(ExportCatalogTest, SnapshotExportsFollowTheirVolumesAllowList) {
  ExportCatalog catalog(volumes_.api(), {"beta"}, false);
  std::string volume;
  EXPECT_TRUE(catalog.Resolve("beta@nightly", &volume));
  EXPECT_EQ(volume, "beta@nightly");
  EXPECT_FALSE(catalog.Resolve("alpha@nightly", &volume));
  EXPECT_FALSE(catalog.Resolve("betax@nightly", &volume));
}

TEST_F(ExportCatalogTest, ResolveMapsEmptyNameAndRefusesOverlongNames) {
  ExportCatalog catalog(volumes_.api(), {}, false);
  std::string volume;
  EXPECT_TRUE(catalog.Resolve("", &volume));
  EXPECT_EQ(volume, "default");
  EXPECT_FALSE(catalog.Resolve(std::string(kMaxStringLength + 1, 'a'), &volume));
}

TEST_F(ExportCatalogTest, OpenDescribesTheVolume) {
  ExportCatalog catalog(volumes_.api(), {}, false);
  VolumeHandle handle;
  ExportInfo info;
  std::string error;
  ASSERT_TRUE(catalog.Open("beta", &handle, &info, &error)) << error;
  EXPECT_TRUE(handle);
  EXPECT_EQ(info.name, "beta");
  EXPECT_EQ(info.size, 8u << 20);
  EXPECT_FALSE(info.read_only);
  EXPECT_EQ(info.min_block, 1u);
  EXPECT_EQ(info.preferred_block, 4096u);
  EXPECT_GE(info.max_payload, 32u << 20);
  EXPECT_LE(info.preferred_block, info.max_payload);
  const uint16_t expected = kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim |
                            kTxSendWriteZeroes | kTxSendFastZero | kTxSendCache | kTxCanMultiConn;
  EXPECT_EQ(info.transmission_flags, expected);
}

TEST_F(ExportCatalogTest, ReadOnlyCatalogHidesWriteCapabilities) {
  ExportCatalog catalog(volumes_.api(), {}, true);
  VolumeHandle handle;
  ExportInfo info;
  std::string error;
  ASSERT_TRUE(catalog.Open("alpha", &handle, &info, &error)) << error;
  EXPECT_TRUE(info.read_only);
  EXPECT_TRUE(info.transmission_flags & kTxReadOnly);
  EXPECT_EQ(info.transmission_flags & (kTxSendTrim | kTxSendWriteZeroes | kTxSendFastZero), 0);
  EXPECT_TRUE(info.transmission_flags & kTxSendFlush);
}

TEST_F(ExportCatalogTest, OpenUnknownVolumeFailsNamingIt) {
  ExportCatalog catalog(volumes_.api(), {}, false);
  VolumeHandle handle;
  ExportInfo info;
  std::string error;
  EXPECT_FALSE(catalog.Open("nope", &handle, &info, &error));
  EXPECT_FALSE(handle);
  EXPECT_NE(error.find("no export named \"nope\""), std::string::npos) << error;
}

TEST_F(ExportCatalogTest, HandleHoldsTheReferenceUntilClosedOrMovedAway) {
  ExportCatalog catalog(volumes_.api(), {}, false);
  VolumeHandle first;
  ExportInfo info;
  std::string error;
  ASSERT_TRUE(catalog.Open("alpha", &first, &info, &error)) << error;
  EXPECT_EQ(volumes_.References("alpha"), 1u);
  EXPECT_FALSE(volumes_.manager().Delete("alpha").ok()) << "deleted while a client holds it";

  VolumeHandle moved(std::move(first));
  EXPECT_FALSE(first);
  EXPECT_TRUE(moved);
  EXPECT_EQ(volumes_.References("alpha"), 1u);
  {
    VolumeHandle scoped;
    ASSERT_TRUE(catalog.Open("alpha", &scoped, &info, &error)) << error;
    EXPECT_EQ(volumes_.References("alpha"), 2u);
  }
  EXPECT_EQ(volumes_.References("alpha"), 1u);
  moved.Close();
  moved.Close();  // idempotent
  EXPECT_EQ(volumes_.References("alpha"), 0u);

  bp::Status deleted = volumes_.manager().Delete("alpha");
  EXPECT_OK(deleted);
  EXPECT_FALSE(catalog.Open("alpha", &moved, &info, &error));
}

}  // namespace
}  // namespace bpnbd::test
