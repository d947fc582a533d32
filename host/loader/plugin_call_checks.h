// Checks the backend and filter adapters make around every call into a store plugin, written
// once: what goes in (key length) and what comes back (version tags), and the whole-object
// fallback for a ranged read a plugin does not serve.
#pragma once

#include <cstdint>
#include <string>

#include <blockpipe/bp_backend.h>

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

}  // namespace bp
