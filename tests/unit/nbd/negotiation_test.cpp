// bpnbd::Negotiation over the host's real volume API (VolumeManager on an in-memory store):
// every option the frontend implements, the refusals the spec prescribes, and that references
// to volumes are held exactly as long as they should be (INFO releases, GO keeps).
#include <gtest/gtest.h>

#include <algorithm>

#include "export_catalog.h"
#include "nbd_test_util.h"
#include "negotiation.h"
#include "support/identity_volumes.h"
#include "support/status_assert.h"

namespace bpnbd::test {
namespace {

constexpr uint32_t kBothFlags = kClientFlagFixedNewstyle | kClientFlagNoZeroes;

class NegotiationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(volumes_.status()); }

  Negotiation::Next Send(Negotiation& n, uint32_t option, const Bytes& data) {
    out_.clear();
    return n.HandleOption(option, data.data(), data.size(), &out_);
  }

  bptest::IdentityVolumes volumes_{{{"default", 1u << 20}, {"alpha", 64u << 10}}};
  ExportCatalog catalog_{volumes_.api(), {}, false};
  Bytes out_;
};

TEST_F(NegotiationTest, GoEntersTransmissionWithInfoBlockSizeAndAck) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData("alpha", {kInfoName})), Negotiation::Next::kTransmission);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].type, kRepInfo);
  ASSERT_EQ(replies[0].payload.size(), 12u);
  EXPECT_EQ(LoadBe16(replies[0].payload.data()), kInfoExport);
  EXPECT_EQ(LoadBe64(replies[0].payload.data() + 2), 64u << 10);
  const uint16_t flags = LoadBe16(replies[0].payload.data() + 10);
  EXPECT_TRUE(flags & kTxHasFlags);
  EXPECT_TRUE(flags & kTxSendFlush);
  EXPECT_TRUE(flags & kTxSendFua);
  EXPECT_TRUE(flags & kTxSendTrim);
  EXPECT_TRUE(flags & kTxSendWriteZeroes);
  EXPECT_TRUE(flags & kTxCanMultiConn);
  EXPECT_FALSE(flags & kTxReadOnly);

  EXPECT_EQ(LoadBe16(replies[1].payload.data()), kInfoName);
  EXPECT_EQ(std::string(replies[1].payload.begin() + 2, replies[1].payload.end()), "alpha");

  ASSERT_EQ(replies[2].payload.size(), 14u);
  EXPECT_EQ(LoadBe16(replies[2].payload.data()), kInfoBlockSize);
  EXPECT_EQ(LoadBe32(replies[2].payload.data() + 2), 1u);
  EXPECT_EQ(LoadBe32(replies[2].payload.data() + 6), 4096u);
  EXPECT_GE(LoadBe32(replies[2].payload.data() + 10), 32u << 20);
  EXPECT_EQ(replies[3].type, kRepAck);
  for (const auto& r : replies) EXPECT_EQ(r.option, kOptGo);

  EXPECT_EQ(n.export_info().name, "alpha");
  EXPECT_EQ(n.export_info().transmission_flags, flags);
  VolumeHandle volume = n.TakeVolume();
  EXPECT_TRUE(volume);
  EXPECT_EQ(volumes_.References("alpha"), 1u);
  volume.Close();
  EXPECT_EQ(volumes_.References("alpha"), 0u);
}

TEST_F(NegotiationTest, EmptyNameMeansTheDefaultVolume) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData("")), Negotiation::Next::kTransmission);
  EXPECT_EQ(n.export_info().name, "default");
  EXPECT_EQ(n.export_info().size, 1u << 20);
}

TEST_F(NegotiationTest, InfoContinuesAndReleasesItsReference) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptInfo, InfoData("default")), Negotiation::Next::kContinue);
  auto replies = ParseReplies(out_);
  ASSERT_FALSE(replies.empty());
  EXPECT_EQ(replies.back().type, kRepAck);
  EXPECT_EQ(volumes_.References("default"), 0u);
  // The same connection can go on to use the export.
  EXPECT_EQ(Send(n, kOptGo, InfoData("default")), Negotiation::Next::kTransmission);
}

