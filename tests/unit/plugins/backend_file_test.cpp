// Unit tests of the built file backend plugin (blockpipe-backend-file.so), loaded through the
// fake host: put/get/read/delete semantics, put-if-absent under concurrent writers, compare-and-
// swap (get_tagged/put_if_match) under racing threads and processes, key validation, listing
// order and pagination, temp-file handling and open() errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fake_host.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(plugin_.header(), nullptr);
    char pattern[] = "/tmp/bp-backend-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    temp_ = pattern;
    root_ = temp_ + "/objects";
  }
  void TearDown() override {
    for (void* handle : handles_) api()->close(handle);
    std::error_code ignored;
    fs::remove_all(temp_, ignored);
  }

  const bp_backend_plugin* api() const { return plugin_.backend(); }

  // Open an instance on `url` (default: file://<root_>); returns nullptr and keeps the error.
  void* Open(const std::string& url = "", bool fsync = true) {
    config_.values["fsync"] = fsync ? "true" : "false";
    config_.dir = temp_;
    void* handle = reinterpret_cast<void*>(0x1);
    int rc = api()->open(config_.get(), url.empty() ? ("file://" + root_).c_str() : url.c_str(),
                         &handle);
    last_rc_ = rc;
    if (rc != BP_OK) {
      EXPECT_EQ(handle, nullptr) << "a failed open must leave the handle NULL";
      return nullptr;
    }
    handles_.push_back(handle);
    return handle;
  }

  int Put(void* h, const std::string& key, const std::string& data, uint32_t flags = 0) {
    return api()->put(h, key.c_str(), data.data(), data.size(), flags);
  }
  std::string Get(void* h, const std::string& key, int* rc) {
    Buffer out;
    *rc = api()->get(h, key.c_str(), out.get());
    return out.text();
  }
  std::vector<std::string> ListAll(void* h, const std::string& prefix, int* pages = nullptr) {
    std::vector<std::string> keys;
    std::string cursor;
    bool first = true;
    int count = 0;
    for (int guard = 0; guard < 10000; ++guard) {
      ListSink sink;
      int rc = api()->list(h, prefix.c_str(), first ? nullptr : cursor.c_str(), sink.get());
      EXPECT_EQ(rc, BP_OK) << TakeError();
      ++count;
      for (auto& entry : sink.entries) keys.push_back(entry.first);
      if (!sink.has_next) break;
      cursor = sink.next;
      first = false;
    }
    if (pages != nullptr) *pages = count;
    return keys;
  }

  LoadedPlugin plugin_{"blockpipe-backend-file.so"};
  FakeConfig config_;
  std::string temp_, root_;
  std::vector<void*> handles_;
  int last_rc_ = 0;
};

TEST_F(FileBackendTest, DeclaresItselfAsParallelFileBackend) {
  EXPECT_EQ(plugin_.header()->kind, static_cast<uint32_t>(BP_KIND_BACKEND));
  EXPECT_STREQ(plugin_.header()->name, "file");
  EXPECT_EQ(plugin_.header()->thread_model, static_cast<uint32_t>(BP_THREAD_PARALLEL));
  EXPECT_STREQ(api()->url_schemes[0], "file");
  EXPECT_EQ(api()->url_schemes[1], nullptr);
}

TEST_F(FileBackendTest, OpenCreatesRootAndDeclaresCapabilities) {
  void* h = Open();
  ASSERT_NE(h, nullptr) << TakeError();
  EXPECT_TRUE(fs::is_directory(root_));
  uint64_t caps = api()->capabilities(h);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_RANGED_GET);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_PUT_IF_ABSENT);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_DELETE_MANY);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_LIST_PAGES);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_LOCAL_READS);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_DURABLE_PUT);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_DEFER_SYNC);
  void* unsynced = Open("file://" + temp_ + "/other", /*fsync=*/false);
  ASSERT_NE(unsynced, nullptr);
  EXPECT_FALSE(api()->capabilities(unsynced) & BP_BACKEND_CAP_DURABLE_PUT);
}

