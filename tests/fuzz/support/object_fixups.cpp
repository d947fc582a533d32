// ApplyObjectFixups; the offsets are those of docs/format.md (80-byte header, segment meta with
// a 32-byte preamble followed by 20-byte unit entries whose last field is the unit's crc).
#include "object_fixups.h"

#include "util/crc32c.h"

namespace bptest {
namespace {

constexpr size_t kHeader = 80;
constexpr size_t kBodyLengthAt = 40;
constexpr size_t kBodyCrcAt = 64;
constexpr size_t kHeaderCrcAt = 76;
constexpr size_t kMetaUnitCountAt = 12;
constexpr size_t kMetaUnitsAt = 32;
constexpr size_t kUnitEntry = 20;

uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

void ApplyObjectFixups(std::vector<uint8_t>* object, uint8_t fixups) {
  std::vector<uint8_t>& o = *object;
  if (o.size() < kHeader) return;
  const uint64_t body_length = Le(o.data() + kBodyLengthAt, 8);
  const bool body_present = body_length <= o.size() - kHeader;
  if ((fixups & kFixUnitCrcs) && body_present && body_length >= kMetaUnitsAt) {
    uint8_t* body = o.data() + kHeader;
    const uint64_t data_start = kHeader + body_length;
    const uint64_t count = Le(body + kMetaUnitCountAt, 4);
    for (uint64_t i = 0; i < count && kMetaUnitsAt + (i + 1) * kUnitEntry <= body_length; ++i) {
      uint8_t* entry = body + kMetaUnitsAt + i * kUnitEntry;
      const uint64_t rel = Le(entry, 8);
      const uint64_t stored = Le(entry + 8, 4);
      const uint64_t room = o.size() - data_start;
      if (rel > room || stored > room - rel) continue;
      PutLe32(entry + 16, bp::Crc32c(o.data() + data_start + rel, stored));
    }
  }
  if ((fixups & kFixBodyCrc) && body_present) {
    PutLe32(o.data() + kBodyCrcAt, bp::Crc32c(o.data() + kHeader, body_length));
  }
  if (fixups & kFixHeaderCrc) PutLe32(o.data() + kHeaderCrcAt, bp::Crc32c(o.data(), kHeaderCrcAt));
}

}  // namespace bptest