TEST_F(NegotiationTest, UnknownExportIsErrUnknownAndNegotiationContinues) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData("nope")), Negotiation::Next::kContinue);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrUnknown);
  EXPECT_NE(replies[0].text().find("nope"), std::string::npos);
  EXPECT_FALSE(n.diagnostic().empty());
}

TEST_F(NegotiationTest, ErrorMessagesStayWithinTheSpecsStringLimit) {
  // A 4096-byte name is a legal string; quoting it must not make the reply's message longer.
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData(std::string(kMaxStringLength, 'x'))),
            Negotiation::Next::kContinue);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrUnknown);
  EXPECT_LE(replies[0].payload.size(), kMaxStringLength);
}

TEST_F(NegotiationTest, MalformedInfoRequestsAreErrInvalid) {
  Negotiation n(&catalog_, kBothFlags);
  Bytes too_short = {0, 0, 0};
  Bytes name_too_long = InfoData("default");
  StoreBe32(name_too_long.data(), 1000);
  Bytes count_mismatch = InfoData("default", {kInfoName});
  count_mismatch.pop_back();
  Bytes trailing = InfoData("default");
  trailing.push_back(0);
  for (const Bytes& data : {too_short, name_too_long, count_mismatch, trailing}) {
    EXPECT_EQ(Send(n, kOptInfo, data), Negotiation::Next::kContinue);
    auto replies = ParseReplies(out_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].type, kRepErrInvalid);
  }
}

TEST_F(NegotiationTest, NameWithNulIsNotAnExport) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData(std::string("default\0x", 9))), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrUnknown);
}

TEST_F(NegotiationTest, ListNamesEveryVolumeThenAcks) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptList, {}), Negotiation::Next::kContinue);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 3u);
  std::vector<std::string> names;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(replies[i].type, kRepServer);
    uint32_t length = LoadBe32(replies[i].payload.data());
    ASSERT_LE(length + 4u, replies[i].payload.size());
    names.emplace_back(replies[i].payload.begin() + 4, replies[i].payload.begin() + 4 + length);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "default"}));
  EXPECT_EQ(replies[2].type, kRepAck);
}

TEST_F(NegotiationTest, ListWithDataIsErrInvalid) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptList, {1}), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrInvalid);
}

TEST_F(NegotiationTest, UnknownOptionsAreErrUnsupAndNegotiationContinues) {
  Negotiation n(&catalog_, kBothFlags);
  for (uint32_t option : {uint32_t{4}, uint32_t{12}, uint32_t{0xdeadbeef}}) {
    EXPECT_EQ(Send(n, option, {}), Negotiation::Next::kContinue) << option;
    auto replies = ParseReplies(out_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].option, option);
    EXPECT_EQ(replies[0].type, kRepErrUnsup);
  }
  EXPECT_EQ(Send(n, kOptGo, InfoData("default")), Negotiation::Next::kTransmission);
  EXPECT_FALSE(n.features().structured);
}