TEST_F(FileBackendTest, RelativeUrlResolvesAgainstConfigDirectory) {
  void* h = Open("file:rel/objects");
  ASSERT_NE(h, nullptr) << TakeError();
  ASSERT_EQ(Put(h, "k", "v"), BP_OK);
  EXPECT_TRUE(fs::exists(temp_ + "/rel/objects/k"));
}

TEST_F(FileBackendTest, OpenFailsClearlyOnBadLocations) {
  std::ofstream(temp_ + "/plainfile") << "x";
  EXPECT_EQ(Open("file://" + temp_ + "/plainfile"), nullptr);
  EXPECT_NE(TakeError().find("not a directory"), std::string::npos);

  EXPECT_EQ(Open("file://otherhost/data"), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(TakeError().find("otherhost"), std::string::npos);

  EXPECT_EQ(Open("s3://bucket/x"), nullptr);
  EXPECT_EQ(Open("file:///"), nullptr);
  EXPECT_EQ(Open("file://" + temp_ + "/a/../b"), nullptr);
  TakeError();

  if (::geteuid() != 0) {  // root ignores permission bits
    fs::create_directory(temp_ + "/locked");
    ::chmod((temp_ + "/locked").c_str(), 0500);
    EXPECT_EQ(Open("file://" + temp_ + "/locked"), nullptr);
    EXPECT_FALSE(TakeError().empty());
  }
}

TEST_F(FileBackendTest, PutGetReadDeleteRoundTrip) {
  void* h = Open();
  ASSERT_NE(h, nullptr);
  std::string data(100000, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  ASSERT_EQ(Put(h, "volumes/v1/segments/0000000001", data), BP_OK) << TakeError();
  int rc = 0;
  EXPECT_EQ(Get(h, "volumes/v1/segments/0000000001", &rc), data);
  EXPECT_EQ(rc, BP_OK);

  char buf[5000];
  uint64_t nread = 0;
  ASSERT_EQ(api()->read(h, "volumes/v1/segments/0000000001", 12345, 5000, buf, &nread), BP_OK);
  EXPECT_EQ(nread, 5000u);
  EXPECT_EQ(std::string(buf, 5000), data.substr(12345, 5000));
  // Short at the end of the object, empty past it.
  ASSERT_EQ(api()->read(h, "volumes/v1/segments/0000000001", 99000, 5000, buf, &nread), BP_OK);
  EXPECT_EQ(nread, 1000u);
  EXPECT_EQ(std::string(buf, 1000), data.substr(99000));
  ASSERT_EQ(api()->read(h, "volumes/v1/segments/0000000001", 200000, 10, buf, &nread), BP_OK);
  EXPECT_EQ(nread, 0u);

  EXPECT_EQ(api()->del(h, "volumes/v1/segments/0000000001"), BP_OK);
  EXPECT_EQ(api()->del(h, "volumes/v1/segments/0000000001"), BP_ERR_NOT_FOUND);
  Get(h, "volumes/v1/segments/0000000001", &rc);
  EXPECT_EQ(rc, BP_ERR_NOT_FOUND);
  EXPECT_EQ(api()->read(h, "volumes/v1/segments/0000000001", 0, 10, buf, &nread), BP_ERR_NOT_FOUND);
  // Empty parents are removed, the root stays.
  EXPECT_FALSE(fs::exists(root_ + "/volumes"));
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(FileBackendTest, EmptyObjectRoundTrips) {
  void* h = Open();
  ASSERT_EQ(Put(h, "empty", ""), BP_OK);
  int rc = -100;
  EXPECT_EQ(Get(h, "empty", &rc), "");
  EXPECT_EQ(rc, BP_OK);
}

TEST_F(FileBackendTest, PutPartsWritesTheConcatenation) {
  void* h = Open();
  ASSERT_NE(api()->put_parts, nullptr) << "declared since ABI 1.3";
  // More parts than one writev takes (1024), empty parts among them, sizes that make the
  // kernel's partial writes end inside a part.
  std::string expect;
  std::vector<std::string> pieces;
  for (int i = 0; i < 2500; ++i) {
    pieces.push_back(
        i % 7 == 3 ? std::string()
                   : std::string(static_cast<size_t>(i % 97 + 1), static_cast<char>('a' + i % 26)));
  }
  pieces.push_back(std::string(3u << 20, 'z'));
  std::vector<bp_span> parts;
  for (const std::string& p : pieces) {
    parts.push_back(bp_span{p.data(), p.size()});
    expect += p;
  }
  ASSERT_EQ(api()->put_parts(h, "seg/7", parts.data(), parts.size(), BP_PUT_IF_ABSENT), BP_OK)
      << TakeError();
  int rc = -100;
  EXPECT_EQ(Get(h, "seg/7", &rc), expect);
  EXPECT_EQ(rc, BP_OK);
  // Same flags and answers as put: an existing key is refused, no temp file is left.
  EXPECT_EQ(api()->put_parts(h, "seg/7", parts.data(), 1, BP_PUT_IF_ABSENT), BP_ERR_PRECONDITION);
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ + "/seg"), fs::directory_iterator()), 1);
  ASSERT_EQ(api()->put_parts(h, "seg/8", nullptr, 0, 0), BP_OK) << "no parts: an empty object";
  EXPECT_EQ(Get(h, "seg/8", &rc), "");
  const bp_span missing{nullptr, 5};
  EXPECT_EQ(api()->put_parts(h, "seg/9", &missing, 1, 0), BP_ERR_INVALID);
}

