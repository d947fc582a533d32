// The built Azure backend plugin (blockpipe-backend-azure.so) loaded through the fake host and
// driven against a real azurite: open() checks and their messages, put/get/ranged read/delete,
// both upload paths (Put Blob and Put Block List) with put-if-absent, concurrent creators of one
// key, listing with pagination and relative keys, wrong keys and SAS tokens.
//
// The emulator is the one named by $AZURITE_BLOB_ENDPOINT (a ctest fixture may provide it), or
// one this test starts with tests/servers/azurite/start.sh. Without azurite installed the tests
// that need it are reported as skipped, saying how to install it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto.h"
#include "plugins/fake_host.h"
#include "uri.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;

const char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::string Shell(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int rc = ::pclose(pipe);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

// One azurite per test process, started by the first test that needs it (ctest runs each test
// in its own process, and most of them need no server) and stopped at the end.
class Azurite : public ::testing::Environment {
 public:
  static std::string endpoint;
  static std::string skip_reason;

  static void Ensure() {
    if (!instance_->tried_) instance_->Start();
  }
  static Azurite* instance_;

  void Start() {
    tried_ = true;
    if (const char* env = std::getenv("AZURITE_BLOB_ENDPOINT"); env != nullptr && *env != '\0') {
      endpoint = env;
      return;
    }
    const std::string servers = std::string(BLOCKPIPE_SOURCE_DIR) + "/tests/servers/azurite";
    if (!fs::exists(servers + "/node_modules/azurite")) {
      skip_reason = "azurite is not installed in " + servers + " (run scripts/install-deps.sh)";
      return;
    }
    char pattern[] = "/tmp/bp-unit-azure-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      skip_reason = "cannot make a temp dir";
      return;
    }
    state_ = pattern;
    int status = 0;
    std::string out = Shell(servers + "/start.sh " + state_ + " 2>&1", &status);
    if (status != 0) {
      // Installed but not starting is a failure, not a skip.
      failure_ = "tests/servers/azurite/start.sh failed: " + out;
      return;
    }
    std::ifstream env_file(state_ + "/env");
    std::string line;
    while (std::getline(env_file, line)) {
      if (line.rfind("AZURITE_BLOB_ENDPOINT=", 0) == 0) endpoint = line.substr(22);
    }
    started_ = true;
  }

  void TearDown() override {
    if (started_) {
      int status = 0;
      Shell(
          std::string(BLOCKPIPE_SOURCE_DIR) + "/tests/servers/azurite/stop.sh " + state_ + " 2>&1",
          &status);
    }
    if (!state_.empty()) {
      std::error_code ignored;
      fs::remove_all(state_, ignored);
    }
  }

  static std::string failure_;

 private:
  std::string state_;
  bool started_ = false;
  bool tried_ = false;
};
Azurite* Azurite::instance_ = nullptr;
std::string Azurite::endpoint;
std::string Azurite::skip_reason;
std::string Azurite::failure_;

