// FilterStore: ObjectStore over a bp_filter_plugin instance (see filter_adapter.h).
//
// A slot added to struct bp_filter_plugin after 1.6 must be routed with BP_FILTER_KNOWS: a
// filter built before the slot existed never passes that operation through (bp_filter.h, SLOTS
// A FILTER LEAVES NULL, AND SLOTS IT DOES NOT KNOW). Every 1.6 slot is known to every filter,
// because the loader refuses a filter whose struct is shorter than the 1.6 layout. The one such
// slot so far is sync (1.8): through a filter that does not know it the deferred-durability
// capability is cleared, so the filter never sees BP_PUT_DEFER_SYNC either.
#include "loader/filter_adapter.h"

#include <algorithm>
#include <cstring>

#include <blockpipe/bp_filter.h>

#include "loader/call_gate.h"
#include "loader/filter_next.h"
#include "loader/host_services.h"
#include "loader/list_pages.h"
#include "loader/plugin_call_checks.h"

namespace bp {
namespace {

class FilterStore final : public ObjectStore {
 public:
  FilterStore(std::shared_ptr<LoadedPlugin> plugin, std::unique_ptr<bp_config> config,
              std::unique_ptr<NextLayer> next, void* handle)
      : plugin_(std::move(plugin)),
        fn_(plugin_->filter()),
        config_(std::move(config)),
        next_(std::move(next)),
        below_(next_->store()),
        handle_(handle),
        gate_(plugin_->thread_model(), &plugin_->plugin_mutex()) {
    const uint64_t below_caps = below_.Capabilities();
    uint64_t caps = below_caps;
    if (fn_.capabilities != nullptr) {
      auto lock = gate_.Enter();
      ClearPluginError();
      caps = fn_.capabilities(handle_);
    }
    // Compare-and-swap needs both slots served: by the filter, or passed to a capable layer.
    const bool below_cas = (below_caps & BP_BACKEND_CAP_CONDITIONAL_PUT) != 0;
    if ((fn_.get_tagged == nullptr || fn_.put_if_match == nullptr) && !below_cas) {
      caps &= ~uint64_t{BP_BACKEND_CAP_CONDITIONAL_PUT};
    }
    // Native ranged reads: the filter's own read, or a pass-through to a layer that has them.
    if (fn_.read == nullptr && (below_caps & BP_BACKEND_CAP_RANGED_GET) == 0) {
      caps &= ~uint64_t{BP_BACKEND_CAP_RANGED_GET};
    }
    // Neither filters nor the next-layer table have delete_many.
    caps &= ~uint64_t{BP_BACKEND_CAP_DELETE_MANY};
    // Deferred durability needs every layer to pass sync on: a filter built before 1.8 could
    // not, and one that clears the bit below it cannot claim it.
    if (!BP_FILTER_KNOWS(&fn_, sync) ||
        (fn_.sync == nullptr && (below_caps & BP_BACKEND_CAP_DEFER_SYNC) == 0)) {
      caps &= ~uint64_t{BP_BACKEND_CAP_DEFER_SYNC};
    }
    caps_ = caps;
  }

  ~FilterStore() override {
    // The filter is closed first; the layer below is released afterwards, with next_.
    auto lock = gate_.Enter();
    fn_.close(handle_);
  }

  Status Get(const std::string& key, Bytes* out) override {
    if (fn_.get == nullptr) return below_.Get(key, out);
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
    if ((caps_ & BP_BACKEND_CAP_RANGED_GET) == 0)
      return EmulatedRead(key, offset, length, buf, nread);
    if (fn_.read == nullptr) return below_.Read(key, offset, length, buf, nread);
    BP_RETURN_IF_ERROR(CheckKey("read", key));
    uint64_t got = 0;
    int rc;
    {
      auto lock = gate_.Enter();
      ClearPluginError();
      rc = fn_.read(handle_, key.c_str(), offset, length, buf, &got);
    }
    BP_RETURN_IF_ERROR(PluginStatus(rc, Context("read", key)));
    if (got > length) {
      return Status::Permanent(Context("read", key) + ": filter reported " + std::to_string(got) +
                               " bytes for a " + std::to_string(length) + "-byte read");
    }
    *nread = got;
    return Status::Ok();
  }

  Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) override {
    if (fn_.put == nullptr) return below_.Put(key, data, length, if_absent);
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
    return PutPartsWithFlags(key, parts, if_absent ? BP_PUT_IF_ABSENT : 0u);
  }

  Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                           bool if_absent) override {
    if ((caps_ & BP_BACKEND_CAP_DEFER_SYNC) == 0) return PutParts(key, parts, if_absent);
    return PutPartsWithFlags(key, parts, (if_absent ? BP_PUT_IF_ABSENT : 0u) | BP_PUT_DEFER_SYNC);
  }

