// The host services table as plugins see it: buffers (reserve/commit/append), config lookups,
// list sinks, per-thread error messages, metrics, and the status mapping of return codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "loader/host_services.h"
#include "support/status_assert.h"
#include "util/metrics.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

TEST(HostServices, TableIsCompleteAndVersioned) {
  const bp_host_api* h = HostApi();
  EXPECT_EQ(h->struct_size, sizeof(bp_host_api));
  EXPECT_EQ(h->abi_minor, static_cast<uint32_t>(BP_ABI_MINOR));
  EXPECT_TRUE(BP_HOST_HAS(h, log));
  EXPECT_TRUE(BP_HOST_HAS(h, metric_add));
  EXPECT_TRUE(BP_HOST_HAS(h, list_set_next));
}

TEST(HostServices, BufferReserveCommitAppend) {
  const bp_host_api* h = HostApi();
  Bytes bytes = {'x'};
  {
    BufWriter w(&bytes);
    EXPECT_EQ(h->buf_size(w.get()), 1u) << "appends after existing contents";
    auto* p = static_cast<uint8_t*>(h->buf_reserve(w.get(), 100));
    ASSERT_NE(p, nullptr);
    std::memcpy(p, "hello", 5);
    h->buf_commit(w.get(), 5);  // reserved 100, used 5
    EXPECT_EQ(h->buf_size(w.get()), 6u);
    EXPECT_EQ(h->buf_append(w.get(), " world", 6), BP_OK);
    h->buf_commit(w.get(), 1000000);  // more than reserved: clamped to what exists
    EXPECT_LE(h->buf_size(w.get()), bytes.size());
  }
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 12), "xhello world");
  EXPECT_EQ(h->buf_reserve(nullptr, 1), nullptr);
  EXPECT_EQ(h->buf_append(nullptr, "a", 1), BP_ERR_INVALID);
}

TEST(HostServices, AppendInputKeepsReferencesOnlyToTheCallersInput) {
  const bp_host_api* h = HostApi();
  ASSERT_TRUE(BP_HOST_HAS(h, buf_append_input));
  const Bytes input = {'a', 'b', 'c', 'd', 'e', 'f'};
  const uint8_t other[3] = {'x', 'y', 'z'};
  {
    // Without KeepInput it is buf_append.
    Bytes out;
    BufWriter w(&out);
    EXPECT_EQ(h->buf_append_input(w.get(), input.data(), 3), BP_OK);
    EXPECT_EQ(h->buf_size(w.get()), 3u);
    EXPECT_EQ(h->buf_append_input(nullptr, input.data(), 1), BP_ERR_INVALID);
  }
  Bytes out = {'#'};
  std::vector<KeptInput> kept;
  size_t committed = 0;
  {
    BufWriter w(&out, 1, BufWriter::ReuseTail{});
    w.KeepInput(input.data(), 5, &kept);  // the call's input is "abcde"; 'f' lies beyond it
    EXPECT_EQ(h->buf_append(w.get(), "H", 1), BP_OK);
    EXPECT_EQ(h->buf_append_input(w.get(), input.data() + 1, 4), BP_OK);  // "bcde": kept
    EXPECT_EQ(h->buf_append_input(w.get(), other, 3), BP_OK);             // not the input: copied
    EXPECT_EQ(h->buf_append_input(w.get(), input.data() + 3, 3), BP_OK);  // runs past it: copied
    EXPECT_EQ(h->buf_size(w.get()), 1u + 1 + 4 + 3 + 3) << "kept bytes count in the size";
    committed = w.committed();
  }
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].at, 2u) << "after '#' and 'H'";
  EXPECT_EQ(kept[0].part.data, input.data() + 1);
  EXPECT_EQ(kept[0].part.length, 4u);
  EXPECT_EQ(std::string(out.begin(), out.begin() + static_cast<long>(committed)), "#Hxyzdef");
}

TEST(HostServices, AppendOverwritesReusedRoomBeforeGrowing) {
  // A reusing writer's vector is longer than its content: an append writes over that room
  // first and grows the vector only by what does not fit, copying each byte once.
  const bp_host_api* h = HostApi();
  Bytes bytes(8, 0xEE);
  bytes[0] = 'a';
  bytes[1] = 'b';
  size_t committed = 0;
  {
    BufWriter w(&bytes, 2, BufWriter::ReuseTail{});
    EXPECT_EQ(h->buf_append(w.get(), "cdef", 4), BP_OK);  // fits in the room
    EXPECT_EQ(bytes.size(), 8u);
    EXPECT_EQ(h->buf_append(w.get(), "ghijklm", 7), BP_OK);  // 2 in the room, 5 beyond it
    EXPECT_EQ(bytes.size(), 13u);
    EXPECT_EQ(h->buf_size(w.get()), 13u);
    committed = w.committed();
  }
  EXPECT_EQ(committed, 13u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "abcdefghijklm");
  {
    BufWriter w(&bytes, 0, BufWriter::ReuseTail{});
    EXPECT_EQ(h->buf_append(w.get(), "xyz", 3), BP_OK);
    EXPECT_EQ(w.committed(), 3u);
  }
  EXPECT_EQ(bytes.size(), 13u) << "a reusing writer never trims";
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 3), "xyz");
}

