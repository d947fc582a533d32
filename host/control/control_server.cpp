// The daemon's control endpoint (see control_server.h for the protocol).
#include "control/control_server.h"

#include "journal/local_journal.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "config/config.h"
#include "control/unix_socket.h"
#include "engine/store_layout.h"
#include "util/metrics.h"

namespace bp {

nlohmann::json SummaryToJson(const VolumeSummary& s) {
  return {{"name", s.name},
          {"uuid", s.uuid},
          {"size", s.size},
          {"codecs", s.codecs},
          {"references", s.references},
          {"mapped_bytes", s.mapped_bytes},
          {"live_bytes", s.live_bytes},
          {"stored_bytes", s.stored_bytes},
          {"garbage_bytes", s.garbage_bytes},
          {"checkpoint_bytes", s.checkpoint_bytes},
          {"last_segment", s.last_segment},
          {"read_only", s.read_only},
          {"gc",
           {{"running", s.gc_running},
            {"client_written_bytes", s.client_written_bytes},
            {"rewritten_bytes", s.gc_rewritten_bytes},
            {"write_amplification", s.gc_write_amplification()},
            {"passes_requested", s.gc_passes_requested},
            {"passes_done", s.gc_passes_done}}}};
}

nlohmann::json SnapshotToJson(const SnapshotSummary& s) {
  return {{"volume", s.volume},
          {"name", s.name},
          {"created_unix_ms", s.created_unix_ms},
          {"size", s.size},
          {"checkpoint", s.checkpoint_seq},
          {"through_segment", s.through_seq},
          {"exclusive_bytes", s.exclusive_bytes},
          {"references", s.references},
          {"problem", s.problem}};
}

ControlServer::ControlServer(std::filesystem::path socket_path, VolumeManager* volumes,
                             std::function<std::string()> metrics)
    : path_(std::move(socket_path)), volumes_(volumes), metrics_(std::move(metrics)) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start() {
  BP_RETURN_IF_ERROR(BindUnixSocket(path_, 0600, &listen_fd_).WithContext("control socket"));
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Status::Permanent("pipe for the control server failed");
  }
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void ControlServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_pipe_[1] >= 0) {
    char c = 0;
    [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void ControlServer::Serve() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) continue;
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ServeOne(fd);
    ::close(fd);
  }
}

