#include "tools/plugin_tool.h"

#include <gtest/gtest.h>

#include <sstream>

namespace weft::tools {
namespace {

TEST(LineDiffTest, EqualTextsHaveNoDiff) {
  EXPECT_EQ(line_diff("a\nb\nc\n", "a\nb\nc\n"), "");
}

TEST(LineDiffTest, ShowsChangedLinesWithContext) {
  const std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n";
  const std::string b = "1\n2\n3\nfour\n5\n6\n7\n8\n";
  EXPECT_EQ(line_diff(a, b), "  2\n  3\n- 4\n+ four\n  5\n  6\n");
}

TEST(LineDiffTest, SeparatesDistantChanges) {
  const std::string a = "a\n1\n2\n3\n4\n5\n6\nb\n";
  const std::string b = "A\n1\n2\n3\n4\n5\n6\nB\n";
  EXPECT_EQ(line_diff(a, b), "- a\n+ A\n  1\n  2\n...\n  5\n  6\n- b\n+ B\n");
}

TEST(LineDiffTest, InsertionsAndDeletions) {
  EXPECT_EQ(line_diff("x\ny\n", "x\n"), "  x\n- y\n");
  EXPECT_EQ(line_diff("", "x\n"), "+ x\n");
}

TEST(PluginToolTest, RefusesBadNamesAndLanguages) {
  std::ostringstream out, err;
  EXPECT_EQ(plugin_new({"Bad Name", "c", "", default_sdk_dir()}, out, err), 2);
  EXPECT_NE(err.str().find("plugin name"), std::string::npos);
  err.str("");
  EXPECT_EQ(plugin_new({"ok", "cobol", "", default_sdk_dir()}, out, err), 2);
  EXPECT_NE(err.str().find("unknown language"), std::string::npos);
}

TEST(PluginToolTest, TestNeedsPluginAndInputTogether) {
  std::ostringstream out, err;
  PluginTestOptions options;
  options.plugin = "x.wasm";
  EXPECT_EQ(plugin_test(options, out, err), 2);
  EXPECT_NE(err.str().find("both --plugin and --input"), std::string::npos);
}

}  // namespace
}  // namespace weft::tools
