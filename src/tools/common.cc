#include "tools/common.h"

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
#include "tools/plugin_tool.h"

namespace weft::tools {

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

}  // namespace weft::tools