void ControlServer::ServeOne(int fd) {
  std::string line;
  nlohmann::json reply;
  // A client that connects and says nothing must not wedge the endpoint: short read deadline.
  Status st = ReadLine(fd, 1u << 20, 10000, &line);
  if (!st.ok()) {
    reply = {{"ok", false}, {"error", st.message()}};
  } else {
    try {
      reply = Handle(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", std::string("malformed request: ") + e.what()}};
    }
  }
  IgnoreError(WriteAll(fd, reply.dump() + "\n"),
              "a client that hung up before its reply has nobody to tell");
}

nlohmann::json ControlServer::Handle(const nlohmann::json& request) {
  auto fail = [](const std::string& message) {
    return nlohmann::json{{"ok", false}, {"error", message}};
  };
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
    return fail("request must be an object with a string \"op\"");
  }
  const std::string op = request["op"];
  auto size_of = [&](uint64_t* size) -> Status {
    if (request.contains("size") && request["size"].is_number_unsigned()) {
      *size = request["size"];
      return Status::Ok();
    }
    if (request.contains("size") && request["size"].is_string()) {
      return ParseSize(request["size"], size);
    }
    return Status::Invalid("\"size\" is required (bytes, or a string like \"10GiB\")");
  };
  auto name_of = [&](std::string* name) -> Status {
    if (!request.contains("name") || !request["name"].is_string()) {
      return Status::Invalid("\"name\" (string) is required");
    }
    *name = request["name"];
    if (!IsValidVolumeName(*name)) {
      return Status::Invalid("invalid volume name `" + *name +
                             "` (1-64 characters of A-Z a-z 0-9 . _ -, not starting with . or -)");
    }
    return Status::Ok();
  };

  if (op == "volume.list") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : volumes_->List()) list.push_back(SummaryToJson(s));
    return {{"ok", true}, {"volumes", list}};
  }
  if (op == "volume.create") {
    std::string name;
    if (Status st = name_of(&name); !st.ok()) return fail(st.message());
    uint64_t size = 0;
    if (Status st = size_of(&size); !st.ok()) return fail(st.message());
    if (size == 0 || size % 512 != 0)
      return fail("volume size must be a non-zero multiple of 512 bytes");
    Status st = volumes_->Create(name, size);
    if (!st.ok()) {
      if (st.IsPrecondition()) return fail(st.message());
      return fail("creating volume `" + name + "`: " + st.message());
    }
    spdlog::info("volume {} created ({} bytes) via control socket", name, size);
    return {{"ok", true}};
  }
  if (op == "volume.delete") {
    std::string name;
    if (Status st = name_of(&name); !st.ok()) return fail(st.message());
    Status st = volumes_->Delete(name);
    if (!st.ok()) {
      if (st.IsNotFound()) return fail("no volume named `" + name + "`");
      return fail("deleting volume `" + name + "`: " + st.message());
    }
    spdlog::info("volume {} deleted via control socket", name);
    return {{"ok", true}};
  }
  // Snapshots, clones, restore and resize (docs/control.md).
  auto string_field = [&](const char* field, std::string* out) -> Status {
    if (!request.contains(field) || !request[field].is_string()) {
      return Status::Invalid(std::string("\"") + field + "\" (string) is required");
    }
    *out = request[field];
    return Status::Ok();
  };
  auto snapshot_of = [&](std::string* volume, std::string* snapshot) -> Status {
    BP_RETURN_IF_ERROR(name_of(volume));
    return string_field("snapshot", snapshot);
  };
  if (op == "snapshot.create") {
    std::string name, snapshot;
    if (Status st = snapshot_of(&name, &snapshot); !st.ok()) return fail(st.message());
    SnapshotSummary summary;
    Status st = volumes_->CreateSnapshot(name, snapshot, &summary);
    if (!st.ok()) return fail("snapshot " + name + "@" + snapshot + ": " + st.message());
    return {{"ok", true}, {"snapshot", SnapshotToJson(summary)}};
  }
  if (op == "snapshot.delete") {
    std::string name, snapshot;
    if (Status st = snapshot_of(&name, &snapshot); !st.ok()) return fail(st.message());
    Status st = volumes_->DeleteSnapshot(name, snapshot);
    if (!st.ok()) return fail("deleting snapshot " + name + "@" + snapshot + ": " + st.message());
    return {{"ok", true}};
  }
  if (op == "snapshot.restore") {
    std::string name, snapshot;
    if (Status st = snapshot_of(&name, &snapshot); !st.ok()) return fail(st.message());
    Status st = volumes_->RestoreSnapshot(name, snapshot);
    if (!st.ok()) return fail(st.message());
    return {{"ok", true}};
  }
  if (op == "snapshot.list") {
    std::string name;
    if (request.contains("name")) {
      if (Status st = name_of(&name); !st.ok()) return fail(st.message());
    }
    std::vector<SnapshotSummary> list;
    Status st = volumes_->ListSnapshots(name, &list);
    if (!st.ok()) return fail("listing snapshots: " + st.message());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : list) out.push_back(SnapshotToJson(s));
    return {{"ok", true}, {"snapshots", out}};
  }
  if (op == "volume.clone") {
    std::string name, snapshot, clone;
    if (Status st = snapshot_of(&name, &snapshot); !st.ok()) return fail(st.message());
    if (Status st = string_field("clone", &clone); !st.ok()) return fail(st.message());
    Status st = volumes_->Clone(name, snapshot, clone);
    if (!st.ok()) return fail(st.message());
    return {{"ok", true}};
  }
  if (op == "volume.resize") {
    std::string name;
    if (Status st = name_of(&name); !st.ok()) return fail(st.message());
    uint64_t size = 0;
    if (Status st = size_of(&size); !st.ok()) return fail(st.message());
    const bool force =
        request.contains("force") && request["force"].is_boolean() && request["force"].get<bool>();
    Status st = volumes_->Resize(name, size, force);
    if (!st.ok()) return fail(st.message());
    return {{"ok", true}};
  }
  if (op == "flush") {
    Status st = volumes_->FlushAll();
    if (!st.ok()) return fail("flush failed: " + st.message());
    return {{"ok", true}};
  }
  if (op == "gc") {
    // Starts passes and returns at once; `blockpipe gc --wait` polls volume.list until each
    // volume's passes_done reaches its pass (this endpoint serves one request at a time).
    std::string name;
    if (request.contains("name")) {
      if (Status st = name_of(&name); !st.ok()) return fail(st.message());
    }
    std::vector<std::pair<std::string, uint64_t>> passes;
    Status st = volumes_->RunGc(name, &passes);
    if (!st.ok()) return fail("gc: " + st.message());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [volume, pass] : passes) list.push_back({{"name", volume}, {"pass", pass}});
    return {{"ok", true}, {"passes", list}};
  }
  if (op == "stats") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : volumes_->List()) list.push_back(SummaryToJson(s));
    nlohmann::json reply = {{"ok", true},
                            {"volumes", list},
                            {"caches", CachesToJson()},
                            {"metrics", metrics_ ? metrics_() : std::string()}};
    JournalBacklog backlog;
    std::string journal_path;
    uint64_t journal_max = 0;
    if (volumes_->Journal(&backlog, &journal_path, &journal_max)) {
      // The local journal's backlog: flushed segments the object store does not have yet.
      reply["journal"] = {{"path", journal_path},
                          {"backlog_segments", backlog.segments},
                          {"backlog_bytes", backlog.bytes},
                          {"max_size", journal_max}};
    }
    return reply;
  }
  return fail("unknown op `" + op + "`");
}

nlohmann::json ControlServer::CachesToJson() {
  // From the metrics the caches keep (cache/unit_cache.cpp, cache/disk_cache.cpp).
  const Metrics& m = Metrics::Global();
  auto rate = [](int64_t hits, int64_t misses) {
    return hits + misses == 0 ? 0.0
                              : static_cast<double>(hits) / static_cast<double>(hits + misses);
  };
  nlohmann::json memory = {
      {"bytes", m.Value("unit_cache_bytes")},
      {"capacity", m.Value("unit_cache_capacity_bytes")},
      {"hits", m.Value("unit_cache_hits_total")},
      {"misses", m.Value("unit_cache_misses_total")},
      {"hit_rate", rate(m.Value("unit_cache_hits_total"), m.Value("unit_cache_misses_total"))}};
  nlohmann::json disk = nullptr;
  if (m.Value("disk_cache_capacity_bytes") != 0) {
    disk = {
        {"bytes", m.Value("disk_cache_bytes")},
        {"capacity", m.Value("disk_cache_capacity_bytes")},
        {"entries", m.Value("disk_cache_entries")},
        {"hits", m.Value("disk_cache_hits_total")},
        {"misses", m.Value("disk_cache_misses_total")},
        {"dropped", m.Value("disk_cache_dropped_total")},
        {"hit_rate", rate(m.Value("disk_cache_hits_total"), m.Value("disk_cache_misses_total"))}};
  }
  return {{"memory", memory}, {"disk", disk}};
}

}  // namespace bp
