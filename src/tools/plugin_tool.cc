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

#include "pdata/otlp_json.h"
#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"
#include "weft/audit.h"
#include "weft/metrics.h"

namespace weft::tools {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_text(const std::string& path, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "error: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_text(const fs::path& path, const std::string& text, std::ostream& err) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) {
    err << "error: cannot write " << path.string() << "\n";
    return false;
  }
  return true;
}

// The signal of an OTLP/JSON request: the first of its top-level keys that names one.
std::optional<Signal> signal_of(const std::string& json) {
  const std::pair<const char*, Signal> keys[] = {{"\"resourceSpans\"", Signal::kTraces},
                                                 {"\"resourceMetrics\"", Signal::kMetrics},
                                                 {"\"resourceLogs\"", Signal::kLogs}};
  std::optional<Signal> found;
  size_t at = std::string::npos;
  for (const auto& [key, signal] : keys) {
    const size_t pos = json.find(key);
    if (pos < at) {
      at = pos;
      found = signal;
    }
  }
  return found;
}

bool parse_json_object(const std::string& text, google::protobuf::Struct& out) {
  return google::protobuf::util::JsonStringToMessage(text, &out).ok();
}

std::string string_field(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it != s.fields().end() && it->second.has_string_value() ? it->second.string_value()
                                                                 : std::string();
}

// ---- diff ---------------------------------------------------------------------------------

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---- running a toolchain ------------------------------------------------------------------

std::string quoted(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\"'$\\*?") == std::string::npos) return arg;
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs argv in dir with extra environment variables; prints the command first.
bool run(const std::vector<std::string>& argv, const fs::path& dir,
         const std::map<std::string, std::string>& env, std::ostream& out, std::ostream& err) {
  std::string line = "$";
  for (const auto& [k, v] : env) line += " " + k + "=" + quoted(v);
  for (const auto& a : argv) line += " " + quoted(a);
  out << line << "\n" << std::flush;
  std::vector<char*> args;  // made before fork(): the child only calls exec
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    err << "error: cannot start " << argv[0] << "\n";
    return false;
  }
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    err << "error: " << argv[0] << " did not run: is it installed? (see the SDK's README)\n";
  } else {
    err << "error: " << argv[0] << " failed\n";
  }
  return false;
}

std::vector<std::string> files_with_extension(const fs::path& dir, const std::string& ext) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ext) {
      files.push_back(entry.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

constexpr const char* kLanguages[] = {"c", "cpp", "go", "rust", "as"};

// ---- test ---------------------------------------------------------------------------------

// The plugin's own log lines to err; weft's audit lines about loading it are left out.
class PluginLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit PluginLogSink(std::ostream& out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.rfind("audit: ", 0) == 0) return;
    out_ << "plugin " << spdlog::level::to_string_view(msg.level).data() << ": " << text << "\n";
  }
  void flush_() override { out_.flush(); }

 private:
  std::ostream& out_;
};

struct Loaded {
  std::shared_ptr<wasm::Plugin> plugin;
  std::unique_ptr<telemetry::Registry> registry;
  std::unique_ptr<telemetry::AuditLog> audit;  // to /dev/null: not the tool's business
};

Result<Loaded> load_plugin(const std::string& path, const std::string& config_json, Signal signal,
                           std::ostream& err) {
  Loaded loaded;
  loaded.registry = std::make_unique<telemetry::Registry>();
  loaded.audit = std::make_unique<telemetry::AuditLog>("/dev/null");
  if (auto opened = loaded.audit->open(); !opened.is_ok()) return opened;
  auto sink = std::make_shared<PluginLogSink>(err);
  ComponentContext ctx{"test", loaded.registry.get(),
                       std::make_shared<spdlog::logger>("plugin", sink), loaded.audit.get()};
  ctx.logger->set_level(spdlog::level::debug);
  auto engine = wasm::Engine::create({});
  if (!engine.ok()) return engine.status();
  wasm::PluginSettings settings;
  settings.path = path;
  settings.config_json = config_json;
  settings.signals = {signal};
  settings.watch_interval = std::chrono::milliseconds(0);
  auto plugin = wasm::Plugin::load(engine.value(), settings, ctx);
  if (!plugin.ok()) return plugin.status();
  loaded.plugin = plugin.value();
  return loaded;
}

