#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace weft {

// Problems found in a configuration, each with the dotted YAML path it is about
// ("exporters.otlp/2.endpoint").
class Diagnostics {
 public:
  void error(std::string path, std::string message) {
    errors_.emplace_back(std::move(path), std::move(message));
  }
  [[nodiscard]] bool ok() const { return errors_.empty(); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& errors() const {
    return errors_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> errors_;
};

// Typed reads from one YAML map, reporting type errors and unknown keys with
// their path. A key that is absent leaves the default in place.
class ConfigReader {
 public:
  ConfigReader(const YAML::Node& node, std::string path, Diagnostics* diagnostics);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string path_of(std::string_view key) const;
  [[nodiscard]] bool has(std::string_view key) const;

  void read(std::string_view key, std::string& out);
  void read(std::string_view key, bool& out);
  void read(std::string_view key, int64_t& out);
  void read(std::string_view key, uint64_t& out);
  void read(std::string_view key, int& out);
  void read(std::string_view key, double& out);
  void read(std::string_view key, std::vector<std::string>& out);
  void read(std::string_view key, std::map<std::string, std::string>& out);
  // Go duration syntax: "200ms", "5s", "1m30s", "1.5h"; a bare integer is nanoseconds.
  void read_duration(std::string_view key, std::chrono::nanoseconds& out);
  // A size in bytes: 1048576, "64KiB", "32MiB", "1GiB", "10MB", "512B".
  void read_size(std::string_view key, uint64_t& out);
  // "host:port" (host may be a name, IPv4, [IPv6] or empty), port 0..65535.
  void read_endpoint(std::string_view key, std::string& out);
  // The raw node, marked as read (for values handed on as they are).
  YAML::Node read_node(std::string_view key);

  // A reader for a nested map; an absent key gives an empty one.
  ConfigReader child(std::string_view key);
  // A reader for each map of a list ("headers.0", "headers.1", ...); empty if absent. A
  // value that is not a list of maps is reported.
  std::vector<ConfigReader> items(std::string_view key);

  void error(std::string_view key, std::string message);
  // Where this reader reports, for a reader of a derived node (a component that checks part
  // of its settings with another component's factory).
  [[nodiscard]] Diagnostics* diagnostics() const { return diagnostics_; }
  // Reports every key below this reader's node that nothing read.
  void report_unknown_keys() const;

 private:
  ConfigReader(const YAML::Node& node, std::string path, Diagnostics* diagnostics,
               std::shared_ptr<std::set<std::string>> used);
  YAML::Node lookup(std::string_view key);
  template <class T>
  void read_scalar(std::string_view key, T& out, const char* type_name);
  void report_unknown(const YAML::Node& node, const std::string& path) const;

  YAML::Node node_;
  std::string path_;
  Diagnostics* diagnostics_;
  std::shared_ptr<std::set<std::string>> used_;
};

// Parses a Go duration string; false if it is not one.
bool parse_duration(std::string_view text, std::chrono::nanoseconds& out);
// Parses a size such as "32MiB"; false if it is not one.
bool parse_size(std::string_view text, uint64_t& out);
// Splits "host:port"; false if it is not one.
bool split_endpoint(std::string_view endpoint, std::string& host, int& port);

}  // namespace weft
