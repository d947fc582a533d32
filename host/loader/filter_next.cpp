// The next-layer table of a filter (see filter_next.h). Every function is a C entry point: it
// catches everything, checks the pointers a filter passes, and reports misuse (a cursor for the
// one-page listing, a missing tag) as BP_ERR_INVALID naming the filter.
#include "loader/filter_next.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "loader/host_services.h"

namespace bp {
namespace {

NextLayer& Layer(void* ctx) { return *static_cast<NextLayer*>(ctx); }

// The Status as a code, its message left for the caller's caller as set_error would.
int Report(const Status& st) {
  if (st.ok()) return BP_OK;
  SetPluginError(st.message());
  return st.raw_code();
}

int Misuse(void* ctx, const std::string& what) {
  SetPluginError("filter " + Layer(ctx).who() + " misused the next layer: " + what);
  return BP_ERR_INVALID;
}

// Run fn (returning a code) so that no exception crosses back into the filter.
template <typename Fn>
int Guarded(const char* op, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    SetPluginError("out of memory in the next layer's " + std::string(op));
  } catch (const std::exception& e) {
    SetPluginError("next layer's " + std::string(op) + ": " + e.what());
  } catch (...) {
    SetPluginError("unexpected error in the next layer's " + std::string(op));
  }
  return BP_ERR_PERMANENT;
}

// Append bytes the layer below returned to a host buffer the filter passed on. The usual case,
// an empty buffer, takes the bytes over without a copy.
int AppendBytes(bp_buf* out, Bytes&& bytes) {
  if (out->length == 0 && out->kept == nullptr) {
    *out->bytes = std::move(bytes);
    out->length = out->bytes->size();
    return BP_OK;
  }
  return HostApi()->buf_append(out, bytes.data(), bytes.size());
}

bool ValidBuf(const bp_buf* out) { return out != nullptr && out->bytes != nullptr; }

uint64_t NextCapabilities(void* ctx) {
  try {
    return Layer(ctx).store().Capabilities();
  } catch (...) {
    return 0;
  }
}

int NextGet(void* ctx, const char* key, bp_buf* out) {
  return Guarded("get", [&] {
    if (key == nullptr || !ValidBuf(out)) return Misuse(ctx, "get without a key or buffer");
    Bytes bytes;
    const int rc = Report(Layer(ctx).store().Get(key, &bytes));
    return rc != BP_OK ? rc : AppendBytes(out, std::move(bytes));
  });
}

int NextRead(void* ctx, const char* key, uint64_t offset, uint64_t length, void* buf,
             uint64_t* nread) {
  return Guarded("read", [&] {
    if (key == nullptr || nread == nullptr || (buf == nullptr && length != 0)) {
      return Misuse(ctx, "read without a key, buffer or nread");
    }
    *nread = 0;
    return Report(Layer(ctx).store().Read(key, offset, length, buf, nread));
  });
}

int NextPut(void* ctx, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Guarded("put", [&] {
    if (key == nullptr || (data == nullptr && length != 0)) {
      return Misuse(ctx, "put without a key or data");
    }
    if ((flags & ~uint32_t{BP_PUT_IF_ABSENT | BP_PUT_DEFER_SYNC}) != 0) {
      return Misuse(ctx, "put with unknown flags " + std::to_string(flags));
    }
    const bool if_absent = (flags & BP_PUT_IF_ABSENT) != 0;
    if ((flags & BP_PUT_DEFER_SYNC) != 0) {
      const ObjectParts one{ObjectPart{static_cast<const uint8_t*>(data), length}};
      return Report(Layer(ctx).store().PutPartsDeferSync(key, one, if_absent));
    }
    return Report(Layer(ctx).store().Put(key, data, length, if_absent));
  });
}

int NextPutParts(void* ctx, const char* key, const bp_span* parts, size_t count, uint32_t flags) {
  return Guarded("put_parts", [&] {
    if (key == nullptr || (parts == nullptr && count != 0)) {
      return Misuse(ctx, "put_parts without a key or parts");
    }
    if ((flags & ~uint32_t{BP_PUT_IF_ABSENT | BP_PUT_DEFER_SYNC}) != 0) {
      return Misuse(ctx, "put_parts with unknown flags " + std::to_string(flags));
    }
    ObjectParts pieces;
    pieces.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (parts[i].data == nullptr && parts[i].length != 0) {
        return Misuse(ctx, "put_parts with a part without data");
      }
      pieces.push_back(ObjectPart{static_cast<const uint8_t*>(parts[i].data), parts[i].length});
    }
    const bool if_absent = (flags & BP_PUT_IF_ABSENT) != 0;
    if ((flags & BP_PUT_DEFER_SYNC) != 0) {
      return Report(Layer(ctx).store().PutPartsDeferSync(key, pieces, if_absent));
    }
    return Report(Layer(ctx).store().PutParts(key, pieces, if_absent));
  });
}

