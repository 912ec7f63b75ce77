#include "lookup/tables.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/temp.h"

namespace weft::lookup {
namespace {

std::string field(const std::vector<Field>& fields, const std::string& name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return "<absent>";
}

TableSpec spec_of(const std::string& path, Format format, std::string key = {}) {
  TableSpec spec;
  spec.name = "t";
  spec.path = path;
  spec.format = format;
  spec.key = std::move(key);
  return spec;
}

TEST(Tables, CsvRowsByKeyColumnWithQuotesAndCrlf) {
  testing::TempDir dir;
  const std::string path =
      dir.write("teams.csv",
                "team,service.name,note\r\npayments,checkout,\"says \"\"hi\"\", twice\"\r\n"
                "search,frontend,\"two\nlines\"\r\n\r\n");
  auto table = load_table(spec_of(path, Format::kCsv, "service.name"));
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ((*table)->entries(), 2u);
  std::vector<Field> fields;
  ASSERT_TRUE((*table)->find("checkout", fields));
  EXPECT_EQ(field(fields, "team"), "payments");
  EXPECT_EQ(field(fields, "note"), "says \"hi\", twice");
  EXPECT_EQ(field(fields, "service.name"), "<absent>");  // the key is not a field
  ASSERT_TRUE((*table)->find("frontend", fields));
  EXPECT_EQ(field(fields, "note"), "two\nlines");
  EXPECT_FALSE((*table)->find("nothing", fields));
}

TEST(Tables, MalformedCsvIsRefusedWithTheLine) {
  testing::TempDir dir;
  auto columns = load_table(spec_of(dir.write("a.csv", "k,v\na,1\nb,2,3\n"), Format::kCsv));
  ASSERT_FALSE(columns.ok());
  EXPECT_NE(columns.status().message().find("line 3: 3 columns, the header has 2"),
            std::string::npos)
      << columns.status().message();
  auto twice = load_table(spec_of(dir.write("b.csv", "k,v\na,1\na,2\n"), Format::kCsv));
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("key \"a\" appears twice"), std::string::npos);
  auto key = load_table(spec_of(dir.write("c.csv", "k,v\na,1\n"), Format::kCsv, "team"));
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("no key column \"team\" (the columns: k, v)"),
            std::string::npos)
      << key.status().message();
  auto quote = load_table(spec_of(dir.write("d.csv", "k,v\na,\"open\n"), Format::kCsv));
  ASSERT_FALSE(quote.ok());
  EXPECT_NE(quote.status().message().find("unterminated quote"), std::string::npos);
  auto missing = load_table(spec_of((dir.path() / "none.csv").string(), Format::kCsv));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
}

TEST(Tables, JsonRowsFlattenNestedValues) {
  testing::TempDir dir;
  const std::string path =
      dir.write("t.json",
                R"({"checkout": {"team": "payments", "tier": 1, "oncall": {"primary": "ana"},
                       "tags": ["a", "b"], "gone": null, "paged": true},
          "search": "plain"})");
  auto table = load_table(spec_of(path, Format::kJson));
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::vector<Field> fields;
  ASSERT_TRUE((*table)->find("checkout", fields));
  EXPECT_EQ(field(fields, "team"), "payments");
  EXPECT_EQ(field(fields, "tier"), "1");
  EXPECT_EQ(field(fields, "oncall.primary"), "ana");
  EXPECT_EQ(field(fields, "tags.1"), "b");
  EXPECT_EQ(field(fields, "gone"), "<absent>");
  EXPECT_EQ(field(fields, "paged"), "true");
  ASSERT_TRUE((*table)->find("search", fields));
  EXPECT_EQ(field(fields, "value"), "plain");

  auto array = load_table(spec_of(dir.write("a.json", "[1,2]"), Format::kJson));
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.status().message().find("must be a JSON object"), std::string::npos);
  auto broken = load_table(spec_of(dir.write("b.json", "{\"a\": "), Format::kJson));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("not JSON"), std::string::npos);
}

TEST(Tables, AFileThatIsNotAMaxMindDbIsRefused) {
  testing::TempDir dir;
  auto table = load_table(spec_of(dir.write("geo.mmdb", "not a database"), Format::kMmdb));
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("table t ("), std::string::npos);
  EXPECT_NE(table.status().message().find("not a MaxMind DB"), std::string::npos);
}

TEST(Tables, EncodedFieldsAreLengthPrefixed) {
  const std::string bytes = encode_fields({{"ab", "c"}});
  EXPECT_EQ(bytes, std::string("\x02\0\0\0ab\x01\0\0\0c", 11));
}

TEST(Tables, AFailedReloadKeepsTheVersionInForce) {
  testing::TempDir dir;
  const std::string path = dir.write("t.csv", "k,v\na,1\n");
  TableSet set;
  TableSpec spec = spec_of(path, Format::kCsv);
  spec.watch_interval = std::chrono::milliseconds(0);
  ASSERT_TRUE(set.configure({spec}).is_ok());
  auto first = set.get("t");
  ASSERT_NE(first, nullptr);

  dir.write("t.csv", "k,v\na,1,extra\n");
  EXPECT_FALSE(set.reload("t").is_ok());
  EXPECT_EQ(set.get("t"), first);

  dir.write("t.csv", "k,v\na,2\n");
  ASSERT_TRUE(set.reload("t").is_ok());
  std::vector<Field> fields;
  ASSERT_TRUE(set.get("t")->find("a", fields));
  EXPECT_EQ(field(fields, "v"), "2");
  ASSERT_TRUE(first->find("a", fields));  // a pinned version stays as it was
  EXPECT_EQ(field(fields, "v"), "1");
  EXPECT_EQ(set.get("other"), nullptr);
}

}  // namespace
}  // namespace weft::lookup