// An account SAS for the blob service, signed here (the backend only consumes tokens).
std::string AccountSas(const std::string& permissions, int minutes) {
  std::string key;
  EXPECT_TRUE(bphttp::Base64Decode(kDevKey, &key));
  std::time_t expiry = std::time(nullptr) + minutes * 60;
  std::tm tm{};
  gmtime_r(&expiry, &tm);
  char se[32];
  std::strftime(se, sizeof(se), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string sv = "2021-08-06";
  std::string to_sign =
      "devstoreaccount1\n" + permissions + "\nb\nsco\n\n" + se + "\n\nhttps,http\n" + sv + "\n\n";
  std::string sig = bphttp::Base64Encode(bphttp::HmacSha256(key, to_sign));
  return "sv=" + sv + "&ss=b&srt=sco&sp=" + permissions + "&se=" + bphttp::UriEncode(se, true) +
         "&spr=https%2Chttp&sig=" + bphttp::UriEncode(sig, true);
}

::testing::Environment* const kAzurite =
    ::testing::AddGlobalTestEnvironment(Azurite::instance_ = new Azurite);

// Tests that need the emulator start with this: a failure if it is installed but broken, a
// reported skip if it is not installed.
#define REQUIRE_AZURITE()                                                \
  do {                                                                   \
    Azurite::Ensure();                                                   \
    if (!Azurite::failure_.empty()) FAIL() << Azurite::failure_;         \
    if (Azurite::endpoint.empty()) GTEST_SKIP() << Azurite::skip_reason; \
  } while (0)

class AzureBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(plugin_.header(), nullptr); }
  void TearDown() override {
    for (void* handle : handles_) api()->close(handle);
  }

  // A fresh container for this test, created with the independent test client.
  std::string NewContainer() {
    static std::atomic<int> counter{0};
    std::string name = "t" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    Admin("create-container " + name);
    return name;
  }

  std::string Admin(const std::string& args, int expect_status = 0) {
    int status = 0;
    std::string out =
        Shell("python3 " + std::string(BLOCKPIPE_SOURCE_DIR) +
                  "/tests/lib/azure_admin.py --endpoint " + Azurite::endpoint +
                  " --account devstoreaccount1 --key " + kDevKey + " " + args + " 2>&1",
              &status);
    EXPECT_EQ(status, expect_status) << "azure_admin.py " << args << ": " << out;
    return out;
  }

  const bp_backend_plugin* api() const { return plugin_.backend(); }

  void* Open(const std::string& url, std::map<std::string, std::string> values = {}) {
    config_.values = std::move(values);
    void* handle = reinterpret_cast<void*>(0x1);
    last_rc_ = api()->open(config_.get(), url.c_str(), &handle);
    last_error_ = TakeError();
    if (last_rc_ != BP_OK) {
      EXPECT_EQ(handle, nullptr) << "a failed open must leave the handle NULL";
      return nullptr;
    }
    handles_.push_back(handle);
    return handle;
  }
  std::map<std::string, std::string> Emulator(std::map<std::string, std::string> extra = {}) {
    extra.emplace("endpoint", Azurite::endpoint);
    extra.emplace("account_key", kDevKey);
    return extra;
  }

  int Put(void* h, const std::string& key, const std::string& data, uint32_t flags = 0) {
    return api()->put(h, key.c_str(), data.data(), data.size(), flags);
  }
  std::string Get(void* h, const std::string& key, int* rc) {
    Buffer out;
    *rc = api()->get(h, key.c_str(), out.get());
    return out.text();
  }
  std::vector<std::pair<std::string, uint64_t>> ListAll(void* h, const std::string& prefix,
                                                        int* pages) {
    std::vector<std::pair<std::string, uint64_t>> all;
    std::string cursor;
    *pages = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      ListSink sink;
      int rc = api()->list(h, prefix.c_str(), *pages == 0 ? nullptr : cursor.c_str(), sink.get());
      EXPECT_EQ(rc, BP_OK) << TakeError();
      ++*pages;
      all.insert(all.end(), sink.entries.begin(), sink.entries.end());
      if (rc != BP_OK || !sink.has_next) break;
      cursor = sink.next;
    }
    return all;
  }

  // The index of the one BP_OK among racing writers' results (every other one must have lost
  // with a precondition failure), or -1 when there was not exactly one.
  static int OnlyWinner(const std::vector<int>& results) {
    int winners = 0, winner = -1;
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i] == BP_OK) {
        ++winners;
        winner = static_cast<int>(i);
      } else {
        EXPECT_EQ(results[i], BP_ERR_PRECONDITION) << "writer " << i;
      }
    }
    EXPECT_EQ(winners, 1);
    return winners == 1 ? winner : -1;
  }

  static std::string RandomBytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }

  LoadedPlugin plugin_{"blockpipe-backend-azure.so"};
  FakeConfig config_;
  std::vector<void*> handles_;
  int last_rc_ = 0;
  std::string last_error_;
};

TEST_F(AzureBackendTest, DeclaresItselfForAzureUrls) {
  EXPECT_STREQ(plugin_.header()->name, "azure");
  EXPECT_EQ(plugin_.header()->thread_model, static_cast<uint32_t>(BP_THREAD_PARALLEL));
  ASSERT_NE(api()->url_schemes, nullptr);
  EXPECT_STREQ(api()->url_schemes[0], "azure");
  EXPECT_EQ(api()->delete_many, nullptr);
  bool secret_key = false;
  for (const bp_config_key* k = api()->config_keys; k->name != nullptr; ++k) {
    if (std::string(k->name) == "account_key") secret_key = k->type == BP_CFG_SECRET;
  }
  EXPECT_TRUE(secret_key) << "account_key must be declared SECRET so it is never printed";
}