int NextGetTagged(void* ctx, const char* key, bp_buf* out, char* tag) {
  return Guarded("get_tagged", [&] {
    if (key == nullptr || !ValidBuf(out) || tag == nullptr) {
      return Misuse(ctx, "get_tagged without a key, buffer or tag buffer");
    }
    Bytes bytes;
    std::string got;
    const int rc = Report(Layer(ctx).store().GetTagged(key, &bytes, &got));
    if (rc != BP_OK) return rc;
    if (got.empty() || got.size() >= BP_VERSION_TAG_MAX) {
      SetPluginError(std::string("next layer returned an unusable version tag for ") + key);
      return BP_ERR_PERMANENT;
    }
    std::memcpy(tag, got.c_str(), got.size() + 1);
    return AppendBytes(out, std::move(bytes));
  });
}

int NextPutIfMatch(void* ctx, const char* key, const void* data, uint64_t length,
                   const char* expected_tag, char* new_tag) {
  return Guarded("put_if_match", [&] {
    if (key == nullptr || (data == nullptr && length != 0) || expected_tag == nullptr ||
        new_tag == nullptr) {
      return Misuse(ctx, "put_if_match without a key, data, expected tag or tag buffer");
    }
    std::string got;
    const int rc = Report(Layer(ctx).store().PutIfMatch(key, data, length, expected_tag, &got));
    if (rc != BP_OK) return rc;
    if (got.size() >= BP_VERSION_TAG_MAX) got.clear();  // "" means: read it back when needed
    std::memcpy(new_tag, got.c_str(), got.size() + 1);
    return BP_OK;
  });
}

int NextDel(void* ctx, const char* key) {
  return Guarded("del", [&] {
    if (key == nullptr) return Misuse(ctx, "del without a key");
    return Report(Layer(ctx).store().Delete(key));
  });
}

int NextSync(void* ctx, const char* const* keys, size_t count) {
  return Guarded("sync", [&] {
    if (keys == nullptr && count != 0) return Misuse(ctx, "sync without keys");
    std::vector<std::string> names;
    names.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (keys[i] == nullptr) return Misuse(ctx, "sync of a null key");
      names.emplace_back(keys[i]);
    }
    return Report(Layer(ctx).store().Sync(names));
  });
}

int NextList(void* ctx, const char* prefix, const char* cursor, bp_list* out) {
  return Guarded("list", [&] {
    if (prefix == nullptr || out == nullptr || out->items == nullptr) {
      return Misuse(ctx, "list without a prefix or sink");
    }
    if (cursor != nullptr) {
      return Misuse(ctx, "list with a cursor (next->list returns the whole listing at once)");
    }
    std::vector<ObjectInfo> items;
    const int rc = Report(Layer(ctx).store().List(prefix, &items));
    if (rc != BP_OK) return rc;
    out->items->insert(out->items->end(), std::make_move_iterator(items.begin()),
                       std::make_move_iterator(items.end()));
    return BP_OK;
  });
}

}  // namespace

NextLayer::NextLayer(std::shared_ptr<ObjectStore> store, std::string who)
    : store_(std::move(store)), who_(std::move(who)) {
  table_.struct_size = sizeof(bp_filter_next);
  table_.ctx = this;
  table_.capabilities = NextCapabilities;
  table_.get = NextGet;
  table_.read = NextRead;
  table_.put = NextPut;
  table_.put_parts = NextPutParts;
  table_.get_tagged = NextGetTagged;
  table_.put_if_match = NextPutIfMatch;
  table_.del = NextDel;
  table_.list = NextList;
  table_.sync = NextSync;
}

}  // namespace bp
