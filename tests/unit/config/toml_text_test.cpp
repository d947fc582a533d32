// What config text must be before toml11 parses it (host/config/toml_text.h): UTF-8, with every
// kind of malformed sequence refused at FILE:LINE:COLUMN, valid multi-byte text of every length
// kept byte for byte, and arrays/inline tables nested only so deep — including the inputs that
// crashed toml11 3.7.1 (heap overflow on a literal string holding 0xff, stack overflow on deep
// nesting).
#include "config/toml_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

const char* kFile = "/etc/bp/blockpipe.toml";
const std::string kMinimal =
    "[backend]\n"                      // 1
    "url = \"file:///srv/objects\"\n"  // 2
    "[[frontend]]\n"                   // 3
    "plugin = \"nbd\"\n";              // 4

std::string ErrorOf(const std::string& text) {
  Config c;
  Status st = ParseConfig(text, kFile, &c);
  EXPECT_FALSE(st.ok()) << "accepted:\n" << text;
  EXPECT_EQ(st.code(), Status::Code::kInvalid);
  return st.message();
}

// The fuzz input of issue 14, as a top-level quoted key and as a value: toml11 read past its
// buffer on both (ASan: heap-buffer-overflow; Release: "basic_string::_M_create").
TEST(TomlText, LiteralStringWithInvalidUtf8IsRefusedAtLineAndColumn) {
  const std::string bad = "' bc" + std::string(80, '\xff') + " :p '";
  EXPECT_EQ(ErrorOf(bad),
            "/etc/bp/blockpipe.toml:1:5: not UTF-8 (byte 0xFF, a byte that never occurs in UTF-8); "
            "a TOML file must be UTF-8 text");
  EXPECT_EQ(
      ErrorOf(kMinimal + "note = " + bad + "\n"),
      "/etc/bp/blockpipe.toml:5:12: not UTF-8 (byte 0xFF, a byte that never occurs in UTF-8); "
      "a TOML file must be UTF-8 text");
  EXPECT_THAT(ErrorOf(kMinimal + "note = '''x\n" + bad + "'''\n"),
              HasSubstr("blockpipe.toml:6:5: not UTF-8"));
}

TEST(TomlText, EveryKindOfMalformedSequenceIsNamed) {
  struct Case {
    std::string bytes;
    std::string why;
  };
  const Case cases[] = {
      {"\x80", "byte 0x80, a continuation byte where a character should start"},
      {"\xC0\xAF", "byte 0xC0, an overlong encoding"},          // '/' in two bytes
      {"\xE0\x80\xAF", "byte 0xE0, an overlong encoding"},      // '/' in three bytes
      {"\xF0\x80\x80\xAF", "byte 0xF0, an overlong encoding"},  // '/' in four bytes
      {"\xED\xA0\x80", "byte 0xED, a UTF-16 surrogate"},        // U+D800
      {"\xED\xBF\xBF", "byte 0xED, a UTF-16 surrogate"},        // U+DFFF
      {"\xF4\x90\x80\x80", "byte 0xF4, a code point above U+10FFFF"},
      {"\xF5\x80\x80\x80", "byte 0xF5, a code point above U+10FFFF"},
      {"\xE2\x82x", "byte 0xE2, a truncated sequence"},  // € without its last byte
      {"\xF0\x9F\x98", "byte 0xF0, a truncated sequence"},
      {"\xFE", "byte 0xFE, a byte that never occurs in UTF-8"},
  };
  for (const Case& c : cases) {
    // In a basic string after three two-byte characters: the column counts characters.
    EXPECT_EQ(
        ErrorOf(kMinimal + "\nnote = \"\xC3\xA9\xC3\xA9\xC3\xA9" + c.bytes + "\"\n"),
        "/etc/bp/blockpipe.toml:6:12: not UTF-8 (" + c.why + "); a TOML file must be UTF-8 text");
  }
  // At the very end of the text, with nothing after the lead byte.
  EXPECT_EQ(ErrorOf(kMinimal + "# \xE2\x82"),
            "/etc/bp/blockpipe.toml:5:3: not UTF-8 (byte 0xE2, a truncated sequence); a TOML file "
            "must be UTF-8 text");
}

