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

TEST(Tables, JwksRowsByKidCarryAPemPublicKey) {
  testing::TempDir dir;
  // RSA: a 512-bit modulus is enough to check the conversion; EC: a P-256 point.
  const std::string path = dir.write("keys.jwks",
                                     R"({"keys": [
        {"kid": "r1", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB",
         "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"},
        {"kid": "e1", "kty": "EC", "crv": "P-256", "alg": "ES256",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
         "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
      ]})");
  TableSpec spec = spec_of(path, Format::kJwks);
  auto table = load_table(spec);
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::vector<Field> fields;
  ASSERT_TRUE((*table)->find("r1", fields));
  EXPECT_EQ(field(fields, "alg"), "RS256");
  EXPECT_EQ(field(fields, "pem").rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  ASSERT_TRUE((*table)->find("e1", fields));
  EXPECT_EQ(field(fields, "kty"), "EC");
  EXPECT_EQ(field(fields, "pem").rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);

  auto oct = load_table(
      spec_of(dir.write("oct.jwks", R"({"keys":[{"kid":"h","kty":"oct","k":"c2VjcmV0"}]})"),
              Format::kJwks));
  ASSERT_FALSE(oct.ok());
  EXPECT_NE(oct.status().message().find("a symmetric key is a secret"), std::string::npos);
  auto bad = load_table(
      spec_of(dir.write("bad.jwks",
                        R"({"keys":[{"kid":"b","kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]})"),
              Format::kJwks));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a valid EC public key"), std::string::npos);
}

}  // namespace
}  // namespace weft::lookup
