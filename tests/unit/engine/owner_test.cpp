// Volume ownership: the owner record's bytes, the decision a writable open makes from it, and
// the managers around it — a second data dir is refused without touching the store, the same
// data dir takes its volumes back after a crash, a clean shutdown releases, a take-over wins
// the volume and the old writer is fenced at its next upload, and a volume copy leaves the
// record behind. Races for the record (two claims, two take-overs, a release against a
// take-over) have exactly one winner through put-if-match. Also the data dir's writer-id file.
#include <gmock/gmock.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "engine/volume_copier.h"
#include "engine/volume_meta.h"
#include "engine/volume_owner.h"
#include "engine/writer_identity.h"
#include "engine_test_util.h"
#include "pipeline/retrying_store.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

constexpr char kOtherId[] = "ffeeddccbbaa99887766554433221100";

OwnerRecord SampleRecord() {
  OwnerRecord r;
  r.state = OwnerState::kActive;
  r.writer_id = "0123456789abcdef0123456789abcdef";
  r.claim_id = 0x1122334455667788ull;
  r.hostname = "db1.example";
  r.pid = 4242;
  r.since_unix_ms = 1700000000123ull;
  return r;
}

Uuid SampleUuid() {
  Uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(i * 17 + 3);
  return u;
}

OwnerRecord Decoded(const Bytes& object, Uuid* uuid = nullptr) {
  Uuid u{};
  OwnerRecord r;
  Status s = DecodeOwnerObject(object.data(), object.size(), &u, &r);
  EXPECT_OK(s);
  if (uuid != nullptr) *uuid = u;
  return r;
}

Uuid VolumeUuid(MemoryStore& store, const std::string& name) {
  VolumeMeta meta;
  Bytes object = store.Peek(MetaKey(name));
  EXPECT_OK(DecodeVolumeMetaObject(object.data(), object.size(), &meta));
  return meta.uuid;
}

// A second daemon on the same store with its own data dir.
struct OtherHost {
  test::TestCodecFactory codecs;
  std::unique_ptr<VolumeManager> manager;
  OtherHost(std::shared_ptr<MemoryStore> store, std::vector<std::string> take_over = {}) {
    EngineOptions o = test::SmallOptions();
    o.writer_id = kOtherId;
    o.take_over = std::move(take_over);
    manager = std::make_unique<VolumeManager>(store, &codecs, o);
  }
};

// ---- format ----

TEST(OwnerFormat, RoundTripsEveryField) {
  const OwnerRecord in = SampleRecord();
  const Bytes object = EncodeOwnerObject(SampleUuid(), in);
  ASSERT_GE(object.size(), kObjectHeaderLength);
  EXPECT_EQ(std::string(object.begin(), object.begin() + 4), "BPOW");
  Uuid uuid{};
  OwnerRecord out = Decoded(object, &uuid);
  EXPECT_EQ(uuid, SampleUuid());
  EXPECT_EQ(out.state, in.state);
  EXPECT_EQ(out.writer_id, in.writer_id);
  EXPECT_EQ(out.claim_id, in.claim_id);
  EXPECT_EQ(out.hostname, in.hostname);
  EXPECT_EQ(out.pid, in.pid);
  EXPECT_EQ(out.since_unix_ms, in.since_unix_ms);
  OwnerRecord released = in;
  released.state = OwnerState::kReleased;
  EXPECT_EQ(Decoded(EncodeOwnerObject(SampleUuid(), released)).state, OwnerState::kReleased);
}

TEST(OwnerFormat, EveryFlippedByteIsRefused) {
  const Bytes object = EncodeOwnerObject(SampleUuid(), SampleRecord());
  for (size_t i = 0; i < object.size(); ++i) {
    Bytes bad = object;
    bad[i] ^= 0x40;
    Uuid uuid{};
    OwnerRecord r;
    Status s = DecodeOwnerObject(bad.data(), bad.size(), &uuid, &r);
    EXPECT_FALSE(s.ok()) << "byte " << i;
  }
}