TEST_F(AzureBackendTest, OpenRefusesBadConfigWithoutTouchingTheNetwork) {
  EXPECT_EQ(Open("azure://Bad_Container", {{"account_key", kDevKey}, {"account", "acct01"}}),
            nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(last_error_.find("container name"), std::string::npos) << last_error_;

  EXPECT_EQ(Open("azure://c01/p",
                 {{"endpoint", "http://blob.example.net/acct01"}, {"account_key", kDevKey}}),
            nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(last_error_.find("allow_http"), std::string::npos) << last_error_;

  EXPECT_EQ(Open("azure://c01/p", {{"endpoint", "http://127.0.0.1:1/acct01"},
                                   {"account_key", kDevKey},
                                   {"block_size", "10"}}),
            nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
  EXPECT_NE(last_error_.find("block_size"), std::string::npos) << last_error_;
}

TEST_F(AzureBackendTest, UnreachableEndpointIsATransientOpenError) {
  EXPECT_EQ(Open("azure://c01/p", {{"endpoint", "http://127.0.0.1:1/acct01"},
                                   {"account_key", kDevKey},
                                   {"connect_timeout_ms", "2000"}}),
            nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_TRANSIENT);
  EXPECT_NE(last_error_.find("no response"), std::string::npos) << last_error_;
}

TEST_F(AzureBackendTest, OpenProbesAndDeclaresCapabilities) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container + "/vol1", Emulator());
  ASSERT_NE(h, nullptr) << last_error_;
  uint64_t caps = api()->capabilities(h);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_PUT_IF_ABSENT);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_RANGED_GET);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_LIST_PAGES);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_DURABLE_PUT);
  EXPECT_TRUE(caps & BP_BACKEND_CAP_CONDITIONAL_PUT) << "azurite honours If-Match";
  EXPECT_FALSE(caps & BP_BACKEND_CAP_DELETE_MANY);
  // The probe cleaned up after itself.
  EXPECT_EQ(Admin("list " + container), "");
}

TEST_F(AzureBackendTest, PutGetReadDelete) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container + "/vol1", Emulator());
  ASSERT_NE(h, nullptr) << last_error_;
  const std::string data = RandomBytes(200000, 1);
  ASSERT_EQ(Put(h, "volumes/a/seg/0001", data), BP_OK) << TakeError();
  // Stored under the prefix, as a plain blob another client can read.
  EXPECT_EQ(Admin("list " + container), "vol1/volumes/a/seg/0001\t200000\n");

  int rc = 0;
  EXPECT_EQ(Get(h, "volumes/a/seg/0001", &rc), data);
  EXPECT_EQ(rc, BP_OK);

  std::vector<char> buf(70000, 'x');
  uint64_t nread = 0;
  ASSERT_EQ(api()->read(h, "volumes/a/seg/0001", 65536, 65536, buf.data(), &nread), BP_OK);
  EXPECT_EQ(nread, 65536u);
  EXPECT_EQ(std::string(buf.data(), 65536), data.substr(65536, 65536));
  // Short at the end, zero past it.
  ASSERT_EQ(api()->read(h, "volumes/a/seg/0001", 199990, 100, buf.data(), &nread), BP_OK);
  EXPECT_EQ(nread, 10u);
  EXPECT_EQ(std::string(buf.data(), 10), data.substr(199990));
  ASSERT_EQ(api()->read(h, "volumes/a/seg/0001", 200000, 100, buf.data(), &nread), BP_OK);
  EXPECT_EQ(nread, 0u);
  ASSERT_EQ(api()->read(h, "volumes/a/seg/0001", 5, 0, buf.data(), &nread), BP_OK);
  EXPECT_EQ(nread, 0u);

  EXPECT_EQ(api()->read(h, "volumes/a/missing", 0, 10, buf.data(), &nread), BP_ERR_NOT_FOUND);
  EXPECT_EQ(api()->read(h, "volumes/a/missing", 0, 0, buf.data(), &nread), BP_ERR_NOT_FOUND);
  Get(h, "volumes/a/missing", &rc);
  EXPECT_EQ(rc, BP_ERR_NOT_FOUND);
  EXPECT_NE(TakeError().find("BlobNotFound"), std::string::npos);

  // Empty objects and replacement.
  ASSERT_EQ(Put(h, "empty", ""), BP_OK) << TakeError();
  EXPECT_EQ(Get(h, "empty", &rc), "");
  EXPECT_EQ(rc, BP_OK);
  ASSERT_EQ(Put(h, "volumes/a/seg/0001", "short"), BP_OK);
  EXPECT_EQ(Get(h, "volumes/a/seg/0001", &rc), "short");

  EXPECT_EQ(api()->del(h, "volumes/a/seg/0001"), BP_OK) << TakeError();
  EXPECT_EQ(api()->del(h, "volumes/a/seg/0001"), BP_ERR_NOT_FOUND);
  Get(h, "volumes/a/seg/0001", &rc);
  EXPECT_EQ(rc, BP_ERR_NOT_FOUND);
  EXPECT_EQ(Put(h, "bad key", "x"), BP_ERR_INVALID);
}

