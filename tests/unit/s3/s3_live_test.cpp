// S3Client against a real S3 server (Ceph RGW in CI). The store is named by the environment:
//   BLOCKPIPE_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:7480), BLOCKPIPE_TEST_S3_ACCESS_KEY,
//   BLOCKPIPE_TEST_S3_SECRET_KEY, optionally BLOCKPIPE_TEST_S3_REGION.
// Without them every test here reports SKIPPED (never a silent pass). Each test works in a fresh
// bucket created with a signed CreateBucket and removed afterwards.
#include <blockpipe/bp_common.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto.h"
#include "http_client.h"
#include "put_if_absent_probe.h"
#include "put_if_match_probe.h"
#include "s3_client.h"
#include "sigv4_signer.h"

namespace {

using namespace s3backend;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

class S3Live : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = Env("BLOCKPIPE_TEST_S3_ENDPOINT");
    access_ = Env("BLOCKPIPE_TEST_S3_ACCESS_KEY");
    secret_ = Env("BLOCKPIPE_TEST_S3_SECRET_KEY");
    region_ = Env("BLOCKPIPE_TEST_S3_REGION");
    if (region_.empty()) region_ = "us-east-1";
    if (endpoint_.empty() || access_.empty() || secret_.empty()) {
      GTEST_SKIP() << "no S3 server: set BLOCKPIPE_TEST_S3_ENDPOINT, BLOCKPIPE_TEST_S3_ACCESS_KEY "
                      "and BLOCKPIPE_TEST_S3_SECRET_KEY (tests/integration starts Ceph RGW)";
    }
    bucket_ = "bp-unit-" + bphttp::RandomHex(6);
    client_ = MakeClient(bucket_, "vol/", secret_);
    ASSERT_EQ(BucketRequest("PUT"), 200) << "CreateBucket " << bucket_;
  }

  void TearDown() override {
    if (!client_) return;
    // Empty and drop the bucket; failures here only leave garbage in a throwaway store.
    std::unique_ptr<S3Client> root = MakeClient(bucket_, "", secret_);
    std::string error;
    ListObjectsPage page;
    for (int round = 0; round < 20; ++round) {
      if (root->List("", "", &page, &error) != BP_OK || page.objects.empty()) break;
      std::vector<const char*> keys;
      for (auto& [key, size] : page.objects) keys.push_back(key.c_str());
      std::vector<int> results(keys.size());
      root->DeleteMany(keys.data(), keys.size(), results.data(), &error);
    }
    BucketRequest("DELETE");
  }

  std::unique_ptr<S3Client> MakeClient(const std::string& bucket, const std::string& prefix,
                                       const std::string& secret,
                                       const std::string& endpoint = "") {
    S3ClientOptions options;
    S3LocationInputs in{"s3://" + bucket + (prefix.empty() ? "" : "/" + prefix),
                        endpoint.empty() ? endpoint_ : endpoint, region_, "auto", true};
    std::string error;
    EXPECT_EQ(BuildS3Location(in, &options.location, &error), BP_OK) << error;
    options.credentials = {access_, secret, "", "test"};
    options.http.connect_timeout_ms = 2000;
    options.http.request_timeout_ms = 20000;
    options.delete_batch = 2;
    options.list_page_size = 2;
    return std::make_unique<S3Client>(std::move(options));
  }

  // CreateBucket / DeleteBucket, signed by hand: the backend itself never creates buckets.
  long BucketRequest(const std::string& method) {
    bphttp::Endpoint ep;
    std::string error;
    if (!bphttp::ParseEndpoint(endpoint_, &ep, &error)) return -1;
    SigV4Request r;
    r.method = method;
    r.path = ep.path + "/" + bucket_;
    r.payload_hash = bphttp::Sha256Hex(nullptr, 0);
    std::string date = AmzDateNow();
    r.headers = {
        {"Host", ep.Authority()}, {"x-amz-date", date}, {"x-amz-content-sha256", r.payload_hash}};
    auto sig = SignV4(r, {access_, secret_, region_, "s3"}, date, SigV4PathRule::kS3AsIs);
    bphttp::HttpRequest http;
    http.method = method;
    http.url = ep.Origin() + r.path;
    http.headers = r.headers;
    http.headers.emplace_back("Authorization", sig.authorization);
    bphttp::HttpClient client({});
    return client.Perform(http).status;
  }

  std::string endpoint_, access_, secret_, region_, bucket_;
  std::unique_ptr<S3Client> client_;
};

TEST_F(S3Live, CheckBucketAcceptsGoodSettings) {
  std::string error;
  EXPECT_EQ(client_->CheckBucket(&error), BP_OK) << error;
}