TEST(OwnerFormat, TruncatedAndForeignObjectsAreCorrupt) {
  const Bytes object = EncodeOwnerObject(SampleUuid(), SampleRecord());
  Uuid uuid{};
  OwnerRecord r;
  for (size_t n : {size_t{0}, size_t{10}, size_t{kObjectHeaderLength}, object.size() - 1}) {
    EXPECT_TRUE(DecodeOwnerObject(object.data(), n, &uuid, &r).IsCorrupt()) << n;
  }
  VolumeMeta meta;
  meta.name = "v";
  meta.size = 1 << 20;
  const Bytes not_owner = EncodeVolumeMetaObject(meta);
  Status s = DecodeOwnerObject(not_owner.data(), not_owner.size(), &uuid, &r);
  EXPECT_TRUE(s.IsCorrupt()) << s.ToString();
  EXPECT_NE(s.message().find("bad magic"), std::string::npos) << s.message();
}

TEST(OwnerFormat, UnknownStateIsCorrupt) {
  OwnerRecord r = SampleRecord();
  r.state = static_cast<OwnerState>(7);
  const Bytes object = EncodeOwnerObject(SampleUuid(), r);
  Uuid uuid{};
  OwnerRecord out;
  Status s = DecodeOwnerObject(object.data(), object.size(), &uuid, &out);
  EXPECT_TRUE(s.IsCorrupt());
  EXPECT_NE(s.message().find("state 7"), std::string::npos) << s.message();
}

TEST(OwnerFormat, KeyAndDescription) {
  EXPECT_EQ(OwnerKey("db"), "volumes/db/owner");
  const std::string text = DescribeOwner(SampleRecord());
  EXPECT_NE(text.find("host db1.example"), std::string::npos) << text;
  EXPECT_NE(text.find("data dir id 0123456789abcdef0123456789abcdef"), std::string::npos) << text;
  EXPECT_NE(text.find("pid 4242"), std::string::npos) << text;
  EXPECT_NE(text.find("2023-11-14 22:13:20 UTC"), std::string::npos) << text;
}

// ---- the decision ----

TEST(OwnerDecide, Table) {
  const std::string me = "0123456789abcdef0123456789abcdef";
  OwnerFinding none;
  EXPECT_EQ(DecideOwnership(none, me, false), OwnerDecision::kTake);

  OwnerFinding mine;
  mine.present = true;
  mine.record = SampleRecord();
  EXPECT_EQ(DecideOwnership(mine, me, false), OwnerDecision::kTake);  // crash + restart

  OwnerFinding theirs = mine;
  theirs.record.writer_id = kOtherId;
  EXPECT_EQ(DecideOwnership(theirs, me, false), OwnerDecision::kRefuse);
  EXPECT_EQ(DecideOwnership(theirs, me, true), OwnerDecision::kTakeOver);

  OwnerFinding released = theirs;
  released.record.state = OwnerState::kReleased;
  EXPECT_EQ(DecideOwnership(released, me, false), OwnerDecision::kTake);

  OwnerFinding leftover = theirs;
  leftover.foreign = true;  // a record of an earlier volume of this name
  EXPECT_EQ(DecideOwnership(leftover, me, false), OwnerDecision::kTake);

  OwnerFinding unreadable;
  unreadable.present = true;
  unreadable.unreadable = Status::Corrupt("owner record checksum mismatch");
  EXPECT_EQ(DecideOwnership(unreadable, me, false), OwnerDecision::kRefuse);
  EXPECT_EQ(DecideOwnership(unreadable, me, true), OwnerDecision::kTakeOver);
}

TEST(OwnerDecide, TakeOverCoversNamesAndAll) {
  EXPECT_FALSE(TakeOverCovers({}, "a"));
  EXPECT_TRUE(TakeOverCovers({"a"}, "a"));
  EXPECT_FALSE(TakeOverCovers({"a"}, "b"));
  EXPECT_TRUE(TakeOverCovers({"x", "all"}, "b"));
}

// ---- managers on one store ----

TEST(Ownership, CreateClaimsAndCleanShutdownReleases) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  Uuid uuid{};
  OwnerRecord active = Decoded(h.store->Peek(OwnerKey("v")), &uuid);
  EXPECT_EQ(uuid, VolumeUuid(*h.store, "v"));
  EXPECT_EQ(active.state, OwnerState::kActive);
  EXPECT_EQ(active.writer_id, test::SmallOptions().writer_id);
  EXPECT_EQ(active.pid, static_cast<uint32_t>(::getpid()));
  EXPECT_FALSE(active.hostname.empty());
  ASSERT_OK(h.manager->Shutdown());
  OwnerRecord released = Decoded(h.store->Peek(OwnerKey("v")));
  EXPECT_EQ(released.state, OwnerState::kReleased);
  EXPECT_EQ(released.claim_id, active.claim_id);

  // Released: another data dir opens it without any override, and owns it now.
  OtherHost other(h.store);
  ASSERT_OK(other.manager->OpenAll());
  EXPECT_EQ(Decoded(h.store->Peek(OwnerKey("v"))).writer_id, kOtherId);
}

