// ObjectParts helpers (see object_store.h).
#include <cstring>

#include "pipeline/object_store.h"

namespace bp {

uint64_t PartsSize(const ObjectParts& parts) {
  uint64_t total = 0;
  for (const ObjectPart& p : parts) total += p.length;
  return total;
}

void JoinParts(const ObjectParts& parts, Bytes* out) {
  out->resize(PartsSize(parts));
  uint8_t* at = out->data();
  for (const ObjectPart& p : parts) {
    if (p.length != 0) std::memcpy(at, p.data, p.length);
    at += p.length;
  }
}

bool PartsEqual(const ObjectParts& parts, const uint8_t* data, uint64_t length) {
  if (PartsSize(parts) != length) return false;
  for (const ObjectPart& p : parts) {
    if (p.length != 0 && std::memcmp(p.data, data, p.length) != 0) return false;
    data += p.length;
  }
  return true;
}

Status ObjectStore::PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) {
  if (parts.size() == 1) return Put(key, parts[0].data, parts[0].length, if_absent);
  Bytes joined;
  JoinParts(parts, &joined);
  return Put(key, joined.data(), joined.size(), if_absent);
}

}  // namespace bp