TEST(TomlText, ValidMultiByteUtf8IsAcceptedByteForByte) {
  // The first and last code point of every sequence length, those next to the surrogates, and
  // text people write: accents, CJK, an emoji, in comments, keys, strings and an array.
  const std::string edges =
      "\xC2\x80\xDF\xBF"                                  // U+0080 U+07FF
      "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"  // U+0800 U+D7FF U+E000 U+FFFF
      "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";                 // U+10000 U+10FFFF
  const std::string text =
      "# donn\xC3\xA9"
      "es \xE2\x82\xAC \xF0\x9F\x98\x80\n" +
      kMinimal +
      "\"cl\xC3\xA9\" = 'caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC'\n"
      "edges = \"" +
      edges +
      "\"\n"
      "list = [\"\xCE\xB1\", '''\xCE\xB2\n\xF0\x9F\x98\x80''']\n";
  Config c;
  Status st = ParseConfig(text, kFile, &c);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(c.frontends.size(), 1u);
  const auto& values = c.frontends[0].values;
  ASSERT_EQ(values.count("cl\xC3\xA9"), 1u);
  EXPECT_EQ(values.at("cl\xC3\xA9").text, "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(values.at("edges").text, edges);
  EXPECT_EQ(values.at("list").items,
            (std::vector<std::string>{"\xCE\xB1", "\xCE\xB2\n\xF0\x9F\x98\x80"}));
}

TEST(TomlText, Utf8SequenceLengthAgreesWithTheTable) {
  const char* why = nullptr;
  EXPECT_EQ(config_detail::Utf8SequenceLength("a", 0, &why), 1u);
  EXPECT_EQ(config_detail::Utf8SequenceLength(std::string_view("\0", 1), 0, &why), 1u);
  EXPECT_EQ(config_detail::Utf8SequenceLength("\xC2\x80", 0, &why), 2u);
  EXPECT_EQ(config_detail::Utf8SequenceLength("\xEF\xBF\xBF", 0, &why), 3u);
  EXPECT_EQ(config_detail::Utf8SequenceLength("\xF4\x8F\xBF\xBF", 0, &why), 4u);
  EXPECT_EQ(config_detail::Utf8SequenceLength("x\xF0\x90\x80\x80", 1, &why), 4u);
  EXPECT_EQ(config_detail::Utf8SequenceLength("\xF0\x90\x80", 0, &why), 0u);
  EXPECT_STREQ(why, "a truncated sequence");
}

std::string Nested(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

TEST(TomlText, NestingIsBounded) {
  Config c;
  Status st =
      ParseConfig(kMinimal + "deep = " + Nested(config_detail::kMaxTomlNesting) + "\n", kFile, &c);
  EXPECT_TRUE(st.ok()) << st.message();
  // One more, as arrays or as inline tables inside arrays: refused at the bracket that is too
  // deep. toml11 itself overflowed the stack on a few thousand.
  EXPECT_EQ(ErrorOf(kMinimal + "deep = " + Nested(config_detail::kMaxTomlNesting + 1) + "\n"),
            "/etc/bp/blockpipe.toml:5:40: arrays and inline tables nested more than 32 deep");
  std::string tables = "deep = ";
  for (int i = 0; i < 5000; ++i) tables += "[{a = ";
  EXPECT_THAT(ErrorOf(kMinimal + tables), HasSubstr("blockpipe.toml:5:"));
  EXPECT_THAT(ErrorOf(kMinimal + "deep = " + Nested(100000)),
              HasSubstr("nested more than 32 deep"));
}

// toml11 doubles a binary integer's place value once per digit, overflowing int64 (undefined
// behaviour, caught by UBSan in fuzz-config) on the 63rd, leading zeros included.
TEST(TomlText, BinaryIntegersAreBounded) {
  // 62 digits pass, underscores aside; so does `0b` inside a bare key. (A bare key that starts
  // with `0b` and 63 binary digits is refused like a number: no config needs one.)
  Config c;
  Status st = ParseConfig(kMinimal + "mask = 0b" + std::string(62, '1') + "\n" + "flags = 0b1_" +
                              std::string(60, '0') + "_1\n" + "x0b" + std::string(70, '1') +
                              " = 'a key, not a number'\n",
                          kFile, &c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.frontends[0].values.at("mask").text, std::to_string((1ull << 62) - 1));
  EXPECT_EQ(c.frontends[0].values.at("flags").text, std::to_string((1ull << 61) + 1));
  EXPECT_EQ(ErrorOf(kMinimal + "mask = 0b" + std::string(63, '0') + "\n"),
            "/etc/bp/blockpipe.toml:5:8: binary integer of more than 62 digits");
  EXPECT_THAT(ErrorOf(kMinimal + "masks = [1, 0b" + std::string(40, '1') + "_" +
                      std::string(40, '1') + "]\n"),
              HasSubstr("blockpipe.toml:5:13: binary integer of more than 62 digits"));
}

TEST(TomlText, BracketsInStringsAndCommentsDoNotCount) {
  const std::string many(200, '[');
  const std::string text = kMinimal + "# " + many + "\n" + "a = \"" + many + "\\\"" + many +
                           "\"\n" + "b = '" + many + "'\n" + "c = \"\"\"" + many + "\"\"\"\"\"\n" +
                           "d = '''" + many + "\n" + many + "'''''\n" + "e = [[1], {x = 2}]\n";
  Config c;
  Status st = ParseConfig(text, kFile, &c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.frontends[0].values.at("c").text, many + "\"\"");
  EXPECT_EQ(c.frontends[0].values.at("d").text, many + "\n" + many + "''");
}

}  // namespace
}  // namespace bp