TEST_F(S3Live, CheckBucketNamesAMissingBucket) {
  auto missing = MakeClient(bucket_ + "-missing", "", secret_);
  std::string error;
  EXPECT_EQ(missing->CheckBucket(&error), BP_ERR_PERMANENT);
  EXPECT_NE(error.find("bucket " + bucket_ + "-missing does not exist at"), std::string::npos)
      << error;
}

TEST_F(S3Live, CheckBucketNamesRejectedCredentials) {
  auto wrong = MakeClient(bucket_, "", secret_ + "x");
  std::string error;
  EXPECT_EQ(wrong->CheckBucket(&error), BP_ERR_PERMANENT);
  EXPECT_NE(error.find("S3 rejected the credentials for bucket " + bucket_), std::string::npos)
      << error;
  EXPECT_NE(error.find("SignatureDoesNotMatch"), std::string::npos) << error;
  EXPECT_EQ(error.find(secret_), std::string::npos) << "the secret must not appear";
}

TEST_F(S3Live, CheckBucketOnAClosedPortIsTransient) {
  auto nowhere = MakeClient(bucket_, "", secret_, "http://127.0.0.1:9");
  std::string error;
  EXPECT_EQ(nowhere->CheckBucket(&error), BP_ERR_TRANSIENT);
  EXPECT_NE(error.find("cannot reach the S3 endpoint http://127.0.0.1:9"), std::string::npos)
      << error;
}

TEST_F(S3Live, PutGetReadHeadDelete) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 7 + i / 251));
  std::string error;
  ASSERT_EQ(client_->Put("seg/1", data.data(), data.size(), false, &error), BP_OK) << error;

  std::string whole;
  ASSERT_EQ(client_->Get("seg/1", &whole, &error), BP_OK) << error;
  EXPECT_EQ(whole, data);

  std::vector<char> buf(5000, 0);
  uint64_t nread = 0;
  ASSERT_EQ(client_->Read("seg/1", 12345, 5000, buf.data(), &nread, &error), BP_OK) << error;
  ASSERT_EQ(nread, 5000u);
  EXPECT_EQ(std::memcmp(buf.data(), data.data() + 12345, 5000), 0);

  // A read across the end returns the tail; one past the end returns nothing.
  ASSERT_EQ(client_->Read("seg/1", 99000, 5000, buf.data(), &nread, &error), BP_OK) << error;
  ASSERT_EQ(nread, 1000u);
  EXPECT_EQ(std::memcmp(buf.data(), data.data() + 99000, 1000), 0);
  ASSERT_EQ(client_->Read("seg/1", 100000, 10, buf.data(), &nread, &error), BP_OK) << error;
  EXPECT_EQ(nread, 0u);
  ASSERT_EQ(client_->Read("seg/1", 0, 0, buf.data(), &nread, &error), BP_OK) << error;
  EXPECT_EQ(nread, 0u);

  uint64_t size = 0;
  ASSERT_EQ(client_->Head("seg/1", &size, &error), BP_OK) << error;
  EXPECT_EQ(size, data.size());

  ASSERT_EQ(client_->Delete("seg/1", &error), BP_OK) << error;
  EXPECT_EQ(client_->Get("seg/1", &whole, &error), BP_ERR_NOT_FOUND);
  EXPECT_NE(error.find("NoSuchKey"), std::string::npos) << error;
  EXPECT_EQ(client_->Read("seg/1", 0, 10, buf.data(), &nread, &error), BP_ERR_NOT_FOUND);
  EXPECT_EQ(client_->Head("seg/1", &size, &error), BP_ERR_NOT_FOUND);
  int rc = client_->Delete("seg/1", &error);
  EXPECT_TRUE(rc == BP_OK || rc == BP_ERR_NOT_FOUND) << error;
}