// Names of the temp files (kept recycled files among them) in the root.
std::vector<std::string> TempFilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".bp-tmp-", 0) == 0) names.push_back(name);
  }
  return names;
}

// BP_PUT_DEFER_SYNC (ABI 1.8): the object is there at once for every reader, as atomic and as
// exclusive as any put; sync() makes named objects durable, skips deleted ones, and refuses
// what it cannot name. (That the bytes survive a power loss only after sync is the kernel's
// page cache at work and cannot be observed from here; the engine's side is tested against
// MemoryStore::LosePower and in the simulator.)
TEST_F(FileBackendTest, DeferredPutsAreVisibleAtOnceAndSyncMakesThemDurable) {
  void* h = Open();
  ASSERT_NE(h, nullptr) << TakeError();
  ASSERT_TRUE(BP_BACKEND_HAS(api(), sync)) << "declared since ABI 1.8";
  const std::string big(2u << 20, 'd');
  const bp_span part{big.data(), big.size()};
  ASSERT_EQ(api()->put_parts(h, "vol/seg/1", &part, 1, BP_PUT_IF_ABSENT | BP_PUT_DEFER_SYNC), BP_OK)
      << TakeError();
  ASSERT_EQ(Put(h, "vol/seg/2", "small", BP_PUT_DEFER_SYNC), BP_OK) << TakeError();
  int rc = -100;
  EXPECT_EQ(Get(h, "vol/seg/1", &rc), big);
  EXPECT_EQ(Get(h, "vol/seg/2", &rc), "small");
  // Exclusive as ever.
  EXPECT_EQ(api()->put_parts(h, "vol/seg/1", &part, 1, BP_PUT_IF_ABSENT | BP_PUT_DEFER_SYNC),
            BP_ERR_PRECONDITION);
  EXPECT_TRUE(TempFilesIn(root_ + "/vol/seg").empty());
  ASSERT_EQ(api()->del(h, "vol/seg/2"), BP_OK);
  const char* keys[] = {"vol/seg/1", "vol/seg/2", "never/put"};
  EXPECT_EQ(api()->sync(h, keys, 3), BP_OK) << TakeError();
  EXPECT_EQ(api()->sync(h, keys, 0), BP_OK);
  const char* bad[] = {"../escape"};
  EXPECT_EQ(api()->sync(h, bad, 1), BP_ERR_INVALID);
  const char* null_key[] = {nullptr};
  EXPECT_EQ(api()->sync(h, null_key, 1), BP_ERR_INVALID);
  // Unknown flags are still refused.
  EXPECT_EQ(Put(h, "vol/seg/3", "x", 1u << 7), BP_ERR_UNSUPPORTED);
  // With fsync = false nothing is ever durable, and sync says so by doing nothing.
  void* scratch = Open("file://" + temp_ + "/scratch", /*fsync=*/false);
  ASSERT_NE(scratch, nullptr);
  ASSERT_EQ(Put(scratch, "a", "b", BP_PUT_DEFER_SYNC), BP_OK);
  const char* a[] = {"a"};
  EXPECT_EQ(api()->sync(scratch, a, 1), BP_OK);
}

