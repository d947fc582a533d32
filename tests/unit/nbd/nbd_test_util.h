// Helpers for the NBD core tests: building option data as a client sends it and splitting the
// negotiation's output back into option replies, so tests assert on protocol messages rather
// than on byte offsets.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nbd_protocol.h"

namespace bpnbd::test {

using Bytes = std::vector<uint8_t>;

struct OptionReply {
  uint32_t option = 0;
  uint32_t type = 0;
  Bytes payload;
  std::string text() const { return std::string(payload.begin(), payload.end()); }
};

// Splits `out` into replies; fails the test on a malformed stream.
inline std::vector<OptionReply> ParseReplies(const Bytes& out) {
  std::vector<OptionReply> replies;
  size_t pos = 0;
  while (pos < out.size()) {
    EXPECT_GE(out.size() - pos, 20u) << "truncated reply header";
    if (out.size() - pos < 20) break;
    EXPECT_EQ(LoadBe64(out.data() + pos), kOptReplyMagic);
    OptionReply r;
    r.option = LoadBe32(out.data() + pos + 8);
    r.type = LoadBe32(out.data() + pos + 12);
    uint32_t length = LoadBe32(out.data() + pos + 16);
    EXPECT_LE(length, out.size() - pos - 20) << "reply length beyond the output";
    if (length > out.size() - pos - 20) break;
    r.payload.assign(out.begin() + static_cast<long>(pos) + 20,
                     out.begin() + static_cast<long>(pos + 20 + length));
    replies.push_back(std::move(r));
    pos += 20 + length;
  }
  return replies;
}

// NBD_OPT_INFO / NBD_OPT_GO data: name length, name, request count, requests.
inline Bytes InfoData(const std::string& name, const std::vector<uint16_t>& requests = {}) {
  Bytes d(4);
  StoreBe32(d.data(), static_cast<uint32_t>(name.size()));
  d.insert(d.end(), name.begin(), name.end());
  uint8_t b[2];
  StoreBe16(b, static_cast<uint16_t>(requests.size()));
  d.insert(d.end(), b, b + 2);
  for (uint16_t r : requests) {
    StoreBe16(b, r);
    d.insert(d.end(), b, b + 2);
  }
  return d;
}

inline Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace bpnbd::test