// LIST/SET_META_CONTEXT data: name, then queries.
Bytes MetaData(const std::string& name, const std::vector<std::string>& queries) {
  Bytes out(4);
  StoreBe32(out.data(), static_cast<uint32_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  uint8_t b[4];
  StoreBe32(b, static_cast<uint32_t>(queries.size()));
  out.insert(out.end(), b, b + 4);
  for (const std::string& q : queries) {
    StoreBe32(b, static_cast<uint32_t>(q.size()));
    out.insert(out.end(), b, b + 4);
    out.insert(out.end(), q.begin(), q.end());
  }
  return out;
}

TEST_F(NegotiationTest, StructuredRepliesAndBaseAllocationReachTransmission) {
  Negotiation n(&catalog_, kBothFlags);
  // SET before STRUCTURED_REPLY is refused.
  Send(n, kOptSetMetaContext, MetaData("alpha", {"base:allocation"}));
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrInvalid);
  Send(n, kOptStructuredReply, {1});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrInvalid) << "data is invalid";
  Send(n, kOptStructuredReply, {});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepAck);
  Send(n, kOptListMetaContext, MetaData("alpha", {"base:", "x-other:foo"}));
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].type, kRepMetaContext);
  EXPECT_EQ(std::string(replies[0].payload.begin() + 4, replies[0].payload.end()),
            "base:allocation");
  // "base:" selects nothing in SET; a malformed count is invalid.
  Send(n, kOptSetMetaContext, MetaData("alpha", {"base:"}));
  EXPECT_EQ(ParseReplies(out_).size(), 1u);
  Bytes bad = MetaData("alpha", {"base:allocation"});
  bad.pop_back();
  Send(n, kOptSetMetaContext, bad);
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrInvalid);
  Send(n, kOptSetMetaContext, MetaData("alpha", {"base:allocation"}));
  replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_NE(LoadBe32(replies[0].payload.data()), 0u);
  EXPECT_EQ(Send(n, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
  EXPECT_TRUE(n.features().structured);
  EXPECT_FALSE(n.features().extended);
  EXPECT_NE(n.features().allocation_context, 0u);
}

TEST_F(NegotiationTest, MetaContextForAnotherExportIsNotActive) {
  Negotiation n(&catalog_, kBothFlags);
  Send(n, kOptStructuredReply, {});
  Send(n, kOptSetMetaContext, MetaData("alpha", {"base:allocation"}));
  EXPECT_EQ(Send(n, kOptGo, InfoData("default")), Negotiation::Next::kTransmission);
  EXPECT_EQ(n.features().allocation_context, 0u);
}

TEST_F(NegotiationTest, ExtendedHeadersTakePrecedenceAndForbidExportName) {
  Negotiation n(&catalog_, kBothFlags);
  Send(n, kOptExtendedHeaders, {});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepAck);
  Send(n, kOptStructuredReply, {});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrExtHeaderReqd);
  Bytes name{'a', 'l', 'p', 'h', 'a'};
  Negotiation m(&catalog_, kBothFlags);
  Send(m, kOptExtendedHeaders, {});
  EXPECT_EQ(Send(m, kOptExportName, name), Negotiation::Next::kClose);
  EXPECT_EQ(Send(n, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
  EXPECT_TRUE(n.features().extended);
  EXPECT_TRUE(n.features().structured);
}

TEST_F(NegotiationTest, StartTlsFollowsTheTlsMode) {
  Negotiation off(&catalog_, kBothFlags, TlsMode::kOff);
  EXPECT_EQ(Send(off, kOptStartTls, {}), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrPolicy);

  Negotiation req(&catalog_, kBothFlags, TlsMode::kRequire);
  for (uint32_t option : {kOptList, kOptInfo, kOptGo, kOptStructuredReply, uint32_t{0x4242}}) {
    EXPECT_EQ(Send(req, option, {}), Negotiation::Next::kContinue);
    auto replies = ParseReplies(out_);
    ASSERT_EQ(replies.size(), 1u) << option;
    EXPECT_EQ(replies[0].type, kRepErrTlsReqd) << option;
  }
  Bytes name{'a', 'l', 'p', 'h', 'a'};
  Negotiation req2(&catalog_, kBothFlags, TlsMode::kRequire);
  EXPECT_EQ(Send(req2, kOptExportName, name), Negotiation::Next::kClose);
  Send(req, kOptStartTls, {1});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrInvalid);
  Send(req, kOptStructuredReply, {});
  EXPECT_EQ(Send(req, kOptStartTls, {}), Negotiation::Next::kStartTls);
  EXPECT_EQ(ParseReplies(out_).back().type, kRepAck);
  req.TlsEstablished("alice");
  Send(req, kOptStartTls, {});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrInvalid) << "TLS twice";
  EXPECT_EQ(Send(req, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
  EXPECT_FALSE(req.features().structured) << "structured replies from before TLS survived";
}

TEST_F(NegotiationTest, StartTlsForgetsExtendedHeadersAndMetaContexts) {
  // SELECTIVETLS: options negotiated in the clear are accepted, then STARTTLS drops them all.
  Negotiation n(&catalog_, kBothFlags, TlsMode::kOn);
  Send(n, kOptExtendedHeaders, {});
  EXPECT_EQ(ParseReplies(out_).back().type, kRepAck);
  Send(n, kOptSetMetaContext, MetaData("alpha", {"base:allocation"}));
  EXPECT_EQ(ParseReplies(out_).back().type, kRepAck);
  EXPECT_EQ(Send(n, kOptStartTls, {}), Negotiation::Next::kStartTls);
  n.TlsEstablished("alice");
  // EXPORT_NAME is allowed again: extended headers are no longer in force.
  EXPECT_EQ(Send(n, kOptExportName, Text("alpha")), Negotiation::Next::kTransmission);
  EXPECT_FALSE(n.features().extended);
  EXPECT_FALSE(n.features().structured);
  EXPECT_EQ(n.features().allocation_context, 0u);

  Negotiation m(&catalog_, kBothFlags, TlsMode::kOn);
  Send(m, kOptStructuredReply, {});
  Send(m, kOptSetMetaContext, MetaData("alpha", {"base:allocation"}));
  EXPECT_EQ(Send(m, kOptStartTls, {}), Negotiation::Next::kStartTls);
  m.TlsEstablished("alice");
  Send(m, kOptExtendedHeaders, {});
  EXPECT_EQ(Send(m, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
  EXPECT_TRUE(m.features().extended);
  EXPECT_EQ(m.features().allocation_context, 0u) << "a meta context from before TLS survived";
}

TEST_F(NegotiationTest, AllowedClientsHideAndRefuseExports) {
  ExportCatalog rules{volumes_.api(), {}, false, {{"alpha", {"alice", "backup"}}}};
  Negotiation plain(&rules, kBothFlags, TlsMode::kOn);
  Send(plain, kOptList, {});
  for (const auto& r : ParseReplies(out_)) {
    if (r.type == kRepServer) {
      EXPECT_EQ(
          std::string(r.payload.begin() + 4, r.payload.begin() + 4 + LoadBe32(r.payload.data())),
          "default");
    }
  }
  Send(plain, kOptGo, InfoData("alpha"));
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrTlsReqd);
  Negotiation mallory(&rules, kBothFlags, TlsMode::kOn);
  mallory.TlsEstablished("mallory");
  Send(mallory, kOptGo, InfoData("alpha"));
  EXPECT_EQ(ParseReplies(out_).back().type, kRepErrPolicy);
  Negotiation backup(&rules, kBothFlags, TlsMode::kOn);
  backup.TlsEstablished("CN=backup,O=Example", "backup");
  EXPECT_EQ(Send(backup, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
}

TEST_F(NegotiationTest, AbortIsAckedThenClosed) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptAbort, {}), Negotiation::Next::kClose);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepAck);
  EXPECT_TRUE(replies[0].payload.empty());
}