TEST_F(FileBackendTest, DeletedLargeObjectsAreWrittenOverByLaterPuts) {
  void* h = Open();
  const std::string big(3u << 20, 'o');
  ASSERT_EQ(Put(h, "vol/seg/1", big), BP_OK);
  ASSERT_EQ(Put(h, "vol/seg/small", "tiny"), BP_OK);
  ASSERT_EQ(api()->del(h, "vol/seg/1"), BP_OK);
  ASSERT_EQ(api()->del(h, "vol/seg/small"), BP_OK);
  // The key is gone at once, listings show nothing, the emptied directories are removed; the
  // large file waits in the root under a temp name (the small one was simply deleted).
  int rc = 0;
  Get(h, "vol/seg/1", &rc);
  EXPECT_EQ(rc, BP_ERR_NOT_FOUND);
  EXPECT_TRUE(ListAll(h, "").empty());
  EXPECT_FALSE(fs::exists(root_ + "/vol"));
  ASSERT_EQ(TempFilesIn(root_).size(), 1u);

  // The next put writes over it: shorter than the old file, so what remains of it is cut.
  std::string next(1u << 20, 'n');
  next += "end";
  ASSERT_EQ(Put(h, "vol/seg/2", next, BP_PUT_IF_ABSENT), BP_OK);
  EXPECT_TRUE(TempFilesIn(root_).empty()) << "the kept file became the new object";
  EXPECT_EQ(Get(h, "vol/seg/2", &rc), next);
  char tail[8];
  uint64_t nread = 0;
  ASSERT_EQ(api()->read(h, "vol/seg/2", next.size() - 3, sizeof(tail), tail, &nread), BP_OK);
  EXPECT_EQ(std::string(tail, nread), "end");
  EXPECT_EQ(ListAll(h, ""), (std::vector<std::string>{"vol/seg/2"}));

  // Closing the store deletes what it still keeps.
  ASSERT_EQ(api()->del(h, "vol/seg/2"), BP_OK);
  EXPECT_EQ(TempFilesIn(root_).size(), 1u);
  api()->close(h);
  handles_.clear();
  EXPECT_TRUE(TempFilesIn(root_).empty());
}

TEST_F(FileBackendTest, RecycleZeroDeletesAtOnce) {
  config_.values["recycle"] = "0";
  void* h = Open();
  ASSERT_EQ(Put(h, "seg/1", std::string(2u << 20, 'x')), BP_OK);
  ASSERT_EQ(api()->del(h, "seg/1"), BP_OK);
  EXPECT_TRUE(TempFilesIn(root_).empty());
}

TEST_F(FileBackendTest, ReplaceIsSeenByRangedReadsDespiteDescriptorCache) {
  void* h = Open();
  ASSERT_EQ(Put(h, "meta", "first version"), BP_OK);
  char buf[64];
  uint64_t nread = 0;
  ASSERT_EQ(api()->read(h, "meta", 0, sizeof(buf), buf, &nread), BP_OK);
  EXPECT_EQ(std::string(buf, nread), "first version");
  ASSERT_EQ(Put(h, "meta", "second"), BP_OK);
  ASSERT_EQ(api()->read(h, "meta", 0, sizeof(buf), buf, &nread), BP_OK);
  EXPECT_EQ(std::string(buf, nread), "second");
  ASSERT_EQ(api()->del(h, "meta"), BP_OK);
  EXPECT_EQ(api()->read(h, "meta", 0, sizeof(buf), buf, &nread), BP_ERR_NOT_FOUND);
}

TEST_F(FileBackendTest, PutIfAbsentRefusesExistingKey) {
  void* h = Open();
  ASSERT_EQ(Put(h, "seg/1", "a", BP_PUT_IF_ABSENT), BP_OK);
  EXPECT_EQ(Put(h, "seg/1", "b", BP_PUT_IF_ABSENT), BP_ERR_PRECONDITION);
  EXPECT_FALSE(TakeError().empty());
  int rc = 0;
  EXPECT_EQ(Get(h, "seg/1", &rc), "a");
  // No temp file is left behind by the losing put.
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ + "/seg"), fs::directory_iterator()), 1);
}

