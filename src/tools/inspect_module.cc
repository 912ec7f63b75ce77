#include "tools/plugin_tool.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <vector>

#include "tools/common.h"
#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"

namespace weft::tools {

Result<ModuleFacts> inspect_module(const std::string& bytes) {
  auto engine = wasm::Engine::create({});
  if (!engine.ok()) return engine.status();
  auto module = engine.value()->compile(bytes);
  if (!module.ok())
    return Status::invalid_argument("not a valid module: " + module.status().message());
  const auto& m = *module.value();
  ModuleFacts facts;
  facts.size = bytes.size();
  facts.abi = "unknown";
  if (m.exports_function("weft_abi_version")) {
    wasm::InstanceLimits limits;
    limits.timeout = std::chrono::seconds(5);  // a language runtime's start-up, compiled cold
    auto instance = wasm::Instance::create(module.value(), limits);
    if (instance.ok()) {
      // (Instance::create has run _initialize.)
      auto version = instance.value()->call("weft_abi_version", {}, nullptr);
      facts.abi =
          version.ok() ? std::to_string(version.value) : "unknown (" + version.message + ")";
      if (version.ok()) facts.abi_major = static_cast<int>(version.value);
    } else {
      facts.abi = "unknown (" + instance.status().message() + ")";
    }
  } else {
    facts.abi = "none (no weft_abi_version export: not a weft plugin)";
  }
  // What the imports call for. Nothing is granted by default (docs/abi.md, Capabilities).
  std::map<std::string, std::string> capability_of;
  for (const auto& f : wasm::host_functions()) {
    if (!f.capability.empty()) capability_of["weft." + f.name] = f.capability;
  }
  bool wasi = false;
  for (const auto& import : m.imports()) {
    if (auto it = capability_of.find(import); it != capability_of.end()) {
      if (std::find(facts.capabilities.begin(), facts.capabilities.end(), it->second) ==
          facts.capabilities.end()) {
        facts.capabilities.push_back(it->second);
        facts.permissions.push_back(it->second.substr(0, it->second.find(':')));
      }
    }
    if (import.rfind("wasi_snapshot_preview1.", 0) == 0) wasi = true;
  }
  if (wasi) facts.capabilities.emplace_back("wasi: clocks and random only (no files, env or args)");
  for (Signal s : kAllSignals) {
    const std::string name(signal_name(s));
    const bool process = m.exports_function("weft_process_" + name);
    if (process) facts.signals.push_back(name);
    if (m.exports_function("weft_export_" + name)) {
      if (!process) facts.signals.push_back(name);
      if (std::find(facts.kinds.begin(), facts.kinds.end(), "exporter") == facts.kinds.end())
        facts.kinds.emplace_back("exporter");
    }
  }
  facts.imports = m.imports();
  const bool emits =
      std::find(facts.imports.begin(), facts.imports.end(), "weft.emit") != facts.imports.end();
  if (m.exports_function("weft_receive")) facts.kinds.emplace_back("receiver");
  bool processes = false;
  for (Signal s : kAllSignals)
    processes |= m.exports_function("weft_process_" + std::string(signal_name(s)));
  if (processes) facts.kinds.emplace_back("processor");
  if (processes && emits) facts.kinds.emplace_back("connector");
  for (const auto& e : m.exports()) facts.exports.push_back(e + m.signature(e));
  return facts;
}

int plugin_inspect(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  auto bytes = read_text(path, err);
  if (!bytes) return 2;
  auto inspected = inspect_module(*bytes);
  if (!inspected.ok()) {
    err << "error: " << path << ": " << inspected.status().message() << "\n";
    return 1;
  }
  const ModuleFacts& facts = *inspected;
  const std::string& abi = facts.abi;
  const std::vector<std::string>& signals = facts.signals;
  const std::vector<std::string>& capabilities = facts.capabilities;
  if (json) {
    google::protobuf::Struct doc;
    auto& f = *doc.mutable_fields();
    f["path"].set_string_value(path);
    f["size_bytes"].set_number_value(static_cast<double>(bytes->size()));
    f["abi_version"].set_string_value(abi);
    auto list = [](const std::vector<std::string>& items, google::protobuf::Value& v) {
      for (const auto& s : items) v.mutable_list_value()->add_values()->set_string_value(s);
      if (items.empty()) v.mutable_list_value();
    };
    list(signals, f["signals"]);
    list(capabilities, f["capabilities"]);
    list(facts.exports, f["exports"]);
    list(facts.imports, f["imports"]);
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(doc, &text, options);
    out << text;
    return 0;
  }
  out << "plugin:       " << path << "\n";
  out << "size:         " << bytes->size() << " bytes\n";
  out << "ABI version:  " << abi << "\n";
  std::string joined;
  for (const auto& s : signals) joined += (joined.empty() ? "" : ", ") + s;
  out << "signals:      " << (joined.empty() ? "(none)" : joined) << "\n";
  out << "capabilities:" << (capabilities.empty() ? " (none)" : "") << "\n";
  for (const auto& c : capabilities) out << "  " << c << "\n";
  out << "exports:\n";
  for (const auto& e : facts.exports) out << "  " << e << "\n";
  out << "imports:" << (facts.imports.empty() ? " (none)" : "") << "\n";
  for (const auto& i : facts.imports) out << "  " << i << "\n";
  return 0;
}

}  // namespace weft::tools