TEST(Ownership, AnotherDataDirIsRefusedAndWritesNothing) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  ASSERT_OK(h.manager->Create("w", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  const auto keys_before = h.store->Keys();
  const Bytes owner_before = h.store->Peek(OwnerKey("v"));
  const uint64_t puts_before = h.store->CountOps(MemoryStore::Op::kPut);

  OtherHost other(h.store);
  Status s = other.manager->OpenAll();
  ASSERT_TRUE(s.IsPrecondition()) << s.ToString();
  const OwnerRecord owner = Decoded(owner_before);
  for (const std::string& part : std::vector<std::string>{
           "volume v is in use by another blockpipe daemon", "volume w is in use",
           "host " + owner.hostname, "data dir id " + owner.writer_id,
           "pid " + std::to_string(owner.pid), "since ", "UTC", "--take-over v"}) {
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " not in: " << s.message();
  }
  EXPECT_TRUE(other.manager->List().empty());
  ASSERT_OK(other.manager->Shutdown());
  EXPECT_EQ(h.store->CountOps(MemoryStore::Op::kPut), puts_before);
  EXPECT_EQ(h.store->Keys(), keys_before);
  EXPECT_EQ(h.store->Peek(OwnerKey("v")), owner_before);

  // The owner is untouched and keeps writing.
  ASSERT_EQ(test::Write(*ref, 4096, Pattern(4096, 2)), 0);
  EXPECT_EQ(test::Flush(*ref), 0);
}

TEST(Ownership, RefusalOfOneVolumeClaimsNoOther) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("a", 1 << 20));
  ASSERT_OK(h.manager->Create("b", 1 << 20));
  ASSERT_OK(h.manager->Shutdown());
  // "a" is still held by a daemon of another data dir; "b" was released.
  OwnerRecord held = Decoded(h.store->Peek(OwnerKey("a")));
  held.state = OwnerState::kActive;
  held.writer_id = "abababababababababababababababab";
  h.store->Poke(OwnerKey("a"), EncodeOwnerObject(VolumeUuid(*h.store, "a"), held));
  const Bytes b_before = h.store->Peek(OwnerKey("b"));
  h.manager.reset();

  h.Start();
  Status s = h.manager->OpenAll();
  EXPECT_TRUE(s.IsPrecondition()) << s.ToString();
  ASSERT_OK(h.manager->Shutdown());
  EXPECT_EQ(h.store->Peek(OwnerKey("b")), b_before);
}

TEST(Ownership, SameDataDirTakesBackAfterCrash) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  const Bytes d = Pattern(8192, 3);
  ASSERT_EQ(test::Write(*ref, 0, d), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  const OwnerRecord before = Decoded(h.store->Peek(OwnerKey("v")));
  ref.reset();
  ASSERT_OK(h.Crash());  // the record stays active: the crash released nothing
  const OwnerRecord after = Decoded(h.store->Peek(OwnerKey("v")));
  EXPECT_EQ(after.state, OwnerState::kActive);
  EXPECT_EQ(after.writer_id, before.writer_id);
  EXPECT_NE(after.claim_id, before.claim_id);
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, d.size(), &out), 0);
  EXPECT_EQ(out, d);
  ASSERT_EQ(test::Write(*r, 0, Pattern(4096, 4)), 0);
  EXPECT_EQ(test::Flush(*r), 0);
}