// Runs one case; writes the output or the difference. 0 ok, 1 differs/fails, 2 bad input.
int run_case(const PluginTestOptions& o, std::ostream& out, std::ostream& err) {
  auto input = read_text(o.input, err);
  if (!input) return 2;
  const std::optional<Signal> signal = o.signal ? o.signal : signal_of(*input);
  if (!signal) {
    err << "error: " << o.input
        << ": not an OTLP/JSON request (no resourceSpans, resourceMetrics or resourceLogs)\n";
    return 2;
  }
  auto batch = pdata::telemetry_from_json(*signal, *input);
  if (!batch.ok()) {
    err << "error: " << o.input << ": " << batch.status().message() << "\n";
    return 2;
  }
  std::string config = "{}";
  if (!o.config.empty()) {
    auto text = read_text(o.config, err);
    if (!text) return 2;
    google::protobuf::Struct parsed;
    if (!parse_json_object(*text, parsed)) {
      err << "error: " << o.config << ": not a JSON object\n";
      return 2;
    }
    config = *text;
  }
  auto loaded = load_plugin(o.plugin, config, *signal, err);
  if (!loaded.ok()) {
    err << "error: cannot load the plugin: " << loaded.status().message() << "\n";
    return 1;
  }
  wasm::Outcome outcome = loaded.value().plugin->process(batch.value());
  if (outcome.kind == wasm::Outcome::kFailed) {
    err << "error: the plugin failed on " << o.input << ": " << outcome.error << "\n";
    return 1;
  }
  pdata::Telemetry empty = std::move(pdata::Telemetry::from_wire(*signal, "")).value();
  const pdata::Telemetry& result = outcome.kind == wasm::Outcome::kDropped ? empty
                                   : outcome.output                        ? *outcome.output
                                                                           : batch.value();
  auto json = pdata::telemetry_to_json(result, true);
  if (!json.ok()) {
    err << "error: " << json.status().message() << "\n";
    return 1;
  }
  for (const auto& emitted : outcome.emitted) {
    auto e = pdata::telemetry_to_json(emitted, true);
    err << "emitted " << signal_name(emitted.signal()) << ":\n" << (e.ok() ? e.value() : "?\n");
  }
  if (o.expect.empty()) {
    out << json.value() << "\n";
    return 0;
  }
  auto expected_text = read_text(o.expect, err);
  if (!expected_text) return 2;
  auto expected = pdata::telemetry_from_json(*signal, *expected_text);
  if (!expected.ok()) {
    err << "error: " << o.expect << ": " << expected.status().message() << "\n";
    return 2;
  }
  auto expected_json = pdata::telemetry_to_json(expected.value(), true);
  if (!expected_json.ok()) {
    err << "error: " << o.expect << ": " << expected_json.status().message() << "\n";
    return 2;
  }
  if (expected_json.value() == json.value()) {
    out << "ok: " << o.input << ": " << result.item_count() << " of " << batch.value().item_count()
        << " items out (" << signal_name(*signal) << "), as expected\n";
    return 0;
  }
  out << "FAIL: the output of " << o.input << " differs from " << o.expect
      << " (- expected, + output):\n"
      << line_diff(expected_json.value(), json.value());
  return 1;
}

}  // namespace

std::string default_sdk_dir() {
  if (const char* dir = std::getenv("WEFT_SDK_DIR"); dir != nullptr && *dir != '\0') return dir;
  return std::string(WEFT_SOURCE_DIR) + "/sdk";
}

std::string line_diff(const std::string& a, const std::string& b) {
  const auto x = split_lines(a);
  const auto y = split_lines(b);
  const size_t n = x.size(), m = y.size();
  // Longest common subsequence table; texts here are small (a test batch).
  if (n * m > 16'000'000) return "(too large to diff; the outputs differ)\n";
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = x[i] == y[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  struct Line {
    char tag;
    const std::string* text;
  };
  std::vector<Line> script;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] == y[j]) {
      script.push_back({' ', &x[i++]});
      ++j;
    } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
      script.push_back({'-', &x[i++]});  // deletions before insertions
    } else {
      script.push_back({'+', &y[j++]});
    }
  }
  constexpr size_t kContext = 2;
  std::string out;
  size_t last_shown = 0;
  bool any = false;
  for (size_t k = 0; k < script.size(); ++k) {
    if (script[k].tag == ' ') continue;
    const size_t from = k >= kContext ? k - kContext : 0;
    if (any && from > last_shown) out += "...\n";
    for (size_t c = std::max(from, any ? last_shown : 0); c < k; ++c) {
      out += "  " + *script[c].text + "\n";
    }
    out += std::string(1, script[k].tag) + " " + *script[k].text + "\n";
    size_t end = k + 1;
    while (end < script.size() && end <= k + kContext && script[end].tag == ' ') {
      out += "  " + *script[end].text + "\n";
      ++end;
    }
    last_shown = end;
    any = true;
    k = end - 1;
  }
  return out;
}

