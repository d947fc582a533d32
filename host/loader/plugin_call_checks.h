// Checks the backend and filter adapters make around every call into a store plugin, written
// once: what goes in (key length) and what comes back (version tags), and the fallbacks for a
// ranged read or a put of parts that a plugin does not serve.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <blockpipe/bp_backend.h>

#include "loader/call_gate.h"
#include "loader/host_services.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// The SDK promises plugins keys of at most BP_KEY_MAX_LENGTH bytes (a plugin may keep them in
// fixed buffers), so a longer one, which only a host bug can build, never reaches one. `plugin`
// names it in the message, `takers` says who makes the promise ("backends", "filters").
Status CheckKeyLength(const std::string& plugin, const char* op, const std::string& key,
                      const char* takers);

// A tag from a plugin must be NUL-terminated within its buffer (a correct plugin never writes
// the buffer's last byte) and printable, or later comparisons would be garbage. `context` names
// the call ("s3: get k"), `who` the kind of plugin in the message.
Status CheckedVersionTag(const char (&buf)[BP_VERSION_TAG_MAX], const std::string& context,
                         const char* who, bool may_be_empty, std::string* tag);

// The bytes [offset, offset+length) of a whole object, for a ranged read served by a get:
// *nread is what the object holds there (0 past its end).
void CopySlice(const Bytes& whole, uint64_t offset, uint64_t length, void* buf, uint64_t* nread);

// Put `parts` through one plugin call under `gate`: put_parts when the plugin has it (pass
// nullptr when it does not), else put with the parts joined into one buffer (no copy for a
// single part). Returns the plugin's int for PluginStatus.
template <typename Handle, typename PutFn, typename PutPartsFn>
int CallPluginPut(CallGate& gate, Handle handle, PutFn put, PutPartsFn put_parts,
                  const std::string& key, const ObjectParts& parts, uint32_t flags) {
  if (put_parts == nullptr) {
    Bytes joined;
    const void* data = parts.size() == 1 ? parts[0].data : nullptr;
    uint64_t length = parts.size() == 1 ? parts[0].length : 0;
    if (parts.size() != 1) {
      JoinParts(parts, &joined);
      data = joined.data();
      length = joined.size();
    }
    auto lock = gate.Enter();
    ClearPluginError();
    return put(handle, key.c_str(), data, length, flags);
  }
  std::vector<bp_span> spans;
  spans.reserve(parts.size());
  for (const ObjectPart& p : parts) spans.push_back(bp_span{p.data, p.length});
  auto lock = gate.Enter();
  ClearPluginError();
  return put_parts(handle, key.c_str(), spans.data(), spans.size(), flags);
}

}  // namespace bp