TEST(Ownership, TakeOverWinsAndTheOldWriterIsFenced) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);

  OtherHost other(h.store, {"v"});
  ASSERT_OK(other.manager->OpenAll());
  const OwnerRecord taken = Decoded(h.store->Peek(OwnerKey("v")));
  EXPECT_EQ(taken.writer_id, kOtherId);
  EXPECT_EQ(taken.state, OwnerState::kActive);
  std::unique_ptr<VolumeRef> theirs;
  ASSERT_OK(other.manager->OpenRef("v", false, &theirs));
  const Bytes new_data = Pattern(4096, 2);
  ASSERT_EQ(test::Write(*theirs, 4096, new_data), 0);
  ASSERT_EQ(test::Flush(*theirs), 0);

  // The old owner's next upload collides with the new owner's segment.
  ASSERT_EQ(test::Write(*ref, 4096, Pattern(4096, 3)), 0);
  EXPECT_EQ(test::Flush(*ref), EIO);
  EXPECT_TRUE(h.manager->List()[0].read_only);
  // A fenced daemon may not delete what is now another daemon's volume.
  ref.reset();
  Status del = h.manager->Delete("v");
  EXPECT_TRUE(del.IsPrecondition()) << del.ToString();
  EXPECT_TRUE(h.store->Has(MetaKey("v")));
  // Its clean shutdown leaves the new owner's record alone.
  (void)h.manager->Shutdown();
  EXPECT_EQ(h.store->Peek(OwnerKey("v")), EncodeOwnerObject(VolumeUuid(*h.store, "v"), taken));

  theirs.reset();
  ASSERT_OK(other.manager->Shutdown());
  Harness fresh;
  fresh.store = h.store;
  ASSERT_OK(fresh.StartAndOpen());
  auto r = fresh.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 4096, 4096, &out), 0);
  EXPECT_EQ(out, new_data);
}

TEST(Ownership, UnreadableRecordIsRefusedUnlessTakenOver) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  ASSERT_OK(h.manager->Shutdown());
  Bytes damaged = h.store->Peek(OwnerKey("v"));
  damaged.back() ^= 1;
  h.store->Poke(OwnerKey("v"), damaged);
  h.manager.reset();
  h.Start();
  Status s = h.manager->OpenAll();
  ASSERT_TRUE(s.IsPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("volumes/v/owner is unreadable"), std::string::npos) << s.message();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();

  h.options.take_over = {"all"};
  ASSERT_OK(h.StartAndOpen());
  EXPECT_EQ(Decoded(h.store->Peek(OwnerKey("v"))).state, OwnerState::kActive);
}

TEST(Ownership, CreateOfAnExistingVolumeNamesItsOwner) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  OtherHost other(h.store);  // started without opening anything, as if before "v" existed
  Status s = other.manager->Create("v", 1 << 20);
  ASSERT_TRUE(s.IsPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("volume v already exists"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("in use by host"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(test::SmallOptions().writer_id), std::string::npos) << s.message();
  // Nor may it delete the volume it never opened while another daemon owns it.
  Status del = other.manager->Delete("v");
  EXPECT_TRUE(del.IsPrecondition()) << del.ToString();
  EXPECT_TRUE(h.store->Has(MetaKey("v")));
  EXPECT_EQ(Decoded(h.store->Peek(OwnerKey("v"))).writer_id, test::SmallOptions().writer_id);
}

TEST(Ownership, DeleteRemovesTheRecordWithTheVolume) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  ASSERT_OK(h.manager->Delete("v"));
  EXPECT_TRUE(h.store->Keys("volumes/v/").empty());
  ASSERT_OK(h.manager->Shutdown());
  EXPECT_TRUE(h.store->Keys("volumes/v/").empty());
}

TEST(Ownership, ReadOnlyManagerWritesNoRecord) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.store->Erase(OwnerKey("v"));
  // No put-if-absent and no opt-out: volumes are served read-only, and nothing is claimed.
  h.store->SetPutIfAbsentSupported(false);
  ASSERT_OK(h.StartAndOpen());
  EXPECT_TRUE(h.manager->List()[0].read_only);
  ASSERT_OK(h.manager->Shutdown());
  EXPECT_FALSE(h.store->Has(OwnerKey("v")));
}

// ---- races for the record (compare-and-swap) ----

constexpr char kThirdId[] = "00000000000000000000000000000003";

WriterIdentity Writer(const std::string& id, uint32_t pid) {
  WriterIdentity w;
  w.writer_id = id;
  w.hostname = "host-" + id.substr(0, 4);
  w.pid = pid;
  return w;
}

Uuid RaceUuid() { return SampleUuid(); }

