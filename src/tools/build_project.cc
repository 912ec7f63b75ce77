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

namespace weft::tools {

int plugin_build(const std::string& dir_arg, const std::string& sdk_dir, std::ostream& out,
                 std::ostream& err) {
  const fs::path dir = fs::absolute(dir_arg.empty() ? "." : dir_arg).lexically_normal();
  auto manifest_text = read_text((dir / kManifest).string(), err);
  if (!manifest_text) {
    err << "error: " << dir.string() << " is not a plugin project (no " << kManifest << ")\n";
    return 2;
  }
  google::protobuf::Struct manifest;
  if (!parse_json_object(*manifest_text, manifest)) {
    err << "error: " << kManifest << " is not valid JSON\n";
    return 2;
  }
  const std::string name = string_field(manifest, "name");
  const std::string lang = string_field(manifest, "lang");
  if (name.empty()) {
    err << "error: " << kManifest << " has no name\n";
    return 2;
  }
  const fs::path sdk = fs::absolute(sdk_dir).lexically_normal();
  const std::string wasm = name + ".wasm";
  std::string ident = name;
  std::replace(ident.begin(), ident.end(), '-', '_');
  std::vector<std::vector<std::string>> steps;
  std::map<std::string, std::string> env;
  if (lang == "c" || lang == "cpp") {
    const bool cpp = lang == "cpp";
    const std::string include = "-I" + (sdk / "c" / "include").string();
    std::string c_sdk = (sdk / "c" / "src" / "weft.c").string();
    if (cpp) {  // the C SDK compiled as C first: one clang++ command cannot mix -std values
      fs::create_directories(dir / ".weft");
      steps.push_back({"clang", "--target=wasm32-wasi", "-O2", "-Wall", include, "-c", c_sdk, "-o",
                       ".weft/weft.o"});
      c_sdk = ".weft/weft.o";
    }
    std::vector<std::string> cmd = {cpp ? "clang++" : "clang",
                                    "--target=wasm32-wasi",
                                    "-O2",
                                    "-mexec-model=reactor",
                                    "-Wl,--strip-debug",
                                    "-Wall",
                                    include};
    if (cpp) {
      for (const char* flag : {"-std=c++17", "-fno-exceptions", "-fno-rtti"}) {
        cmd.emplace_back(flag);
      }
      cmd.push_back("-I" + (sdk / "cpp" / "include").string());
    }
    cmd.insert(cmd.end(), {"-o", wasm});
    auto sources = files_with_extension(dir, cpp ? ".cc" : ".c");
    if (sources.empty()) {
      err << "error: no " << (cpp ? ".cc" : ".c") << " sources in " << dir.string() << "\n";
      return 2;
    }
    cmd.insert(cmd.end(), sources.begin(), sources.end());
    cmd.push_back(c_sdk);
    steps.push_back(cmd);
  } else if (lang == "go") {
    env = {{"GOOS", "wasip1"}, {"GOARCH", "wasm"}};
    steps.push_back({"go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, "."});
  } else if (lang == "rust") {
    env = {{"CARGO_TARGET_DIR", "target"}};  // the project's own, whatever the environment says
    steps.push_back({"cargo", "build", "--release", "--target", "wasm32-wasip1"});
    steps.push_back({"cp", "target/wasm32-wasip1/release/" + ident + ".wasm", wasm});
  } else if (lang == "as") {
    if (!fs::exists(dir / "node_modules"))
      steps.push_back({"npm", "install", "--no-audit", "--no-fund"});
    steps.push_back({"npm", "run", "--silent", "build"});
  } else {
    err << "error: " << kManifest << ": unknown lang \"" << lang
        << "\" (one of c, cpp, go, rust, as)\n";
    return 2;
  }
  for (const auto& step : steps) {
    if (!run(step, dir, step.front() == "cp" ? std::map<std::string, std::string>{} : env, out,
             err)) {
      return 1;
    }
  }
  if (on_path("wasm-opt")) {
    const std::string tmp = wasm + ".opt";
    if (run({"wasm-opt", "-O2", "--strip-debug", "--all-features", wasm, "-o", tmp}, dir, {}, out,
            err)) {
      fs::rename(dir / tmp, dir / wasm);
    } else {
      fs::remove(dir / tmp);
      out << "wasm-opt failed; keeping the module as the compiler wrote it\n";
    }
  } else {
    out << "(wasm-opt not found: install binaryen to make the module smaller)\n";
  }
  out << "built " << (dir / wasm).string() << " (" << fs::file_size(dir / wasm) << " bytes)\n";
  return 0;
}

}  // namespace weft::tools
