// The whole configuration loader with every built-in component's factory: YAML, the merge of
// several files, ${env:...} expansion, each component's settings, pipelines and connectors.
// Input: the files' text, separated by NUL bytes (at most three files). Checked invariants:
// the loader either gives a configuration or says what is wrong, never both or neither, and
// a configuration it gives has pipelines that name only components it defines.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "exe/components.h"
#include "fuzz_check.h"

namespace {

std::string& directory() {
  static std::string dir = [] {
    std::string templ = "/tmp/fuzz_config.XXXXXX";
    check(mkdtemp(templ.data()) != nullptr, "a temporary directory");
    return templ;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("FUZZ_ENDPOINT", "localhost:4317", 1);
  setenv("FUZZ_EMPTY", "", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const weft::Factories factories(weft::builtin_factories());
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> files;
  size_t start = 0;
  while (files.size() < 3) {
    const size_t end = input.find('\0', start);
    const std::string path = directory() + "/" + std::to_string(files.size()) + ".yaml";
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        << input.substr(start, end == std::string::npos ? std::string::npos : end - start);
    files.push_back(path);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  const weft::LoadedConfig loaded = weft::load_config(files, factories);
  check(loaded.config.has_value() != !loaded.errors.empty(), "a configuration or errors");
  if (!loaded.config) return 0;
  const weft::CollectorConfig& config = *loaded.config;
  for (const auto& pipeline : config.pipelines) {
    for (const auto& id : pipeline.receivers) {
      check(config.receivers.count(id) + config.connectors.count(id) == 1, "receiver defined");
    }
    for (const auto& id : pipeline.processors) check(config.processors.count(id) == 1, "processor");
    for (const auto& id : pipeline.exporters) {
      check(config.exporters.count(id) + config.connectors.count(id) == 1, "exporter defined");
    }
  }
  return 0;
}
