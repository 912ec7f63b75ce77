#include "util/yaml_json.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

std::string json_of(const std::string& yaml) {
  return yaml_to_json(YAML::Load(yaml));
}

// Plain scalars are typed by the YAML 1.2 core schema and always written as valid JSON.
TEST(YamlJsonTest, PlainScalarsFollowTheCoreSchema) {
  EXPECT_EQ(json_of("a: 010"), R"({"a":10})");
  EXPECT_EQ(json_of("a: 00.5"), R"({"a":0.5})");
  EXPECT_EQ(json_of("a: -007"), R"({"a":-7})");
  EXPECT_EQ(json_of("a: +12"), R"({"a":12})");
  EXPECT_EQ(json_of("a: -0"), R"({"a":0})");
  EXPECT_EQ(json_of("a: 0o17"), R"({"a":15})");
  EXPECT_EQ(json_of("a: 0x1F"), R"({"a":31})");
  EXPECT_EQ(json_of("a: .5"), R"({"a":0.5})");
  EXPECT_EQ(json_of("a: 1."), R"({"a":1.0})");
  EXPECT_EQ(json_of("a: 6.02E+023"), R"({"a":6.02e23})");
  EXPECT_EQ(json_of("a: 1e-05"), R"({"a":1e-5})");
  EXPECT_EQ(json_of("a: 123456789012345678901234567890"),
            R"({"a":123456789012345678901234567890})");
  EXPECT_EQ(json_of("a: .inf"), R"({"a":"Infinity"})");
  EXPECT_EQ(json_of("a: -.Inf"), R"({"a":"-Infinity"})");
  EXPECT_EQ(json_of("a: .NaN"), R"({"a":"NaN"})");
  EXPECT_EQ(json_of("a: True"), R"({"a":true})");
  EXPECT_EQ(json_of("a: FALSE"), R"({"a":false})");
  EXPECT_EQ(json_of("a: ~"), R"({"a":null})");
  EXPECT_EQ(json_of("a:"), R"({"a":null})");
  EXPECT_EQ(json_of("a: Null"), R"({"a":null})");
}

TEST(YamlJsonTest, EverythingElseIsAString) {
  EXPECT_EQ(json_of("a: yes"), R"({"a":"yes"})");  // a boolean in YAML 1.1 only
  EXPECT_EQ(json_of("a: 0x"), R"({"a":"0x"})");
  EXPECT_EQ(json_of("a: 0o8"), R"({"a":"0o8"})");
  EXPECT_EQ(json_of("a: 1.2.3"), R"({"a":"1.2.3"})");
  EXPECT_EQ(json_of("a: 1e"), R"({"a":"1e"})");
  EXPECT_EQ(json_of("a: ."), R"({"a":"."})");
  EXPECT_EQ(json_of("a: +"), R"({"a":"+"})");
  EXPECT_EQ(json_of("a: 0xFFFFFFFFFFFFFFFFFF"), R"({"a":"0xFFFFFFFFFFFFFFFFFF"})");
  EXPECT_EQ(json_of("a: \"010\""), R"({"a":"010"})");
  EXPECT_EQ(json_of("a: '1.5'"), R"({"a":"1.5"})");
  EXPECT_EQ(json_of("a: !!str 42"), R"({"a":"42"})");
  EXPECT_EQ(json_of("a: \"tab\\there\""), R"({"a":"tab\there"})");
}

TEST(YamlJsonTest, MapsAndSequencesNest) {
  EXPECT_EQ(json_of("drop: [{attribute: http.route, equals: /health}, 3]"),
            R"({"drop":[{"attribute":"http.route","equals":"/health"},3]})");
  EXPECT_EQ(json_of("010: x"), R"({"010":"x"})");  // keys stay strings
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// Found by fuzz_yaml_json: yaml-cpp passes bytes that are not UTF-8 through, and JSON cannot
// hold them; each becomes U+FFFD, well-formed sequences stay as they are.
TEST(YamlJsonTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(json_quote("a\xff"
                       "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(json_quote("\xc3\xa9\xe2\x82"), "\"\xc3\xa9\\ufffd\\ufffd\"");
  EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  EXPECT_EQ(json_quote("\xf0\x9f\x98\x80 \"\n"), "\"\xf0\x9f\x98\x80 \\\"\\n\"");
  EXPECT_EQ(duplicate_key(YAML::Load("a: 1\nb: {c: 1, c: 2}")),
            "line 2: key \"c\" is already defined");
  EXPECT_EQ(duplicate_key(YAML::Load("a: [{x: 1}, {x: 2}]")), "");
  // Two different bytes that are not UTF-8 are the same key once written as JSON.
  EXPECT_NE(duplicate_key(YAML::Load("\xb1: 1\n\xcf: 2\n")), "");
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) laughs += std::string(i ? ", *" : "*") + static_cast<char>(c - 1);
    laughs += "]\n";
  }
  EXPECT_NE(duplicate_key(YAML::Load(laughs)).find("expands to more than"), std::string::npos);
  // Found by fuzz_yaml_json too: an exponent past any double is the infinity it stands for.
  EXPECT_EQ(yaml_scalar_to_json("8e67767777738888888850"), "\"Infinity\"");
  EXPECT_EQ(yaml_scalar_to_json("-1e400"), "\"-Infinity\"");
  EXPECT_EQ(yaml_scalar_to_json("1e-400"), "1e-400");
}

}  // namespace
}  // namespace weft
