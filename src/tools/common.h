#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "weft/signal.h"

// What the `weft plugin` verbs share: files, JSON, diffs and running a toolchain.
namespace weft::tools {

namespace fs = std::filesystem;

// The languages `weft plugin new` and `build` know.
inline constexpr const char* kLanguages[] = {"c", "cpp", "go", "rust", "as"};

std::optional<std::string> read_text(const std::string& path, std::ostream& err);
bool write_text(const fs::path& path, const std::string& text, std::ostream& err);
// The signal of an OTLP/JSON request: the first of its top-level keys that names one.
std::optional<Signal> signal_of(const std::string& json);
bool parse_json_object(const std::string& text, google::protobuf::Struct& out);
std::string string_field(const google::protobuf::Struct& s, const std::string& key);
std::vector<std::string> split_lines(const std::string& text);
std::string quoted(const std::string& arg);
bool on_path(const std::string& program);
// Runs argv in dir with extra environment variables; prints the command first.
bool run(const std::vector<std::string>& argv, const fs::path& dir,
         const std::map<std::string, std::string>& env, std::ostream& out, std::ostream& err);
std::vector<std::string> files_with_extension(const fs::path& dir, const std::string& ext);

}  // namespace weft::tools