// The store holds an active record of a writer that is gone (A); B and C both start with
// --take-over at once. C's whole claim runs inside B's window between read and replace.
TEST(OwnershipRace, TwoTakeOversAtOnceExactlyOneWins) {
  MemoryStore store;
  OwnerRecord a = SampleRecord();
  store.Poke(OwnerKey("v"), EncodeOwnerObject(RaceUuid(), a));
  OwnerRecord b_claim, c_claim;
  Status c_status;
  store.BeforeNextPutIfMatch(
      [&] {
        c_status = ClaimOwnership(store, "v", RaceUuid(), Writer(kThirdId, 3), true, &c_claim);
      },
      OwnerKey("v"));
  Status b_status = ClaimOwnership(store, "v", RaceUuid(), Writer(kOtherId, 2), true, &b_claim);
  ASSERT_OK(c_status);
  ASSERT_TRUE(b_status.IsPrecondition()) << b_status.ToString();
  EXPECT_THAT(b_status.message(), ::testing::HasSubstr("claimed it at the same moment"));
  EXPECT_THAT(b_status.message(), ::testing::HasSubstr(kThirdId)) << "names the winner";
  const OwnerRecord stored = Decoded(store.Peek(OwnerKey("v")));
  EXPECT_EQ(stored.writer_id, kThirdId);
  EXPECT_EQ(stored.claim_id, c_claim.claim_id);
}

TEST(OwnershipRace, TwoClaimsOfAReleasedVolumeExactlyOneWins) {
  MemoryStore store;
  OwnerRecord released = SampleRecord();
  released.state = OwnerState::kReleased;
  store.Poke(OwnerKey("v"), EncodeOwnerObject(RaceUuid(), released));
  OwnerRecord b_claim, c_claim;
  Status c_status;
  store.BeforeNextPutIfMatch(
      [&] {
        c_status = ClaimOwnership(store, "v", RaceUuid(), Writer(kThirdId, 3), false, &c_claim);
      },
      OwnerKey("v"));
  Status b_status = ClaimOwnership(store, "v", RaceUuid(), Writer(kOtherId, 2), false, &b_claim);
  EXPECT_OK(c_status);
  EXPECT_TRUE(b_status.IsPrecondition()) << b_status.ToString();
  EXPECT_EQ(Decoded(store.Peek(OwnerKey("v"))).writer_id, kThirdId);
}

TEST(OwnershipRace, ConcurrentClaimsFromThreadsExactlyOneWins) {
  for (int round = 0; round < 20; ++round) {
    MemoryStore store;
    OwnerRecord released = SampleRecord();
    released.state = OwnerState::kReleased;
    store.Poke(OwnerKey("v"), EncodeOwnerObject(RaceUuid(), released));
    store.SetDelay(MemoryStore::Op::kGet, 2);  // widen the read-to-replace window
    std::atomic<int> wins{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        OwnerRecord claimed;
        const std::string id = std::string(31, '0') + static_cast<char>('a' + t);
        // Without --take-over: a claim that came after the winner (not at the same moment) is
        // refused as well, so whatever the interleaving exactly one claim may succeed.
        Status st = ClaimOwnership(store, "v", RaceUuid(), Writer(id, 10 + t), false, &claimed);
        if (st.ok()) wins++;
        if (st.IsPrecondition()) refused++;
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 3);
  }
}

TEST(OwnershipRace, ReleaseNeverUndoesATakeOverThatLandsMeanwhile) {
  MemoryStore store;
  OwnerRecord mine;
  ASSERT_OK(ClaimOwnership(store, "v", RaceUuid(), Writer(kOtherId, 2), false, &mine));
  OwnerRecord theirs;
  Status taken;
  store.BeforeNextPutIfMatch(
      [&] { taken = ClaimOwnership(store, "v", RaceUuid(), Writer(kThirdId, 3), true, &theirs); },
      OwnerKey("v"));
  EXPECT_OK(ReleaseOwnership(store, "v", RaceUuid(), mine));
  ASSERT_OK(taken);
  const OwnerRecord stored = Decoded(store.Peek(OwnerKey("v")));
  EXPECT_EQ(stored.writer_id, kThirdId);
  EXPECT_EQ(stored.state, OwnerState::kActive);
}

TEST(OwnershipRace, ClaimWhoseReplyWasLostStillHolds) {
  auto memory = std::make_shared<MemoryStore>();
  OwnerRecord released = SampleRecord();
  released.state = OwnerState::kReleased;
  memory->Poke(OwnerKey("v"), EncodeOwnerObject(RaceUuid(), released));
  RetryPolicy fast;
  fast.deadline = std::chrono::milliseconds(2000);
  fast.initial_backoff = std::chrono::milliseconds(1);
  RetryingStore store(memory, fast);
  // The replace lands, its reply is lost, and the retry meets our own record: a success.
  memory->FailNextPutAfterStoring(Status::Transient("connection reset"), OwnerKey("v"));
  OwnerRecord claimed;
  Status st = ClaimOwnership(store, "v", RaceUuid(), Writer(kOtherId, 2), false, &claimed);
  ASSERT_OK(st);
  EXPECT_EQ(Decoded(memory->Peek(OwnerKey("v"))).claim_id, claimed.claim_id);
}

