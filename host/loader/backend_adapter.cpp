// PluginBackend: ObjectStore over a bp_backend_plugin instance (see backend_adapter.h).
#include "loader/backend_adapter.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "loader/call_gate.h"
#include "loader/host_services.h"
#include "loader/list_pages.h"
#include "loader/plugin_call_checks.h"

namespace bp {
namespace {

class PluginBackend final : public ObjectStore {
 public:
  PluginBackend(std::shared_ptr<LoadedPlugin> plugin, std::unique_ptr<bp_config> config,
                std::string url, void* handle)
      : plugin_(std::move(plugin)),
        fn_(plugin_->backend()),
        config_(std::move(config)),
        url_(std::move(url)),
        handle_(handle),
        gate_(plugin_->thread_model(), &plugin_->plugin_mutex()) {
    uint64_t caps = 0;
    if (fn_.capabilities != nullptr) {
      auto lock = gate_.Enter();
      caps = fn_.capabilities(handle_);
    }
    // A capability whose callback is absent cannot be used, whatever the bits say.
    if (fn_.read == nullptr) caps &= ~uint64_t{BP_BACKEND_CAP_RANGED_GET};
    if (fn_.delete_many == nullptr) caps &= ~uint64_t{BP_BACKEND_CAP_DELETE_MANY};
    // Slots of ABI 1.2: a plugin built against 1.0/1.1 has a shorter struct and is not capable.
    if (!BP_BACKEND_HAS(&fn_, get_tagged) || !BP_BACKEND_HAS(&fn_, put_if_match)) {
      caps &= ~uint64_t{BP_BACKEND_CAP_CONDITIONAL_PUT};
    }
    // ABI 1.8: deferred durability needs the sync slot (an older plugin cannot claim the bit
    // anyway: it did not exist).
    if (!BP_BACKEND_HAS(&fn_, sync)) caps &= ~uint64_t{BP_BACKEND_CAP_DEFER_SYNC};
    caps_ = caps;
  }

  ~PluginBackend() override {
    auto lock = gate_.Enter();
    fn_.close(handle_);
  }

  Status Get(const std::string& key, Bytes* out) override {
    out->clear();
    BP_RETURN_IF_ERROR(CheckKey("get", key));
    int rc;
    {
      BufWriter writer(out);
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.get(handle_, key.c_str(), writer.get());
    }
    Status st = PluginStatus(rc, Context("get", key));
    if (!st.ok()) out->clear();
    return st;
  }

  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override {
    *nread = 0;
    BP_RETURN_IF_ERROR(CheckKey("read", key));
    if ((caps_ & BP_BACKEND_CAP_RANGED_GET) == 0)
      return EmulatedRead(key, offset, length, buf, nread);
    uint64_t got = 0;
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.read(handle_, key.c_str(), offset, length, buf, &got);
    }
    // The context is spelled out only for a failure: unit reads come thousands a second.
    if (rc != BP_OK) return PluginStatus(rc, Context("read", key));
    ClearPluginError();  // as PluginStatus does on success
    if (got > length) {
      return Status::Permanent(Context("read", key) + ": plugin reported " + std::to_string(got) +
                               " bytes for a " + std::to_string(length) + "-byte read");
    }
    *nread = got;
    return Status::Ok();
  }

  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override {
    BP_RETURN_IF_ERROR(CheckKey("put", key));
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.put(handle_, key.c_str(), data, length, if_absent ? BP_PUT_IF_ABSENT : 0u);
    }
    return PluginStatus(rc, Context("put", key));
  }