TEST_F(NegotiationTest, ExportNameRepliesSizeFlagsAndZeroPadding) {
  Negotiation padded(&catalog_, kClientFlagFixedNewstyle);
  EXPECT_EQ(Send(padded, kOptExportName, Text("alpha")), Negotiation::Next::kTransmission);
  ASSERT_EQ(out_.size(), 8u + 2u + 124u);
  EXPECT_EQ(LoadBe64(out_.data()), 64u << 10);
  EXPECT_EQ(LoadBe16(out_.data() + 8), padded.export_info().transmission_flags);
  EXPECT_TRUE(std::all_of(out_.begin() + 10, out_.end(), [](uint8_t b) { return b == 0; }));

  Negotiation compact(&catalog_, kBothFlags);
  EXPECT_EQ(Send(compact, kOptExportName, {}), Negotiation::Next::kTransmission);
  EXPECT_EQ(out_.size(), 10u);
  EXPECT_EQ(compact.export_info().name, "default");
}

TEST_F(NegotiationTest, ExportNameOfUnknownVolumeClosesWithoutReply) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(Send(n, kOptExportName, Text("nope")), Negotiation::Next::kClose);
  EXPECT_TRUE(out_.empty());
  EXPECT_NE(n.diagnostic().find("nope"), std::string::npos);
}