int plugin_test(const PluginTestOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.plugin.empty() || !options.input.empty()) {
    if (options.plugin.empty() || options.input.empty()) {
      err << "error: give both --plugin and --input (or neither, in a plugin project)\n";
      return 2;
    }
    return run_case(options, out, err);
  }
  // In a plugin project: every case in testdata/ against the built module.
  auto manifest_text = read_text(kManifest, err);
  if (!manifest_text) {
    err << "error: no --plugin/--input given and no " << kManifest
        << " here (make a project with `weft plugin new`)\n";
    return 2;
  }
  google::protobuf::Struct manifest;
  if (!parse_json_object(*manifest_text, manifest) || string_field(manifest, "name").empty()) {
    err << "error: " << kManifest << " is not a manifest with a name\n";
    return 2;
  }
  const std::string wasm = string_field(manifest, "name") + ".wasm";
  if (!fs::exists(wasm)) {
    err << "error: " << wasm << " is not built yet: run `weft plugin build`\n";
    return 2;
  }
  std::vector<fs::path> cases;
  if (fs::is_directory("testdata")) {
    for (const auto& entry : fs::directory_iterator("testdata")) {
      if (entry.is_directory() && fs::exists(entry.path() / "input.json"))
        cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) {
    err << "error: no test cases: testdata/<case>/input.json (with config.json and "
           "expected.json)\n";
    return 2;
  }
  int failed = 0;
  for (const auto& c : cases) {
    PluginTestOptions one;
    one.plugin = wasm;
    one.input = (c / "input.json").string();
    if (fs::exists(c / "config.json")) one.config = (c / "config.json").string();
    if (fs::exists(c / "expected.json")) one.expect = (c / "expected.json").string();
    if (run_case(one, out, err) != 0) ++failed;
  }
  out << (failed == 0 ? "PASS" : "FAIL") << ": " << cases.size() - failed << " of " << cases.size()
      << " cases\n";
  return failed == 0 ? 0 : 1;
}

int plugin_inspect(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  auto bytes = read_text(path, err);
  if (!bytes) return 2;
  auto engine = wasm::Engine::create({});
  if (!engine.ok()) {
    err << "error: " << engine.status().message() << "\n";
    return 1;
  }
  auto module = engine.value()->compile(*bytes);
  if (!module.ok()) {
    err << "error: " << path << " is not a valid module: " << module.status().message() << "\n";
    return 1;
  }
  const auto& m = *module.value();
  std::string abi = "unknown";
  if (m.exports_function("weft_abi_version")) {
    wasm::InstanceLimits limits;
    limits.timeout = std::chrono::seconds(5);  // a language runtime's start-up, compiled cold
    auto instance = wasm::Instance::create(module.value(), limits);
    if (instance.ok()) {
      // (Instance::create has run _initialize.)
      auto version = instance.value()->call("weft_abi_version", {}, nullptr);
      abi = version.ok() ? std::to_string(version.value) : "unknown (" + version.message + ")";
    } else {
      abi = "unknown (" + instance.status().message() + ")";
    }
  } else {
    abi = "none (no weft_abi_version export: not a weft plugin)";
  }
  // What the imports call for. Nothing is granted by default (docs/abi.md, Capabilities).
  std::map<std::string, std::string> capability_of;
  for (const auto& f : wasm::host_functions()) {
    if (!f.capability.empty()) capability_of["weft." + f.name] = f.capability;
  }
  std::vector<std::string> capabilities;
  bool wasi = false;
  for (const auto& import : m.imports()) {
    if (auto it = capability_of.find(import); it != capability_of.end()) {
      if (std::find(capabilities.begin(), capabilities.end(), it->second) == capabilities.end())
        capabilities.push_back(it->second);
    }
    if (import.rfind("wasi_snapshot_preview1.", 0) == 0) wasi = true;
  }
  if (wasi) capabilities.push_back("wasi: clocks and random only (no files, env or args)");
  std::vector<std::string> signals;
  for (Signal s : kAllSignals) {
    if (m.exports_function("weft_process_" + std::string(signal_name(s))))
      signals.emplace_back(signal_name(s));
  }
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
    std::vector<std::string> exports;
    for (const auto& e : m.exports()) exports.push_back(e + m.signature(e));
    list(exports, f["exports"]);
    list(m.imports(), f["imports"]);
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
  for (const auto& e : m.exports()) out << "  " << e << m.signature(e) << "\n";
  out << "imports:" << (m.imports().empty() ? " (none)" : "") << "\n";
  for (const auto& i : m.imports()) out << "  " << i << "\n";
  return 0;
}

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