// Object PUTs carry no Content-MD5: the signed x-amz-content-sha256 is what makes the store
// refuse a body damaged on the way. A body that differs from the hash that was signed must be
// refused, and nothing stored.
TEST_F(S3Live, ABodyThatDoesNotMatchTheSignedHashIsRefused) {
  bphttp::Endpoint ep;
  std::string error;
  ASSERT_TRUE(bphttp::ParseEndpoint(endpoint_, &ep, &error)) << error;
  const std::string signed_body(4096, 'a');
  std::string sent_body = signed_body;
  sent_body[100] = 'b';
  SigV4Request r;
  r.method = "PUT";
  r.path = ep.path + "/" + bucket_ + "/vol/damaged";
  r.payload_hash = bphttp::Sha256Hex(signed_body.data(), signed_body.size());
  const std::string date = AmzDateNow();
  r.headers = {
      {"Host", ep.Authority()}, {"x-amz-date", date}, {"x-amz-content-sha256", r.payload_hash}};
  auto sig = SignV4(r, {access_, secret_, region_, "s3"}, date, SigV4PathRule::kS3AsIs);
  bphttp::HttpRequest http;
  http.method = "PUT";
  http.url = ep.Origin() + r.path;
  http.headers = r.headers;
  http.headers.emplace_back("Authorization", sig.authorization);
  http.body = sent_body.data();
  http.body_length = sent_body.size();
  bphttp::HttpClient client({});
  bphttp::HttpResponse response = client.Perform(http);
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_NE(response.body.find("XAmzContentSHA256Mismatch"), std::string::npos) << response.body;
  std::vector<uint8_t> buf(8);
  uint64_t got = 0;
  EXPECT_EQ(client_->Read("damaged", 0, buf.size(), buf.data(), &got, &error), BP_ERR_NOT_FOUND)
      << error;
}

TEST_F(S3Live, EmptyObjects) {
  std::string error;
  ASSERT_EQ(client_->Put("empty", nullptr, 0, false, &error), BP_OK) << error;
  std::string whole = "x";
  ASSERT_EQ(client_->Get("empty", &whole, &error), BP_OK) << error;
  EXPECT_TRUE(whole.empty());
  char buf[8];
  uint64_t nread = 99;
  ASSERT_EQ(client_->Read("empty", 0, 8, buf, &nread, &error), BP_OK) << error;
  EXPECT_EQ(nread, 0u);
}

TEST_F(S3Live, PutIfAbsentIsFencedAndProbed) {
  std::string error;
  ASSERT_EQ(client_->Put("seg/2", "first", 5, true, &error), BP_OK) << error;
  EXPECT_EQ(client_->Put("seg/2", "second", 6, true, &error), BP_ERR_PRECONDITION) << error;
  std::string whole;
  ASSERT_EQ(client_->Get("seg/2", &whole, &error), BP_OK) << error;
  EXPECT_EQ(whole, "first");
  // The same bytes again are refused too: the client reports what the store answered, and
  // telling a retry of our own lost put from another writer is the host's RetryingStore's job.
  EXPECT_EQ(client_->Put("seg/2", "first", 5, true, &error), BP_ERR_PRECONDITION) << error;
  ASSERT_EQ(client_->Put("seg/2", "third", 5, false, &error), BP_OK) << error;

  std::string detail;
  EXPECT_TRUE(bphttp::ProbePutIfAbsent(
      [&, attempt = 0](const std::string& key, bool if_absent) mutable {
        std::string e;
        std::string body = "probe " + std::to_string(++attempt);
        return client_->Put(key, body.data(), body.size(), if_absent, &e);
      },
      [&](const std::string& key) {
        std::string e;
        return client_->Delete(key, &e);
      },
      &detail))
      << detail;
  ListObjectsPage page;
  ASSERT_EQ(client_->List(".blockpipe-probe/", "", &page, &error), BP_OK) << error;
  EXPECT_TRUE(page.objects.empty()) << "the probe object is deleted";
}

// The If-Match form this store honours (RGW: bare ETag), as the plugin's open() picks it.
bool PickIfMatchForm(S3Client& client, std::string* detail) {
  bphttp::ConditionalPutOps ops;
  ops.put = [&](const std::string& key, const std::string& body) {
    std::string e;
    return client.Put(key, body.data(), body.size(), false, &e);
  };
  ops.get_tagged = [&](const std::string& key, std::string* body, std::string* tag) {
    std::string e;
    return client.Get(key, body, &e, tag);
  };
  ops.put_if_match = [&](const std::string& key, const std::string& body, const std::string& tag,
                         std::string* new_tag) {
    std::string e;
    return client.PutIfMatch(key, body.data(), body.size(), tag, new_tag, &e);
  };
  ops.del = [&](const std::string& key) {
    std::string e;
    return client.Delete(key, &e);
  };
  for (bool unquoted : {false, true}) {
    client.SetIfMatchUnquoted(unquoted);
    if (bphttp::ProbePutIfMatch(ops, detail)) return true;
  }
  return false;
}