  Status PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) override {
    return PutWithFlags(key, parts, if_absent ? BP_PUT_IF_ABSENT : 0u);
  }

  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override {
    uint32_t flags = if_absent ? BP_PUT_IF_ABSENT : 0u;
    if ((caps_ & BP_BACKEND_CAP_DEFER_SYNC) != 0) flags |= BP_PUT_DEFER_SYNC;
    return PutWithFlags(key, parts, flags);
  }

  Status Sync(const std::vector<std::string>& keys) override {
    if ((caps_ & BP_BACKEND_CAP_DEFER_SYNC) == 0 || keys.empty()) return Status::Ok();
    std::vector<const char*> names;
    names.reserve(keys.size());
    for (const std::string& key : keys) {
      BP_RETURN_IF_ERROR(CheckKey("sync", key));
      names.push_back(key.c_str());
    }
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.sync(handle_, names.data(), names.size());
    }
    return PluginStatus(rc, Context("sync", keys.front()));
  }

  bool TakesParts() const override { return BP_BACKEND_HAS(&fn_, put_parts); }

 private:
  // put_parts, or put of the joined parts for a plugin without it.
  Status PutWithFlags(const std::string& key, const ObjectParts& parts, uint32_t flags) {
    BP_RETURN_IF_ERROR(CheckKey("put", key));
    const int rc =
        CallPluginPut(gate_, handle_, fn_.put,
                      BP_BACKEND_HAS(&fn_, put_parts) ? fn_.put_parts : nullptr, key, parts, flags);
    return PluginStatus(rc, Context("put", key));
  }

 public:
  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override {
    if ((caps_ & BP_BACKEND_CAP_CONDITIONAL_PUT) == 0) return ObjectStore::GetTagged(key, out, tag);
    out->clear();
    BP_RETURN_IF_ERROR(CheckKey("get", key));
    char buf[BP_VERSION_TAG_MAX] = {};
    int rc;
    {
      BufWriter writer(out);
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.get_tagged(handle_, key.c_str(), writer.get(), buf);
    }
    Status st = PluginStatus(rc, Context("get", key));
    if (st.ok()) st = CheckedTag(buf, "get", key, /*may_be_empty=*/false, tag);
    if (!st.ok()) out->clear();
    return st;
  }

  Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                    const std::string& expected_tag, std::string* new_tag) override {
    if ((caps_ & BP_BACKEND_CAP_CONDITIONAL_PUT) == 0) {
      return ObjectStore::PutIfMatch(key, data, length, expected_tag, new_tag);
    }
    if (expected_tag.empty() || expected_tag.size() >= BP_VERSION_TAG_MAX) {
      return Status::Invalid(Context("put-if-match", key) + ": no usable expected version tag");
    }
    BP_RETURN_IF_ERROR(CheckKey("put-if-match", key));
    char buf[BP_VERSION_TAG_MAX] = {};
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.put_if_match(handle_, key.c_str(), data, length, expected_tag.c_str(), buf);
    }
    BP_RETURN_IF_ERROR(PluginStatus(rc, Context("put-if-match", key)));
    return CheckedTag(buf, "put-if-match", key, /*may_be_empty=*/true, new_tag);
  }

  Status Delete(const std::string& key) override {
    BP_RETURN_IF_ERROR(CheckKey("delete", key));
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.del(handle_, key.c_str());
    }
    Status st = PluginStatus(rc, Context("delete", key));
    return st.IsNotFound() ? Status::Ok() : st;
  }

  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override {
    BP_RETURN_IF_ERROR(CheckKey("list", prefix));
    return CollectListing(
        Context("list", prefix), prefix,
        [&](const char* cursor, bp_list* sink) {
          auto lock = gate_.Enter();
          ClearPluginError();
          return fn_.list(handle_, prefix.c_str(), cursor, sink);
        },
        out);
  }

  uint64_t Capabilities() const override { return caps_; }
  std::string Describe() const override { return RedactUrl(url_); }

 private:
  std::string Context(const char* op, const std::string& key) const {
    return plugin_->name() + ": " + op + " " + key;
  }

  // The SDK promises backends keys of at most BP_KEY_MAX_LENGTH bytes (a plugin may keep them
  // in fixed buffers), so a longer one, which only a host bug can build, never reaches it.
  Status CheckKey(const char* op, const std::string& key) const {
    return CheckKeyLength(plugin_->name(), op, key, "backends");
  }

  // A tag from the plugin must be NUL-terminated within its buffer (the buffer's last byte is
  // never written by a correct plugin) and printable, or later comparisons would be garbage.
  Status CheckedTag(const char (&buf)[BP_VERSION_TAG_MAX], const char* op, const std::string& key,
                    bool may_be_empty, std::string* tag) const {
    return CheckedVersionTag(buf, Context(op, key), "plugin", may_be_empty, tag);
  }

  // Without native ranged reads, fetch the object and copy the slice: correct, but every small
  // read costs a whole object, which is why backends should implement read().
  Status EmulatedRead(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                      uint64_t* nread) {
    Bytes whole;
    BP_RETURN_IF_ERROR(Get(key, &whole));
    CopySlice(whole, offset, length, buf, nread);
    return Status::Ok();
  }

  std::shared_ptr<LoadedPlugin> plugin_;
  const bp_backend_plugin& fn_;
  std::unique_ptr<bp_config> config_;  // read by the plugin until close
  std::string url_;
  void* handle_;
  CallGate gate_;
  uint64_t caps_ = 0;
};

}  // namespace

std::string RedactUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t auth_start = scheme_end + 3;
  const size_t path_start = url.find('/', auth_start);
  const size_t at =
      url.rfind('@', path_start == std::string::npos ? std::string::npos : path_start);
  if (at == std::string::npos || at < auth_start) return url;
  return url.substr(0, auth_start) + "***" + url.substr(at);
}

Status OpenPluginBackend(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                         const std::string& url, std::shared_ptr<ObjectStore>* out) {
  auto cfg = std::make_unique<bp_config>(MakePluginConfig(std::move(config)));
  void* handle = nullptr;
  BP_RETURN_IF_ERROR(OpenPluginInstance(
      *plugin, plugin->name() + ": cannot open " + RedactUrl(url),
      plugin->name() + ": open of " + RedactUrl(url),
      [&](void** h) { return plugin->backend().open(cfg.get(), url.c_str(), h); },
      plugin->backend().close, &handle));
  *out = std::make_shared<PluginBackend>(std::move(plugin), std::move(cfg), url, handle);
  return Status::Ok();
}

}  // namespace bp