TEST_F(AzureBackendTest, PutIfAbsentOnBothUploadPaths) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  // 100 KiB objects and smaller go in one Put Blob, larger ones as 16 KiB blocks.
  void* h = Open("azure://" + container,
                 Emulator({{"single_put_limit", "102400"}, {"block_size", "16384"}}));
  ASSERT_NE(h, nullptr) << last_error_;
  EXPECT_TRUE(api()->capabilities(h) & BP_BACKEND_CAP_PUT_IF_ABSENT);
  for (size_t size : {size_t{1000}, size_t{300001}}) {
    const std::string key = "seg/" + std::to_string(size);
    const std::string first = RandomBytes(size, 2);
    ASSERT_EQ(Put(h, key, first, BP_PUT_IF_ABSENT), BP_OK) << TakeError();
    EXPECT_EQ(Put(h, key, RandomBytes(size, 3), BP_PUT_IF_ABSENT), BP_ERR_PRECONDITION) << size;
    int rc = 0;
    EXPECT_EQ(Get(h, key, &rc), first) << "a lost put-if-absent must not change the object";
  }
  // The large one really is a committed block list of 16 KiB blocks (19 of them).
  std::string out = Admin("list " + container);
  EXPECT_NE(out.find("seg/300001\t300001"), std::string::npos) << out;
}

TEST_F(AzureBackendTest, ConcurrentCreatorsOfOneKeyExactlyOneWins) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container + "/p",
                 Emulator({{"single_put_limit", "0"}, {"block_size", "8192"}}));
  ASSERT_NE(h, nullptr) << last_error_;
  constexpr int kWriters = 6;
  std::vector<std::string> payloads;
  for (int i = 0; i < kWriters; ++i) payloads.push_back(RandomBytes(100000, 100 + i));
  std::vector<int> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = Put(h, "seg/race", payloads[i], BP_PUT_IF_ABSENT); });
  }
  for (auto& t : threads) t.join();
  const int winner = OnlyWinner(results);
  ASSERT_GE(winner, 0);
  int rc = 0;
  EXPECT_EQ(Get(h, "seg/race", &rc), payloads[winner]) << "the blob must be exactly the winner's";
}

TEST_F(AzureBackendTest, PutIfMatchOnBothUploadPaths) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container,
                 Emulator({{"single_put_limit", "102400"}, {"block_size", "16384"}}));
  ASSERT_NE(h, nullptr) << last_error_;
  ASSERT_TRUE(BP_BACKEND_HAS(api(), get_tagged) && BP_BACKEND_HAS(api(), put_if_match));
  for (size_t size : {size_t{1000}, size_t{300001}}) {
    const std::string key = "v/owner" + std::to_string(size);
    char tag[BP_VERSION_TAG_MAX] = {}, new_tag[BP_VERSION_TAG_MAX] = {},
         read_tag[BP_VERSION_TAG_MAX] = {};
    const std::string first = RandomBytes(size, 5), second = RandomBytes(size, 6);
    EXPECT_EQ(api()->put_if_match(h, key.c_str(), first.data(), first.size(), "\"0x8D0\"", new_tag),
              BP_ERR_PRECONDITION)
        << "an absent blob never matches";
    ASSERT_EQ(Put(h, key, first), BP_OK) << TakeError();
    Buffer out;
    ASSERT_EQ(api()->get_tagged(h, key.c_str(), out.get(), tag), BP_OK) << TakeError();
    EXPECT_EQ(out.text(), first);
    ASSERT_GT(std::strlen(tag), 0u);
    ASSERT_EQ(api()->put_if_match(h, key.c_str(), second.data(), second.size(), tag, new_tag),
              BP_OK)
        << size << ": " << TakeError();
    EXPECT_STRNE(new_tag, tag);
    EXPECT_EQ(api()->put_if_match(h, key.c_str(), first.data(), first.size(), tag, read_tag),
              BP_ERR_PRECONDITION)
        << size << ": a stale ETag";
    Buffer again;
    ASSERT_EQ(api()->get_tagged(h, key.c_str(), again.get(), read_tag), BP_OK);
    EXPECT_EQ(again.text(), second);
    EXPECT_STREQ(read_tag, new_tag) << "the ETag the replace returned is the stored one";
  }
}