TEST_F(S3Live, PutIfMatchReplacesOnlyTheVersionRead) {
  std::string detail, error;
  ASSERT_TRUE(PickIfMatchForm(*client_, &detail)) << "the store must honour If-Match: " << detail;
  ASSERT_EQ(client_->Put("owner", "one", 3, true, &error), BP_OK) << error;
  std::string body, tag1, tag2, tag3;
  ASSERT_EQ(client_->Get("owner", &body, &error, &tag1), BP_OK) << error;
  EXPECT_FALSE(tag1.empty());
  ASSERT_EQ(client_->PutIfMatch("owner", "two", 3, tag1, &tag2, &error), BP_OK) << error;
  EXPECT_NE(tag2, tag1);
  EXPECT_EQ(client_->PutIfMatch("owner", "three", 5, tag1, &tag3, &error), BP_ERR_PRECONDITION)
      << "stale tag: " << error;
  ASSERT_EQ(client_->Get("owner", &body, &error, &tag3), BP_OK) << error;
  EXPECT_EQ(body, "two");
  EXPECT_EQ(tag3, tag2) << "the ETag the replace returned is the stored one";
  EXPECT_EQ(client_->PutIfMatch("absent", "x", 1, tag2, &tag3, &error), BP_ERR_PRECONDITION)
      << "a missing object never matches: " << error;
  ListObjectsPage page;
  ASSERT_EQ(client_->List(".blockpipe-probe/", "", &page, &error), BP_OK) << error;
  EXPECT_TRUE(page.objects.empty()) << "the probe object is deleted";
}

// Ceph RGW answers some of the losers of a racing conditional PUT with 500 UnknownError rather
// than 412; a 500 is transient, so the host retries it, and the retry meets the changed ETag.
// The threads here retry transient answers the same way, and the object must hold the winner's.
TEST_F(S3Live, RacingPutIfMatchExactlyOneWins) {
  std::string detail, error;
  ASSERT_TRUE(PickIfMatchForm(*client_, &detail)) << detail;
  ASSERT_EQ(client_->Put("owner", "start", 5, false, &error), BP_OK) << error;
  std::string body, tag;
  ASSERT_EQ(client_->Get("owner", &body, &error, &tag), BP_OK) << error;
  std::atomic<int> wins{0}, losses{0}, winner{-1};
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string new_tag, data = "writer " + std::to_string(t);
      int rc = BP_ERR_TRANSIENT;
      for (int attempt = 0; attempt < 10 && rc == BP_ERR_TRANSIENT; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        rc = client_->PutIfMatch("owner", data.data(), data.size(), tag, &new_tag, &errors[t]);
      }
      if (rc == BP_OK) {
        wins++;
        winner = t;
      }
      if (rc == BP_ERR_PRECONDITION) losses++;
    });
  }
  for (auto& thread : threads) thread.join();
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  ASSERT_EQ(wins.load(), 1) << all;
  EXPECT_EQ(losses.load(), 3) << all;
  ASSERT_EQ(client_->Get("owner", &body, &error), BP_OK) << error;
  EXPECT_EQ(body, "writer " + std::to_string(winner.load()));
}

TEST_F(S3Live, ListPagesWithContinuationAndRelativeKeys) {
  std::string error;
  std::set<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    std::string key = "list/k" + std::to_string(i);
    ASSERT_EQ(client_->Put(key, key.data(), key.size(), false, &error), BP_OK) << error;
    expected.insert(key);
  }
  ASSERT_EQ(client_->Put("other/x", "x", 1, false, &error), BP_OK) << error;
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    ListObjectsPage page;
    ASSERT_EQ(client_->List("list/", cursor, &page, &error), BP_OK) << error;
    ASSERT_LE(page.objects.size(), 2u);
    for (auto& [key, size] : page.objects) {
      seen.push_back(key);
      EXPECT_EQ(size, key.size());
    }
    cursor = page.truncated ? page.next_continuation_token : "";
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_GE(pages, 3);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(S3Live, DeleteManyInBatches) {
  std::string error;
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back("dm/k" + std::to_string(i));
    ASSERT_EQ(client_->Put(names.back(), "v", 1, false, &error), BP_OK) << error;
  }
  names.push_back("dm/never-existed");
  std::vector<const char*> keys;
  for (auto& n : names) keys.push_back(n.c_str());
  std::vector<int> results(keys.size(), 12345);
  ASSERT_EQ(client_->DeleteMany(keys.data(), keys.size(), results.data(), &error), BP_OK) << error;
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results[i] == BP_OK || results[i] == BP_ERR_NOT_FOUND)
        << names[i] << " " << results[i];
  }
  ListObjectsPage page;
  ASSERT_EQ(client_->List("dm/", "", &page, &error), BP_OK) << error;
  EXPECT_TRUE(page.objects.empty());
}

TEST_F(S3Live, ParallelRequestsShareTheClient) {
  std::string error;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string key = "par/" + std::to_string(t) + "-" + std::to_string(i);
        std::string e, back;
        if (client_->Put(key, key.data(), key.size(), true, &e) != BP_OK ||
            client_->Get(key, &back, &e) != BP_OK || back != key) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
