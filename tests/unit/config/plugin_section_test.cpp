// ValidatePluginSection: a plugin section checked against the plugin's declared key table —
// typing, defaults, paths, unknown and missing keys, each with file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

const bp_config_key kKeys[] = {
    {"level", BP_CFG_INT, "3", 0, "Compression level."},
    {"fast", BP_CFG_BOOL, "false", 0, "Prefer speed."},
    {"window", BP_CFG_SIZE, "1MiB", 0, "Window size."},
    {"dictionary", BP_CFG_PATH, nullptr, 0, "Dictionary file."},
    {"tags", BP_CFG_LIST, "a, b", 0, "Tags."},
    {"password", BP_CFG_SECRET, nullptr, 1, "Password for the data key."},
    {"label", BP_CFG_STRING, nullptr, 0, "Free text."},
    {nullptr, 0, nullptr, 0, nullptr},
};

Config ParseWithCodec(const std::string& codec_body) {
  Config c;
  const std::string text =
      "[backend]\nurl = \"file:///x\"\n[[frontend]]\nplugin = \"nbd\"\n"  // 1-4
      "[[codec]]\nplugin = \"zstd\"\n" +                                  // 5-6
      codec_body;                                                         // 7-
  Status st = ParseConfig(text, "/srv/bp.toml", &c);
  EXPECT_OK(st);
  return c;
}

Status Validate(const std::string& body, ResolvedConfig* out) {
  Config c = ParseWithCodec(body);
  return ValidatePluginSection(c, c.codecs.at(0), "zstd", kKeys, out);
}

TEST(PluginSection, TypedValuesAndDefaults) {
  ResolvedConfig r;
  Status st =
      Validate("password = \"pw\"\nlevel = 19\nwindow = \"8MiB\"\ndictionary = \"dicts/d1\"\n", &r);
  ASSERT_OK(st);
  EXPECT_EQ(r.scalars.at("level"), "19");
  EXPECT_EQ(r.scalars.at("fast"), "false") << "default filled in";
  EXPECT_EQ(r.scalars.at("window"), std::to_string(8u << 20));
  EXPECT_EQ(r.scalars.at("dictionary"), "/srv/dicts/d1")
      << "PATH made absolute against the config dir";
  EXPECT_EQ(r.scalars.at("password"), "pw");
  EXPECT_EQ(r.lists.at("tags"), (std::vector<std::string>{"a", "b"}))
      << "LIST default is comma-separated";
  EXPECT_EQ(r.scalars.count("label"), 0u) << "no value, no default: absent";
  EXPECT_EQ(r.dir, "/srv");
}

TEST(PluginSection, UnknownKeyNamesLineAndKnownKeys) {
  ResolvedConfig r;
  Status st = Validate("password = \"pw\"\nlevle = 3\n", &r);
  EXPECT_EQ(st.message(),
            "/srv/bp.toml:8: [codec[0]] key `levle` is not a key of plugin zstd (known: level, "
            "fast, window, "
            "dictionary, tags, password, label)");
  Config c = ParseWithCodec("speed = 1\n");
  const bp_config_key none[] = {{nullptr, 0, nullptr, 0, nullptr}};
  st = ValidatePluginSection(c, c.codecs[0], "lz4", none, &r);
  EXPECT_EQ(st.message(),
            "/srv/bp.toml:7: [codec[0]] key `speed` is not a key of plugin lz4 (it takes no keys "
            "besides `plugin`)");
}

TEST(PluginSection, MissingRequiredKeyNamesSectionLine) {
  ResolvedConfig r;
  Status st = Validate("level = 1\n", &r);
  EXPECT_EQ(st.message(),
            "/srv/bp.toml:5: [codec[0]] plugin zstd requires key `password` (a string): Password "
            "for the data key.");
}

TEST(PluginSection, WrongTypesNameExpectedTypeButNeverSecretValues) {
  ResolvedConfig r;
  EXPECT_EQ(Validate("password = \"pw\"\nlevel = \"high\"\n", &r).message(),
            "/srv/bp.toml:8: [codec[0]] key `level` must be an integer (got string)");
  EXPECT_EQ(
      Validate("password = \"pw\"\nfast = 1\n", &r).message(),
      "/srv/bp.toml:8: [codec[0]] key `fast` must be a boolean (true or false) (got integer)");
  EXPECT_EQ(Validate("password = \"pw\"\ntags = \"a\"\n", &r).message(),
            "/srv/bp.toml:8: [codec[0]] key `tags` must be an array of strings (got string)");
  EXPECT_EQ(
      Validate("password = \"pw\"\ntags = [1, 2]\n", &r).message(),
      "/srv/bp.toml:8: [codec[0]] key `tags` must be an array of strings (got array of integer)");
  EXPECT_EQ(Validate("password = \"pw\"\nwindow = 1.5\n", &r).message(),
            "/srv/bp.toml:8: [codec[0]] key `window` must be a size like \"64MiB\" or an integer "
            "(got float)");
  EXPECT_THAT(Validate("password = \"pw\"\nwindow = \"big\"\n", &r).message(),
              HasSubstr("/srv/bp.toml:8: [codec[0]] key `window` must be a size like \"64MiB\": "
                        "`big` is not a size"));
  Status st = Validate("password = 12345\n", &r);
  EXPECT_EQ(st.message(),
            "/srv/bp.toml:7: [codec[0]] key `password` must be a string (got integer)");
  EXPECT_THAT(st.message(), ::testing::Not(HasSubstr("12345")));
}

TEST(PluginSection, ImplicitKeysPassThrough) {
  Config c;
  ASSERT_OK(
      ParseConfig("[backend]\nurl = \"s3://b/p\"\nregion = \"x\"\n[[frontend]]\nplugin = \"nbd\"\n",
                  "/srv/bp.toml", &c));
  const bp_config_key keys[] = {{"region", BP_CFG_STRING, nullptr, 1, "Region."},
                                {nullptr, 0, nullptr, 0, nullptr}};
  ResolvedConfig r;
  Status st = ValidatePluginSection(c, c.backend, "s3", keys, &r, {"url"});
  ASSERT_OK(st);
  EXPECT_EQ(r.scalars.at("url"), "s3://b/p");
  EXPECT_EQ(r.scalars.at("region"), "x");
  st = ValidatePluginSection(c, c.backend, "s3", keys, &r);
  EXPECT_EQ(st.message(),
            "/srv/bp.toml:2: [backend] key `url` is not a key of plugin s3 (known: region)");
}

TEST(PluginSection, BrokenPluginDefaultsAreReportedAsPluginBugs) {
  Config c = ParseWithCodec("");
  const bp_config_key keys[] = {{"level", BP_CFG_INT, "three", 0, "Level."},
                                {nullptr, 0, nullptr, 0, nullptr}};
  ResolvedConfig r;
  Status st = ValidatePluginSection(c, c.codecs[0], "zstd", keys, &r);
  EXPECT_EQ(st.message(),
            "plugin zstd is broken: its config key `level` has a default that is not an integer");
}

}  // namespace
}  // namespace bp
