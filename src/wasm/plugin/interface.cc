#include "wasm/plugin/interface.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace weft::wasm {
namespace {

Status check_imports(const Module& module) {
  for (const auto& import : module.import_list()) {
    if (import.module == "wasi_snapshot_preview1") continue;
    const std::string what = import.module + "." + import.name;
    if (import.module != "weft") {
      return Status::invalid_argument("imports " + what +
                                      "; a plugin may import only module weft and "
                                      "wasi_snapshot_preview1 (see docs/abi.md)");
    }
    const auto& all = host_functions();
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const HostFunction& f) { return f.name == import.name; });
    if (it == all.end()) {
      return Status::invalid_argument("imports " + what +
                                      ", which this weft does not provide (see docs/abi.md)");
    }
    if (it->signature != import.signature) {
      return Status::invalid_argument("imports " + what + " with the signature " +
                                      import.signature + "; weft provides " + it->signature +
                                      " (see docs/abi.md)");
    }
  }
  return Status::ok();
}

}  // namespace

std::string process_export(Signal signal) {
  return entry_export(Entry::kProcess, signal);
}

std::string entry_export(Entry entry, Signal signal) {
  if (entry == Entry::kReceive) return "weft_receive";
  return std::string(entry == Entry::kExport ? "weft_export_" : "weft_process_") +
         std::string(signal_name(signal));
}

namespace {

Status check_interface_of(const Module& module, const std::set<Signal>& signals, Entry entry) {
  std::vector<std::string> missing;
  const auto exports = module.exports();
  if (std::find(exports.begin(), exports.end(), "memory") == exports.end())
    missing.emplace_back("memory");
  std::vector<std::string> needed = {"weft_abi_version", "weft_alloc", "weft_configure"};
  if (entry == Entry::kReceive) {
    needed.emplace_back("weft_receive");
  } else if (entry == Entry::kAuthenticate) {
    if (!module.exports_function("weft_authenticate") && !module.exports_function("weft_sign")) {
      missing.emplace_back("weft_authenticate or weft_sign");
    }
  } else {
    for (Signal s : signals) needed.push_back(entry_export(entry, s));
  }
  for (const auto& name : needed) {
    if (!module.exports_function(name)) missing.push_back(name);
  }
  if (entry == Entry::kExport && signals.empty() &&
      std::none_of(kAllSignals.begin(), kAllSignals.end(),
                   [&](Signal s) { return module.exports_function(entry_export(entry, s)); })) {
    missing.emplace_back("weft_export_traces, _metrics or _logs");
  }
  std::vector<std::pair<std::string, std::string>> expected = {
      {"weft_abi_version", "()->(i32)"},
      {"weft_alloc", "(i32)->(i32)"},
      {"weft_configure", "(i32,i32)->(i32)"},
      {"weft_shutdown", "()->()"}};
  if (entry == Entry::kReceive) {
    expected.emplace_back("weft_receive", "(i32,i32)->(i32)");
  } else if (entry == Entry::kAuthenticate) {
    expected.emplace_back("weft_authenticate", "(i32,i32)->(i32)");
    expected.emplace_back("weft_sign", "(i32,i32)->(i32)");
  } else {
    for (Signal s : entry == Entry::kExport
                        ? std::set<Signal>(kAllSignals.begin(), kAllSignals.end())
                        : signals) {
      expected.emplace_back(entry_export(entry, s), "(i32,i32)->(i32)");
    }
  }
  for (const auto& [name, want] : expected) {
    const std::string got = module.signature(name);
    if (!got.empty() && got != want) {
      return Status::invalid_argument("export " + name + " has the signature " + got +
                                      ", the ABI wants " + want + " (see docs/abi.md)");
    }
  }
  if (Status imports = check_imports(module); !imports.is_ok()) return imports;
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::invalid_argument("not a weft plugin: missing export(s) " + list +
                                    " (see docs/abi.md)");
  }
  return Status::ok();
}

}  // namespace

Status check_interface(const Module& module, const std::set<Signal>& signals, Entry entry) {
  Status status = check_interface_of(module, signals, entry);
  return status.is_ok() ? status : std::move(status).with_reason(LoadFailure::kInterface);
}

}  // namespace weft::wasm