TEST(HostServices, BufferTrimsUnusedReservations) {
  const bp_host_api* h = HostApi();
  Bytes bytes;
  {
    BufWriter w(&bytes);
    auto* p = static_cast<uint8_t*>(h->buf_reserve(w.get(), 4096));
    ASSERT_NE(p, nullptr);
    p[0] = 'a';
    p[1] = 'b';
    h->buf_commit(w.get(), 2);
  }
  EXPECT_EQ(bytes, (Bytes{'a', 'b'}));
  {
    BufWriter w(&bytes);
    EXPECT_EQ(h->buf_reserve(w.get(), SIZE_MAX), nullptr)
        << "impossible reservations fail, not throw";
  }
  EXPECT_EQ(bytes, (Bytes{'a', 'b'}));
}

TEST(HostServices, ConfigLookups) {
  const bp_host_api* h = HostApi();
  ResolvedConfig r;
  r.scalars = {{"name", "x"},
               {"level", "-3"},
               {"size", "18446744073709551615"},
               {"on", "true"},
               {"off", "false"}};
  r.lists = {{"listen", {"a", "b"}}};
  r.dir = "/etc/bp";
  bp_config cfg = MakePluginConfig(r);
  EXPECT_TRUE(h->config_has(&cfg, "name"));
  EXPECT_TRUE(h->config_has(&cfg, "listen"));
  EXPECT_FALSE(h->config_has(&cfg, "nope"));
  EXPECT_STREQ(h->config_string(&cfg, "name"), "x");
  EXPECT_EQ(h->config_string(&cfg, "nope"), nullptr);
  EXPECT_EQ(h->config_int(&cfg, "level"), -3);
  EXPECT_EQ(h->config_int(&cfg, "size"), INT64_MAX) << "saturates rather than wrapping";
  EXPECT_EQ(h->config_int(&cfg, "name"), 0);
  EXPECT_EQ(h->config_bool(&cfg, "on"), 1);
  EXPECT_EQ(h->config_bool(&cfg, "off"), 0);
  EXPECT_EQ(h->config_list_count(&cfg, "listen"), 2u);
  EXPECT_STREQ(h->config_list_item(&cfg, "listen", 1), "b");
  EXPECT_EQ(h->config_list_item(&cfg, "listen", 2), nullptr);
  EXPECT_STREQ(h->config_dir(&cfg), "/etc/bp");
  EXPECT_EQ(h->config_string(nullptr, "name"), nullptr);
}

TEST(HostServices, ListSink) {
  const bp_host_api* h = HostApi();
  std::vector<ObjectInfo> items;
  bp_list list;
  list.items = &items;
  EXPECT_EQ(h->list_add(&list, "a/1", 10), BP_OK);
  EXPECT_EQ(h->list_add(&list, nullptr, 1), BP_ERR_INVALID);
  EXPECT_FALSE(list.next.has_value());
  h->list_set_next(&list, "a/1");
  EXPECT_EQ(list.next, "a/1");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].key, "a/1");
  EXPECT_EQ(items[0].size, 10u);
}

TEST(HostServices, ErrorsArePerThreadAndConsumedOnce) {
  const bp_host_api* h = HostApi();
  ClearPluginError();
  h->set_error("disk on fire");
  std::string other;
  std::thread([&] { other = TakePluginError(); }).join();
  EXPECT_EQ(other, "") << "another thread does not see this thread's message";
  Status st = PluginStatus(BP_ERR_TRANSIENT, "file: put k");
  EXPECT_TRUE(st.IsTransient());
  EXPECT_EQ(st.message(), "file: put k: disk on fire");
  st = PluginStatus(BP_ERR_NOT_FOUND, "file: get k");
  EXPECT_EQ(st.message(), "file: get k failed (not found)") << "the message was consumed";
  h->set_error("weird");
  st = PluginStatus(-42, "x: op");
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_EQ(st.message(), "x: op: plugin returned unknown code -42: weird");
  st = PluginStatus(5, "x: op");
  EXPECT_EQ(st.code(), Status::Code::kPermanent);
  EXPECT_OK(PluginStatus(BP_OK, "x"));
}

TEST(HostServices, MetricsFromPlugins) {
  const bp_host_api* h = HostApi();
  const int64_t before = Metrics::Global().Value("backend_file_puts_total");
  h->metric_add("backend-File", "puts_total", 3);
  h->metric_add("backend-File", "puts_total", 2);
  EXPECT_EQ(Metrics::Global().Value("backend_file_puts_total") - before, 5);
  h->metric_add("x", "Bad-Name", 1);
  h->metric_add("x", nullptr, 1);
  EXPECT_EQ(Metrics::Global().Value("x_Bad-Name"), 0);
  const std::string text = RenderMetrics();
  EXPECT_THAT(
      text,
      HasSubstr(
          "# TYPE blockpipe_backend_file_puts_total counter\nblockpipe_backend_file_puts_total "));
}

TEST(Metrics, RendersPrometheusText) {
  Metrics m;
  m.Counter("requests_total", "Requests served.").fetch_add(7);
  m.SetGauge("open_volumes", 2, "Volumes\nopen.");
  EXPECT_FALSE(m.Add("Bad", 1));
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP blockpipe_open_volumes Volumes\\nopen.\n"
            "# TYPE blockpipe_open_volumes gauge\n"
            "blockpipe_open_volumes 2\n"
            "# HELP blockpipe_requests_total Requests served.\n"
            "# TYPE blockpipe_requests_total counter\n"
            "blockpipe_requests_total 7\n");
}

}  // namespace
}  // namespace bp