TEST_F(NegotiationTest, ClientWithoutFixedNewstyleMaySendOnlyExportName) {
  Negotiation n(&catalog_, 0);
  EXPECT_EQ(Send(n, kOptList, {}), Negotiation::Next::kClose);
  EXPECT_TRUE(out_.empty());
  Negotiation m(&catalog_, 0);
  EXPECT_EQ(Send(m, kOptExportName, Text("default")), Negotiation::Next::kTransmission);
}

TEST_F(NegotiationTest, ShuttingDownRefusesEverythingButAbort) {
  Negotiation n(&catalog_, kBothFlags);
  n.SetShuttingDown();
  for (uint32_t option : {kOptList, kOptInfo, kOptGo}) {
    EXPECT_EQ(Send(n, option, InfoData("default")), Negotiation::Next::kContinue);
    EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrShutdown);
  }
  EXPECT_EQ(Send(n, kOptExportName, Text("default")), Negotiation::Next::kClose);
  EXPECT_EQ(Send(n, kOptAbort, {}), Negotiation::Next::kClose);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepAck);
  EXPECT_EQ(volumes_.References("default"), 0u);
}

TEST_F(NegotiationTest, OversizedOptionsAreRefusedOrClosed) {
  Negotiation n(&catalog_, kBothFlags);
  EXPECT_EQ(n.HandleOversizedOption(kOptGo, &out_), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrInvalid);
  out_.clear();
  EXPECT_EQ(n.HandleOversizedOption(77, &out_), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrUnsup);
  out_.clear();
  EXPECT_EQ(n.HandleOversizedOption(kOptExportName, &out_), Negotiation::Next::kClose);
  EXPECT_TRUE(out_.empty());
}

TEST_F(NegotiationTest, AllowListHidesOtherVolumes) {
  ExportCatalog only_alpha(volumes_.api(), {"alpha"}, false);
  Negotiation n(&only_alpha, kBothFlags);
  EXPECT_EQ(Send(n, kOptList, {}), Negotiation::Next::kContinue);
  auto replies = ParseReplies(out_);
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_EQ(LoadBe32(replies[0].payload.data()), 5u);
  EXPECT_EQ(std::string(replies[0].payload.begin() + 4, replies[0].payload.begin() + 9), "alpha");
  // "" maps to "default", which the list does not allow.
  EXPECT_EQ(Send(n, kOptGo, InfoData("")), Negotiation::Next::kContinue);
  EXPECT_EQ(ParseReplies(out_).at(0).type, kRepErrUnknown);
  EXPECT_EQ(Send(n, kOptGo, InfoData("alpha")), Negotiation::Next::kTransmission);
}

TEST_F(NegotiationTest, ReadOnlyCatalogAdvertisesNoWrites) {
  ExportCatalog read_only(volumes_.api(), {}, true);
  Negotiation n(&read_only, kBothFlags);
  EXPECT_EQ(Send(n, kOptGo, InfoData("default")), Negotiation::Next::kTransmission);
  const uint16_t flags = n.export_info().transmission_flags;
  EXPECT_TRUE(flags & kTxReadOnly);
  EXPECT_FALSE(flags & (kTxSendTrim | kTxSendWriteZeroes | kTxSendFastZero));
  EXPECT_TRUE(n.export_info().read_only);
}

TEST(AppendOptionReply, WritesHeaderAndPayload) {
  Bytes out;
  AppendOptionReply(&out, kOptGo, kRepErrPolicy, "no", 2);
  ASSERT_EQ(out.size(), 22u);
  EXPECT_EQ(LoadBe64(out.data()), kOptReplyMagic);
  EXPECT_EQ(LoadBe32(out.data() + 8), kOptGo);
  EXPECT_EQ(LoadBe32(out.data() + 12), kRepErrPolicy);
  EXPECT_EQ(LoadBe32(out.data() + 16), 2u);
  EXPECT_EQ(out[20], 'n');
}

}  // namespace
}  // namespace bpnbd::test