TEST(Ownership, StoreWithoutConditionalPutIsReadOnlyUnlessUnfenced) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.store->SetConditionalPutSupported(false);
  ASSERT_OK(h.StartAndOpen());
  EXPECT_TRUE(h.manager->List()[0].read_only) << "the record could not be replaced safely";
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.options.allow_unfenced = true;
  ASSERT_OK(h.StartAndOpen());
  EXPECT_FALSE(h.manager->List()[0].read_only);
  EXPECT_EQ(Decoded(h.store->Peek(OwnerKey("v"))).state, OwnerState::kActive)
      << "claimed with a plain put";
}

TEST(Ownership, UnfencedStoreStillHonoursTheRecord) {
  Harness h;
  h.store->SetPutIfAbsentSupported(false);
  h.options.allow_unfenced = true;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  EngineOptions o = test::SmallOptions();
  o.writer_id = kOtherId;
  o.allow_unfenced = true;
  test::TestCodecFactory codecs;
  VolumeManager other(h.store, &codecs, o);
  EXPECT_TRUE(other.OpenAll().IsPrecondition());
}

TEST(Ownership, VolumeCopyLeavesTheRecordBehind) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ref.reset();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  // The source daemon died holding the volume: its record stays active.
  OwnerRecord held = Decoded(h.store->Peek(OwnerKey("v")));
  held.state = OwnerState::kActive;
  h.store->Poke(OwnerKey("v"), EncodeOwnerObject(VolumeUuid(*h.store, "v"), held));

  // (Both stores describe themselves as memory://, so the copy takes another name.)
  auto destination = std::make_shared<MemoryStore>();
  VolumeCopyOptions options;
  options.name = "v";
  options.destination_name = "c";
  VolumeCopier copier(*h.store, *destination, options);
  VolumeCopyReport report;
  Status s = copier.Run(&report);
  ASSERT_OK(s);
  EXPECT_TRUE(destination->Has(MetaKey("c")));
  EXPECT_TRUE(destination->Keys("volumes/c/owner").empty());

  // A daemon of any data dir opens the copy without an override, which writes its own record;
  // copying again then still finds the destination complete.
  OtherHost other(destination);
  ASSERT_OK(other.manager->OpenAll());
  ASSERT_OK(other.manager->Shutdown());
  EXPECT_TRUE(destination->Has(OwnerKey("c")));
  VolumeCopier again(*h.store, *destination, options);
  s = again.Run(&report);
  ASSERT_OK(s);
  EXPECT_TRUE(report.already_complete);
  EXPECT_EQ(report.objects_written, 0u);
}

// ---- the data dir's writer id ----

class WriterIdFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bp-writer-id.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(WriterIdFile, CreatedOnceThenStable) {
  std::string first, second;
  ASSERT_OK(LoadOrCreateWriterId(dir_, &first));
  EXPECT_TRUE(IsValidWriterId(first)) << first;
  ASSERT_OK(LoadOrCreateWriterId(dir_, &second));
  EXPECT_EQ(first, second);
  std::ifstream in(dir_ / "writer-id");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, first);
  // Only the id is left in the directory (no temporary file).
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1u);
  // Another data dir gets another id.
  std::filesystem::create_directory(dir_ / "other");
  std::string other;
  ASSERT_OK(LoadOrCreateWriterId(dir_ / "other", &other));
  EXPECT_NE(other, first);
}

TEST_F(WriterIdFile, GarbageIsRefusedWithTheFileName) {
  std::ofstream(dir_ / "writer-id") << "not an id\n";
  std::string id;
  Status s = LoadOrCreateWriterId(dir_, &id);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find((dir_ / "writer-id").string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--take-over"), std::string::npos) << s.message();
}

TEST_F(WriterIdFile, MissingDirectoryIsAnError) {
  std::string id;
  EXPECT_FALSE(LoadOrCreateWriterId(dir_ / "absent", &id).ok());
}

}  // namespace
}  // namespace bp