  Status Sync(const std::vector<std::string>& keys) override {
    if ((caps_ & BP_BACKEND_CAP_DEFER_SYNC) == 0 || keys.empty()) return Status::Ok();
    if (fn_.sync == nullptr) return below_.Sync(keys);
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

  bool TakesParts() const override {
    if (fn_.put_parts != nullptr) return true;
    return fn_.put == nullptr && below_.TakesParts();
  }

  Status GetTagged(const std::string& key, Bytes* out, std::string* tag) override {
    if ((caps_ & BP_BACKEND_CAP_CONDITIONAL_PUT) == 0) return ObjectStore::GetTagged(key, out, tag);
    if (fn_.get_tagged == nullptr) return below_.GetTagged(key, out, tag);
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
    if (fn_.put_if_match == nullptr) {
      return below_.PutIfMatch(key, data, length, expected_tag, new_tag);
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
    if (fn_.del == nullptr) return below_.Delete(key);
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
    if (fn_.list == nullptr) return below_.List(prefix, out);
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
  // Messages name the store, not the stack: the same text with and without filters.
  std::string Describe() const override { return below_.Describe(); }

 private:
  // put_parts through the filter: its own put_parts, else its put of the joined parts (a filter
  // that only sees put must see these writes too), else the layer below.
  Status PutPartsWithFlags(const std::string& key, const ObjectParts& parts, uint32_t flags) {
    const bool if_absent = (flags & BP_PUT_IF_ABSENT) != 0;
    const bool defer = (flags & BP_PUT_DEFER_SYNC) != 0;
    if (fn_.put_parts == nullptr && fn_.put == nullptr) {
      return defer ? below_.PutPartsDeferSync(key, parts, if_absent)
                   : below_.PutParts(key, parts, if_absent);
    }
    BP_RETURN_IF_ERROR(CheckKey("put", key));
    const int rc = CallPluginPut(gate_, handle_, fn_.put, fn_.put_parts, key, parts, flags);
    return PluginStatus(rc, Context("put", key));
  }

  std::string Context(const char* op, const std::string& key) const {
    return plugin_->name() + ": " + op + " " + key;
  }

  Status CheckKey(const char* op, const std::string& key) const {
    return CheckKeyLength(plugin_->name(), op, key, "filters");
  }

  Status CheckedTag(const char (&buf)[BP_VERSION_TAG_MAX], const char* op, const std::string& key,
                    bool may_be_empty, std::string* tag) const {
    return CheckedVersionTag(buf, Context(op, key), "filter", may_be_empty, tag);
  }

  // A filter that cleared BP_BACKEND_CAP_RANGED_GET gets whole-object reads only, through its
  // own get.
  Status EmulatedRead(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                      uint64_t* nread) {
    Bytes whole;
    BP_RETURN_IF_ERROR(Get(key, &whole));
    CopySlice(whole, offset, length, buf, nread);
    return Status::Ok();
  }

  std::shared_ptr<LoadedPlugin> plugin_;
  const bp_filter_plugin& fn_;
  std::unique_ptr<bp_config> config_;  // read by the filter until close
  std::unique_ptr<NextLayer> next_;    // the table the filter keeps; outlives the handle
  ObjectStore& below_;                 // next_'s store
  void* handle_;
  CallGate gate_;
  uint64_t caps_ = 0;
};

}  // namespace

Status OpenPluginFilter(std::shared_ptr<LoadedPlugin> plugin, ResolvedConfig config,
                        std::shared_ptr<ObjectStore> next, std::shared_ptr<ObjectStore>* out) {
  auto cfg = std::make_unique<bp_config>(MakePluginConfig(std::move(config)));
  auto layer = std::make_unique<NextLayer>(std::move(next), plugin->name());
  void* handle = nullptr;
  BP_RETURN_IF_ERROR(OpenPluginInstance(
      *plugin, "filter " + plugin->name() + ": cannot open", "filter " + plugin->name() + ": open",
      [&](void** h) { return plugin->filter().open(cfg.get(), layer->table(), h); },
      plugin->filter().close, &handle));
  *out = std::make_shared<FilterStore>(std::move(plugin), std::move(cfg), std::move(layer), handle);
  return Status::Ok();
}

}  // namespace bp