TEST_F(FileBackendTest, PutIfAbsentHasExactlyOneWinnerAmongConcurrentWriters) {
  void* h = Open();
  for (int round = 0; round < 20; ++round) {
    std::string key = "race/" + std::to_string(round);
    std::atomic<int> winners{0}, losers{0}, other{0};
    std::atomic<int> winner_id{-1};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        std::string data(4096, static_cast<char>('A' + t));
        int rc = Put(h, key, data, BP_PUT_IF_ABSENT);
        if (rc == BP_OK) {
          ++winners;
          winner_id = t;
        } else if (rc == BP_ERR_PRECONDITION) {
          ++losers;
        } else {
          ++other;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(winners.load(), 1);
    ASSERT_EQ(losers.load(), 5);
    ASSERT_EQ(other.load(), 0);
    int rc = 0;
    EXPECT_EQ(Get(h, key, &rc), std::string(4096, static_cast<char>('A' + winner_id.load())));
  }
}

TEST_F(FileBackendTest, RejectsKeysThatCouldEscapeTheRoot) {
  void* h = Open();
  for (const char* bad : {"", "/abs", "a//b", "a/", "..", "a/../b", "./a", "a/./b", "a b",
                          "a/.bp-tmp-1-2-host", "ä", "a\\b"}) {
    EXPECT_EQ(Put(h, bad, "x"), BP_ERR_INVALID) << "key `" << bad << "`";
    EXPECT_FALSE(TakeError().empty());
    int rc = 0;
    Get(h, bad, &rc);
    EXPECT_EQ(rc, BP_ERR_INVALID) << bad;
  }
  EXPECT_EQ(Put(h, std::string(513, 'k'), "x"), BP_ERR_INVALID);
  EXPECT_EQ(Put(h, "ok.Name_-1/x", "x"), BP_OK);
  EXPECT_FALSE(fs::exists(temp_ + "/abs"));
}

TEST_F(FileBackendTest, KeyBelowAnExistingObjectIsAClearError) {
  void* h = Open();
  ASSERT_EQ(Put(h, "a", "file"), BP_OK);
  EXPECT_EQ(Put(h, "a/b", "x"), BP_ERR_PERMANENT);
  EXPECT_NE(TakeError().find("is an object"), std::string::npos);
}

TEST_F(FileBackendTest, ListsInByteOrderWithPrefixes) {
  void* h = Open();
  // '-' (0x2d) < '/' (0x2f) < '0' (0x30): directory order differs from key order here.
  for (const char* key : {"a/c", "a-b", "a0", "a/b/z", "a/b/a", "b", "ab"}) {
    ASSERT_EQ(Put(h, key, key), BP_OK);
  }
  EXPECT_EQ(ListAll(h, ""),
            (std::vector<std::string>{"a-b", "a/b/a", "a/b/z", "a/c", "a0", "ab", "b"}));
  EXPECT_EQ(ListAll(h, "a/"), (std::vector<std::string>{"a/b/a", "a/b/z", "a/c"}));
  EXPECT_EQ(ListAll(h, "a/b"), (std::vector<std::string>{"a/b/a", "a/b/z"}));
  EXPECT_EQ(ListAll(h, "a"),
            (std::vector<std::string>{"a-b", "a/b/a", "a/b/z", "a/c", "a0", "ab"}));
  EXPECT_TRUE(ListAll(h, "missing/dir/").empty());
  ListSink sink;
  ASSERT_EQ(api()->list(h, "", nullptr, sink.get()), BP_OK);
  ASSERT_EQ(sink.entries.size(), 7u);
  EXPECT_EQ(sink.entries[0].second, 3u);  // size of "a-b"
  EXPECT_EQ(api()->list(h, "../", nullptr, sink.get()), BP_ERR_INVALID);
}

TEST_F(FileBackendTest, PaginatesLargeListingsWithoutLossOrDuplicates) {
  void* h = Open("", /*fsync=*/false);
  std::set<std::string> expected;
  for (int i = 0; i < 2500; ++i) {
    char key[64];
    std::snprintf(key, sizeof(key), "vol/%s/seg-%05d", i % 2 ? "odd" : "even", i);
    ASSERT_EQ(Put(h, key, "x"), BP_OK);
    expected.insert(key);
  }
  int pages = 0;
  std::vector<std::string> keys = ListAll(h, "vol/", &pages);
  EXPECT_EQ(pages, 3);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), expected);
  EXPECT_EQ(keys.size(), expected.size());
}

