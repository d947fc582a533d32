// ObjectStore: the host's view of a backend — whole and ranged reads, atomic puts (optionally
// put-if-absent), compare-and-swap replaces by version tag (BP_BACKEND_CAP_CONDITIONAL_PUT),
// deletes and complete listings. Implemented by the backend plugin adapter
// (loader/backend_adapter) and wrapped by RetryingStore for transient errors; tests use
// MemoryStore (tests/support). All methods are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace bp {

using Bytes = std::vector<uint8_t>;

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

// An object given as contiguous pieces (their concatenation), so bytes that already lie in
// memory somewhere — a unit stored unchanged, in the write buffer it came from — are written
// from there instead of being copied into one buffer first.
struct ObjectPart {
  const uint8_t* data = nullptr;
  uint64_t length = 0;
};
using ObjectParts = std::vector<ObjectPart>;

// Bytes an encoder kept where they lie in its input instead of copying them into its output
// (bp_host_api.buf_append_input): in the output they come right before the byte at offset `at`.
struct KeptInput {
  size_t at = 0;
  ObjectPart part;
};

uint64_t PartsSize(const ObjectParts& parts);
// The concatenation of the parts into *out (replacing its contents).
void JoinParts(const ObjectParts& parts, Bytes* out);
// True when the parts hold exactly data[0, length).
bool PartsEqual(const ObjectParts& parts, const uint8_t* data, uint64_t length);

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Read the whole object into *out (replacing its contents).
  virtual Status Get(const std::string& key, Bytes* out) = 0;
  // Read up to `length` bytes at `offset` into buf; *nread is short only at the object's end.
  virtual Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                      uint64_t* nread) = 0;
  // Atomic create/replace. if_absent: Precondition when the key exists.
  virtual Status Put(const std::string& key, const void* data, uint64_t length, bool if_absent) = 0;
  // Put of the concatenation of the parts, with Put's semantics. The default joins them into a
  // new buffer and calls Put; stores that can write pieces (the backend's put_parts) do so
  // without that copy and say so in TakesParts.
  virtual Status PutParts(const std::string& key, const ObjectParts& parts, bool if_absent);
  // True when PutParts costs no more than Put of one buffer (the segment writer then leaves
  // unchanged units where they lie instead of copying them into its recycled image).
  virtual bool TakesParts() const { return false; }
  // PutParts whose durability against a crash of the machine waits for Sync (the backend's
  // BP_PUT_DEFER_SYNC) when Capabilities() has BP_BACKEND_CAP_DEFER_SYNC; otherwise PutParts,
  // durable at once. Either way atomic to readers and kept across a crash of this process.
  virtual Status PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                                   bool if_absent) {
    return PutParts(key, parts, if_absent);
  }
  // Make the objects of `keys` durable (those that exist); Ok at once when the store's puts are
  // durable anyway (no BP_BACKEND_CAP_DEFER_SYNC).
  virtual Status Sync(const std::vector<std::string>& keys) {
    (void)keys;
    return Status::Ok();
  }
  // The whole object and its version tag (opaque, non-empty; changes with every replace).
  // Unsupported unless Capabilities() has BP_BACKEND_CAP_CONDITIONAL_PUT.
  virtual Status GetTagged(const std::string& key, Bytes* out, std::string* tag) {
    (void)key, (void)out, (void)tag;
    return Status::Unsupported(Describe() + ": no conditional put (version tags)");
  }
  // Replace the object only while its tag is still expected_tag: Precondition when it differs
  // or the object is gone. *new_tag receives the new tag ("" when the store gave none).
  // Unsupported unless Capabilities() has BP_BACKEND_CAP_CONDITIONAL_PUT.
  virtual Status PutIfMatch(const std::string& key, const void* data, uint64_t length,
                            const std::string& expected_tag, std::string* new_tag) {
    (void)key, (void)data, (void)length, (void)expected_tag, (void)new_tag;
    return Status::Unsupported(Describe() + ": no conditional put (put-if-match)");
  }
  // Delete; a missing key is success.
  virtual Status Delete(const std::string& key) = 0;
  // Every key under prefix (all pages), ascending.
  virtual Status List(const std::string& prefix, std::vector<ObjectInfo>* out) = 0;
  // BP_BACKEND_CAP_* bits.
  virtual uint64_t Capabilities() const = 0;
  // For messages: "file:///var/lib/blockpipe/objects".
  virtual std::string Describe() const = 0;
};

}  // namespace bp
