// ParseSize: the accepted spellings and the refused ones.
#include <gtest/gtest.h>

#include "config/config.h"
#include "support/status_assert.h"

namespace bp {
namespace {

uint64_t Size(const std::string& text) {
  uint64_t bytes = 0;
  Status st = ParseSize(text, &bytes);
  EXPECT_OK(st) << text;
  return bytes;
}

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(Size("0"), 0u);
  EXPECT_EQ(Size("4096"), 4096u);
  EXPECT_EQ(Size("4096B"), 4096u);
  EXPECT_EQ(Size(" 12 "), 12u);
}

TEST(ParseSize, BinaryUnits) {
  EXPECT_EQ(Size("64KiB"), 64u << 10);
  EXPECT_EQ(Size("16MiB"), 16u << 20);
  EXPECT_EQ(Size("10GiB"), 10ull << 30);
  EXPECT_EQ(Size("2TiB"), 2ull << 40);
  EXPECT_EQ(Size("1EiB"), 1ull << 60);
  EXPECT_EQ(Size("1G"), 1ull << 30);
  EXPECT_EQ(Size("512 mib"), 512ull << 20);
}

TEST(ParseSize, DecimalUnits) {
  EXPECT_EQ(Size("1kB"), 1000u);
  EXPECT_EQ(Size("3GB"), 3000000000ull);
}

TEST(ParseSize, Fractions) {
  EXPECT_EQ(Size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(Size("0.5KiB"), 512u);
  EXPECT_EQ(Size(".25MiB"), 256u << 10);
}

TEST(ParseSize, Refusals) {
  uint64_t bytes = 7;
  for (const char* bad : {"", "   ", "abc", "12XB", "1.5", "0.3KiB", "-1", "1..2", "1.", "1 GiB x",
                          "16EiB", "99999999999999999999999"}) {
    Status st = ParseSize(bad, &bytes);
    EXPECT_FALSE(st.ok()) << "accepted `" << bad << "`";
    EXPECT_EQ(st.code(), Status::Code::kInvalid);
  }
  EXPECT_EQ(bytes, 7u) << "a refused size must not change the output";
  Status st = ParseSize("12XB", &bytes);
  EXPECT_NE(st.message().find("unknown unit `xb`"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("GiB"), std::string::npos) << "the message lists accepted units";
}

TEST(ParseSize, LargestValues) {
  EXPECT_EQ(Size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(Size("15EiB"), 15ull << 60);
  uint64_t bytes;
  EXPECT_FALSE(ParseSize("18446744073709551616", &bytes).ok());
}

}  // namespace
}  // namespace bp