TEST_F(FileBackendTest, TempFilesAreInvisibleAndCrashedOnesAreSweptAtOpen) {
  void* h = Open();
  ASSERT_EQ(Put(h, "d/real", "x"), BP_OK);
  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  // A temp file from a dead process on this host (pid beyond pid_max), and one from a live
  // writer on another host.
  std::string dead = root_ + "/d/.bp-tmp-999999999-0-" + hostname;
  std::string foreign = root_ + "/d/.bp-tmp-1-0-some-other-host";
  std::ofstream(dead) << "partial";
  std::ofstream(foreign) << "in flight";
  EXPECT_EQ(ListAll(h, ""), std::vector<std::string>{"d/real"});
  void* reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_EQ(ListAll(reopened, ""), std::vector<std::string>{"d/real"});
}

TEST_F(FileBackendTest, DeleteManyReportsPerKeyResults) {
  void* h = Open();
  ASSERT_EQ(Put(h, "x/1", "1"), BP_OK);
  ASSERT_EQ(Put(h, "x/2", "2"), BP_OK);
  const char* keys[] = {"x/1", "x/missing", "../bad", "x/2"};
  int results[4] = {1, 1, 1, 1};
  ASSERT_EQ(api()->delete_many(h, keys, 4, results), BP_OK);
  EXPECT_EQ(results[0], BP_OK);
  EXPECT_EQ(results[1], BP_ERR_NOT_FOUND);
  EXPECT_EQ(results[2], BP_ERR_INVALID);
  EXPECT_EQ(results[3], BP_OK);
  EXPECT_TRUE(ListAll(h, "").empty());
}

TEST_F(FileBackendTest, ConcurrentReadersAndWritersStayConsistent) {
  void* h = Open("", /*fsync=*/false);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200 && !failed; ++i) {
        std::string key = "t" + std::to_string(t) + "/obj" + std::to_string(i % 10);
        std::string data(1000 + i, static_cast<char>('a' + i % 26));
        if (Put(h, key, data) != BP_OK) failed = true;
        char buf[2000];
        uint64_t nread = 0;
        if (api()->read(h, key.c_str(), 0, sizeof(buf), buf, &nread) != BP_OK ||
            std::string(buf, nread) != data) {
          failed = true;
        }
        if (i % 7 == 0 && api()->del(h, key.c_str()) != BP_OK) failed = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(failed.load());
}

// ---- compare-and-swap (ABI 1.2) ----

std::string GetTag(const bp_backend_plugin* api, void* h, const std::string& key, int* rc,
                   std::string* body = nullptr) {
  Buffer out;
  char tag[BP_VERSION_TAG_MAX] = {};
  *rc = api->get_tagged(h, key.c_str(), out.get(), tag);
  if (body != nullptr) *body = out.text();
  return tag;
}

int PutIfMatch(const bp_backend_plugin* api, void* h, const std::string& key,
               const std::string& data, const std::string& tag, std::string* new_tag = nullptr) {
  char out[BP_VERSION_TAG_MAX] = {};
  int rc = api->put_if_match(h, key.c_str(), data.data(), data.size(), tag.c_str(), out);
  if (new_tag != nullptr) *new_tag = out;
  return rc;
}