TEST_F(AzureBackendTest, RacingPutIfMatchExactlyOneWins) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container, Emulator());
  ASSERT_NE(h, nullptr) << last_error_;
  ASSERT_EQ(Put(h, "v/owner", "start"), BP_OK);
  char tag[BP_VERSION_TAG_MAX] = {};
  Buffer out;
  ASSERT_EQ(api()->get_tagged(h, "v/owner", out.get(), tag), BP_OK);
  constexpr int kWriters = 4;
  std::vector<int> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      char new_tag[BP_VERSION_TAG_MAX] = {};
      const std::string data = "writer " + std::to_string(i);
      results[i] = api()->put_if_match(h, "v/owner", data.data(), data.size(), tag, new_tag);
    });
  }
  for (auto& t : threads) t.join();
  const int winner = OnlyWinner(results);
  ASSERT_GE(winner, 0);
  int rc = 0;
  EXPECT_EQ(Get(h, "v/owner", &rc), "writer " + std::to_string(winner));
}

TEST_F(AzureBackendTest, ListPagesRelativeKeysAndForeignBlobs) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  void* h = Open("azure://" + container + "/vol1", Emulator());
  ASSERT_NE(h, nullptr) << last_error_;
  constexpr int kKeys = 1003;  // more than one page of 1000
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < kKeys; i = next++) {
        char key[64];
        std::snprintf(key, sizeof(key), "seg/%06d", i);
        EXPECT_EQ(Put(h, key, std::string(static_cast<size_t>(i % 7), 'x')), BP_OK);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(Put(h, "meta", "m"), BP_OK);
  // Blobs blockpipe did not write: outside the prefix, and inside it with a non-key name.
  Admin("put " + container + " other/seg/000001 /dev/null");
  Admin("put " + container + " \"vol1/seg/has space\" /dev/null");

  int pages = 0;
  auto all = ListAll(h, "seg/", &pages);
  ASSERT_EQ(all.size(), static_cast<size_t>(kKeys));
  EXPECT_GE(pages, 2);
  for (int i = 0; i < kKeys; ++i) {
    char key[64];
    std::snprintf(key, sizeof(key), "seg/%06d", i);
    EXPECT_EQ(all[static_cast<size_t>(i)].first, key);
    EXPECT_EQ(all[static_cast<size_t>(i)].second, static_cast<uint64_t>(i % 7));
  }
  auto everything = ListAll(h, "", &pages);
  EXPECT_EQ(everything.size(), static_cast<size_t>(kKeys) + 1);
  EXPECT_EQ(everything.back().first, "seg/001002");
  EXPECT_EQ(everything.front().first, "meta");
  EXPECT_TRUE(ListAll(h, "nothing/", &pages).empty());
}

TEST_F(AzureBackendTest, WrongKeyMissingContainerAndSasTokens) {
  REQUIRE_AZURITE();
  std::string container = NewContainer();
  EXPECT_EQ(
      Open("azure://" + container, {{"endpoint", Azurite::endpoint},
                                    {"account_key", bphttp::Base64Encode(std::string(64, 'k'))}}),
      nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
  EXPECT_NE(last_error_.find("the account key was rejected"), std::string::npos) << last_error_;

  EXPECT_EQ(Open("azure://no-such-container", Emulator()), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
  EXPECT_NE(last_error_.find("does not exist"), std::string::npos) << last_error_;

  const std::string sas = AccountSas("rwdlac", 30);
  void* h = Open("azure://" + container + "/s",
                 {{"endpoint", Azurite::endpoint}, {"sas_token", "?" + sas}});
  ASSERT_NE(h, nullptr) << last_error_;
  EXPECT_TRUE(api()->capabilities(h) & BP_BACKEND_CAP_PUT_IF_ABSENT);
  ASSERT_EQ(Put(h, "k", "via sas"), BP_OK) << TakeError();
  int rc = 0;
  EXPECT_EQ(Get(h, "k", &rc), "via sas");

  // A read-only token opens (volumes can be read) but cannot claim put-if-absent.
  void* ro = Open("azure://" + container + "/s",
                  {{"endpoint", Azurite::endpoint}, {"sas_token", AccountSas("rl", 30)}});
  ASSERT_NE(ro, nullptr) << last_error_;
  EXPECT_FALSE(api()->capabilities(ro) & BP_BACKEND_CAP_PUT_IF_ABSENT);
  EXPECT_EQ(Get(ro, "k", &rc), "via sas");
  EXPECT_EQ(Put(ro, "k2", "x"), BP_ERR_PERMANENT);

  EXPECT_EQ(Open("azure://" + container,
                 {{"endpoint", Azurite::endpoint}, {"sas_token", AccountSas("rwdlac", -5)}}),
            nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_PERMANENT);
  EXPECT_NE(last_error_.find("the SAS token was rejected"), std::string::npos) << last_error_;
  EXPECT_EQ(last_error_.find("sig="), std::string::npos) << "the signature leaked: " << last_error_;
}

}  // namespace
}  // namespace plugintest
