// The file backend's ABI surface: its config keys, the bp_backend_plugin table and the
// registration. Each callback converts C arguments to C++ and calls FileStore inside Guard(),
// which turns any escaping C++ exception into a BP_ERR_PERMANENT with a message, because no
// exception may cross into the host.
#include <blockpipe/bp_backend.h>

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "file_store.h"
#include "object_key.h"
#include "plugin_support.h"
#include "posix_io.h"

namespace filebackend {
namespace {

template <typename Fn>
int Guard(const char* operation, Fn&& fn) noexcept {
  return bpplugin::Guard("file backend: ", operation, std::forward<Fn>(fn));
}

FileStore* StoreOf(void* handle) { return static_cast<FileStore*>(handle); }

const char* const kUrlSchemes[] = {"file", nullptr};

const struct bp_config_key kConfigKeys[] = {
    {"fsync", BP_CFG_BOOL, "true", 0,
     "Make every put durable (fsync of the object and its directory) before it returns. false is "
     "faster but voids the "
     "durability contract: a FLUSH may be acknowledged for data a power loss destroys."},
    {"read_fd_cache", BP_CFG_INT, "64", 0,
     "Number of object files kept open for ranged reads (0 disables the cache)."},
    {"recycle", BP_CFG_SIZE, "1GiB", 0,
     "Files of deleted objects (1 MiB and larger) kept, up to this many bytes and for at most "
     "10 s, to be written over by the next puts instead of creating new files (0 disables)."},
    {nullptr, 0, nullptr, 0, nullptr},
};

int FileOpen(const struct bp_config* config, const char* url, void** handle) {
  *handle = nullptr;
  return Guard("open", [&] {
    if (url == nullptr) return Fail(BP_ERR_INVALID, "file backend: no url configured");
    const char* dir = config != nullptr ? bp_host->config_dir(config) : nullptr;
    std::string error;
    StoreOptions options;
    options.root = RootFromUrl(url, dir != nullptr ? dir : "", &error);
    if (options.root.empty()) return Fail(BP_ERR_INVALID, "file backend: " + error);
    options.fsync = bpplugin::ConfigBool(config, "fsync", options.fsync);
    int64_t fd_cache = static_cast<int64_t>(options.read_fd_cache);
    if (!bpplugin::ConfigIntInRange(config, "read_fd_cache", 0, 65536, &fd_cache, &error)) {
      return Fail(BP_ERR_INVALID, "file backend: " + error);
    }
    options.read_fd_cache = static_cast<size_t>(fd_cache);
    if (config != nullptr && bp_host->config_has(config, "recycle")) {
      const int64_t recycle = bp_host->config_int(config, "recycle");
      if (recycle < 0) return Fail(BP_ERR_INVALID, "file backend: recycle must not be negative");
      options.recycle = static_cast<uint64_t>(recycle);
    }
    std::unique_ptr<FileStore> store;
    int rc = FileStore::Open(options, &store);
    if (rc != BP_OK) return rc;
    if (!options.fsync) {
      bp_host->log(BP_LOG_WARN, "file",
                   ("fsync = false for " + options.root +
                    ": acknowledged FLUSHes are not durable across a power loss")
                       .c_str());
    }
    *handle = store.release();
    return BP_OK;
  });
}

void FileClose(void* handle) { delete StoreOf(handle); }

uint64_t FileCapabilities(void* handle) { return StoreOf(handle)->Capabilities(); }

int FileGet(void* handle, const char* key, struct bp_buf* out) {
  return Guard("get", [&] { return StoreOf(handle)->Get(key, out); });
}

int FileRead(void* handle, const char* key, uint64_t offset, uint64_t length, void* buf,
             uint64_t* nread) {
  return Guard("read", [&] { return StoreOf(handle)->Read(key, offset, length, buf, nread); });
}

int FilePut(void* handle, const char* key, const void* data, uint64_t length, uint32_t flags) {
  return Guard("put", [&] { return StoreOf(handle)->Put(key, data, length, flags); });
}

int FilePutParts(void* handle, const char* key, const struct bp_span* parts, size_t count,
                 uint32_t flags) {
  return Guard("put", [&] { return StoreOf(handle)->PutParts(key, parts, count, flags); });
}

int FileGetTagged(void* handle, const char* key, struct bp_buf* out, char* tag) {
  return Guard("get", [&] { return StoreOf(handle)->GetTagged(key, out, tag); });
}

int FilePutIfMatch(void* handle, const char* key, const void* data, uint64_t length,
                   const char* expected_tag, char* new_tag) {
  return Guard("put-if-match", [&] {
    return StoreOf(handle)->PutIfMatch(key, data, length, expected_tag, new_tag);
  });
}

int FileDelete(void* handle, const char* key) {
  return Guard("delete", [&] { return StoreOf(handle)->Delete(key); });
}

int FileList(void* handle, const char* prefix, const char* cursor, struct bp_list* out) {
  return Guard("list",
               [&] { return StoreOf(handle)->List(prefix != nullptr ? prefix : "", cursor, out); });
}

int FileDeleteMany(void* handle, const char* const* keys, size_t count, int* results) {
  return Guard("delete_many", [&] { return StoreOf(handle)->DeleteMany(keys, count, results); });
}

int FileSync(void* handle, const char* const* keys, size_t count) {
  return Guard("sync", [&] { return StoreOf(handle)->Sync(keys, count); });
}

}  // namespace
}  // namespace filebackend

static struct bp_backend_plugin file_backend_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "file", "1.3", "objects as files under a local directory"},
    /* url_schemes */ filebackend::kUrlSchemes,
    /* config_keys */ filebackend::kConfigKeys,
    /* open */ filebackend::FileOpen,
    /* close */ filebackend::FileClose,
    /* capabilities */ filebackend::FileCapabilities,
    /* get */ filebackend::FileGet,
    /* read */ filebackend::FileRead,
    /* put */ filebackend::FilePut,
    /* del */ filebackend::FileDelete,
    /* list */ filebackend::FileList,
    /* delete_many */ filebackend::FileDeleteMany,
    /* get_tagged */ filebackend::FileGetTagged,
    /* put_if_match */ filebackend::FilePutIfMatch,
    /* put_parts */ filebackend::FilePutParts,
    /* sync */ filebackend::FileSync,
};

BP_REGISTER_BACKEND(file_backend_plugin, BP_THREAD_PARALLEL)