TEST_F(FileBackendTest, ConditionalReplaceByContentTag) {
  void* h = Open();
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(BP_BACKEND_HAS(api(), get_tagged) && BP_BACKEND_HAS(api(), put_if_match));
  EXPECT_NE(api()->capabilities(h) & BP_BACKEND_CAP_CONDITIONAL_PUT, 0u);
  int rc = 0;
  EXPECT_EQ(PutIfMatch(api(), h, "v/owner", "x", "sha256:00"), BP_ERR_PRECONDITION)
      << "an absent object never matches";
  GetTag(api(), h, "v/owner", &rc);
  EXPECT_EQ(rc, BP_ERR_NOT_FOUND);

  ASSERT_EQ(Put(h, "v/owner", "one"), BP_OK);
  std::string body;
  const std::string tag1 = GetTag(api(), h, "v/owner", &rc, &body);
  ASSERT_EQ(rc, BP_OK);
  EXPECT_EQ(body, "one");
  EXPECT_EQ(tag1.rfind("sha256:", 0), 0u) << tag1;
  EXPECT_EQ(tag1.size(), 7u + 64u);

  std::string tag2;
  ASSERT_EQ(PutIfMatch(api(), h, "v/owner", "two", tag1, &tag2), BP_OK);
  EXPECT_NE(tag2, tag1);
  EXPECT_EQ(GetTag(api(), h, "v/owner", &rc, &body), tag2) << "the reported tag is the stored one";
  EXPECT_EQ(body, "two");

  EXPECT_EQ(PutIfMatch(api(), h, "v/owner", "three", tag1), BP_ERR_PRECONDITION) << "stale tag";
  EXPECT_NE(TakeError().find("changed since it was read"), std::string::npos);
  EXPECT_EQ(Get(h, "v/owner", &rc), "two");

  // The tag is the content's: writing the same bytes back gives the same tag, from any handle.
  ASSERT_EQ(Put(h, "v/owner", "one"), BP_OK);
  void* other = Open();
  EXPECT_EQ(GetTag(api(), other, "v/owner", &rc), tag1);
  ASSERT_EQ(api()->del(h, "v/owner"), BP_OK);
  EXPECT_EQ(PutIfMatch(api(), h, "v/owner", "four", tag1), BP_ERR_PRECONDITION) << "deleted";
}

TEST_F(FileBackendTest, RacingReplacesFromThreadsExactlyOneWins) {
  void* h = Open("", /*fsync=*/false);
  for (int round = 0; round < 20; ++round) {
    const std::string key = "v/r" + std::to_string(round);
    ASSERT_EQ(Put(h, key, "start"), BP_OK);
    int rc = 0;
    const std::string tag = GetTag(api(), h, key, &rc);
    ASSERT_EQ(rc, BP_OK);
    std::atomic<int> wins{0}, losses{0}, others{0};
    std::atomic<int> winner{-1};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        int r = PutIfMatch(api(), h, key, "writer " + std::to_string(t), tag);
        if (r == BP_OK) {
          wins++;
          winner = t;
        } else if (r == BP_ERR_PRECONDITION) {
          losses++;
        } else {
          others++;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(losses.load(), 5);
    EXPECT_EQ(others.load(), 0);
    EXPECT_EQ(Get(h, key, &rc), "writer " + std::to_string(winner.load()));
  }
}

TEST_F(FileBackendTest, RacingReplacesFromProcessesExactlyOneWins) {
  void* h = Open();
  ASSERT_EQ(Put(h, "v/owner", "start"), BP_OK);
  int rc = 0;
  const std::string tag = GetTag(api(), h, "v/owner", &rc);
  ASSERT_EQ(rc, BP_OK);
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  constexpr int kChildren = 4;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each process opens its own instance, as a second daemon would, and waits at the gate.
      ::close(gate[1]);
      char byte;
      (void)!::read(gate[0], &byte, 1);
      void* mine = nullptr;
      if (api()->open(config_.get(), ("file://" + root_).c_str(), &mine) != BP_OK) ::_exit(3);
      int r = PutIfMatch(api(), mine, "v/owner", "process " + std::to_string(c), tag);
      ::_exit(r == BP_OK ? 0 : r == BP_ERR_PRECONDITION ? 1 : 2);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);  // opens the gate for every child at once
  int wins = 0, losses = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) wins++;
    if (WEXITSTATUS(status) == 1) losses++;
  }
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(losses, kChildren - 1);
  const std::string stored = Get(h, "v/owner", &rc);
  EXPECT_EQ(stored.rfind("process ", 0), 0u) << stored;
}

}  // namespace
}  // namespace plugintest
