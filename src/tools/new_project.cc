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

int plugin_new(const PluginNewOptions& options, std::ostream& out, std::ostream& err) {
  if (!std::regex_match(options.name, std::regex("[a-z][a-z0-9_-]{0,63}"))) {
    err << "error: a plugin name is a lowercase letter, then lowercase letters, digits, _ or - "
           "(got \""
        << options.name << "\")\n";
    return 2;
  }
  if (std::find(std::begin(kLanguages), std::end(kLanguages), options.lang) ==
      std::end(kLanguages)) {
    err << "error: unknown language \"" << options.lang << "\": one of c, cpp, go, rust, as\n";
    return 2;
  }
  const fs::path sdk = fs::absolute(options.sdk_dir).lexically_normal();
  const fs::path templ = sdk / "templates" / options.lang;
  const fs::path testdata = sdk / "templates" / "testdata";
  if (!fs::is_directory(templ) || !fs::is_directory(testdata)) {
    err << "error: no template for " << options.lang << " in " << templ.string()
        << " (set WEFT_SDK_DIR to the sdk/ directory of a weft checkout)\n";
    return 2;
  }
  const fs::path dir = options.dir.empty() ? fs::path(options.name) : fs::path(options.dir);
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    err << "error: " << dir.string() << " exists and is not empty\n";
    return 2;
  }
  std::string ident = options.name;
  std::replace(ident.begin(), ident.end(), '-', '_');
  auto fill = [&](std::string text) {
    const std::pair<std::string, std::string> vars[] = {
        {"{{name}}", options.name}, {"{{name_ident}}", ident}, {"{{sdk_dir}}", sdk.string()}};
    for (const auto& [from, to] : vars) {
      for (size_t at = text.find(from); at != std::string::npos;
           at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    }
    return text;
  };
  fs::create_directories(dir);
  auto copy_tree = [&](const fs::path& from, const fs::path& to) -> bool {
    for (const auto& entry : fs::recursive_directory_iterator(from)) {
      const fs::path target = to / fill(fs::relative(entry.path(), from).string());
      if (entry.is_directory()) {
        fs::create_directories(target);
        continue;
      }
      auto text = read_text(entry.path().string(), err);
      if (!text) return false;
      fs::create_directories(target.parent_path());
      if (!write_text(target, fill(*text), err)) return false;
      fs::permissions(target, fs::status(entry.path()).permissions());
    }
    return true;
  };
  if (!copy_tree(templ, dir) || !copy_tree(testdata, dir / "testdata")) return 1;
  google::protobuf::Struct manifest;
  (*manifest.mutable_fields())["name"].set_string_value(options.name);
  (*manifest.mutable_fields())["lang"].set_string_value(options.lang);
  std::string text;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(manifest, &text, print);
  if (!write_text(dir / kManifest, text, err)) return 1;
  out << "created " << options.lang << " plugin " << options.name << " in " << dir.string()
      << "\nnext:\n  cd " << dir.string() << "\n  weft plugin build\n  weft plugin test\n";
  return 0;
}

}  // namespace weft::tools
