// The imports of module "weft" are declared once (engine.cc); these tests hold the engine's
// registration and docs/abi.md to that list.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "wasm/engine/engine.h"

namespace weft::wasm {
namespace {

// "(level: i32, ptr: i32) -> i32" as Module::signature writes it: "(i32,i32)->(i32)".
std::string normalise(const std::string& documented) {
  const size_t arrow = documented.find("->");
  const std::string params = documented.substr(0, arrow);
  std::string result = arrow == std::string::npos ? "" : documented.substr(arrow + 2);
  std::string out = "(";
  static const std::regex kType(R"((i32|i64|f32|f64))");
  for (auto it = std::sregex_iterator(params.begin(), params.end(), kType);
       it != std::sregex_iterator(); ++it) {
    out += (out.size() > 1 ? "," : "") + it->str();
  }
  out += ")->(";
  std::smatch m;
  if (std::regex_search(result, m, kType)) out += m.str();
  return out + ")";
}

TEST(HostFunctionsTest, DocsAbiListsExactlyTheImportsWeftProvides) {
  std::ifstream in(std::string(WEFT_SOURCE_DIR) + "/docs/abi.md");
  ASSERT_TRUE(in) << "docs/abi.md not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  // The import tables: from "## Results" (the result imports) to "### The config JSON".
  const size_t from = doc.find("## Results"), to = doc.find("### The config JSON");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  const std::string tables = doc.substr(from, to - from);
  std::map<std::string, std::string> documented;
  static const std::regex kRow(R"(\n\| `(\w+)` \| `([^`]*)` \|)");
  for (auto it = std::sregex_iterator(tables.begin(), tables.end(), kRow);
       it != std::sregex_iterator(); ++it) {
    documented[(*it)[1]] = normalise((*it)[2]);
  }
  std::map<std::string, std::string> provided;
  for (const auto& f : host_functions()) provided[f.name] = f.signature;
  EXPECT_EQ(documented, provided) << "docs/abi.md and the host functions in engine.cc differ";
  EXPECT_GE(provided.size(), 15u);
}

// Each declared signature is what the engine registers: a module importing every function
// with its declared signature instantiates (a mismatch would fail to link).
TEST(HostFunctionsTest, TheEngineRegistersEachAsDeclared) {
  std::string wat = "(module";
  for (const auto& f : host_functions()) {
    const size_t arrow = f.signature.find("->");
    std::string params = f.signature.substr(1, arrow - 2);
    std::string results = f.signature.substr(arrow + 3, f.signature.size() - arrow - 4);
    for (char& c : params) c = c == ',' ? ' ' : c;
    wat += " (import \"weft\" \"" + f.name + "\" (func";
    if (!params.empty()) wat += " (param " + params + ")";
    if (!results.empty()) wat += " (result " + results + ")";
    wat += "))";
  }
  wat += ")";
  auto engine = Engine::create({});
  ASSERT_TRUE(engine.ok());
  auto module = engine.value()->compile(wat);
  ASSERT_TRUE(module.ok()) << module.status().message();
  auto instance = Instance::create(module.value(), {});
  EXPECT_TRUE(instance.ok()) << instance.status().message();
}

}  // namespace
}  // namespace weft::wasm
