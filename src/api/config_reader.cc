#include "weft/config_reader.h"

#include <charconv>
#include <cmath>

namespace weft {

ConfigReader::ConfigReader(const YAML::Node& node, std::string path, Diagnostics* diagnostics)
    : ConfigReader(node, std::move(path), diagnostics, std::make_shared<std::set<std::string>>()) {}

ConfigReader::ConfigReader(const YAML::Node& node, std::string path, Diagnostics* diagnostics,
                           std::shared_ptr<std::set<std::string>> used)
    : node_(node), path_(std::move(path)), diagnostics_(diagnostics), used_(std::move(used)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    diagnostics_->error(path_, "expected a map of settings");
  }
}

std::string ConfigReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool ConfigReader::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined();
}

YAML::Node ConfigReader::lookup(std::string_view key) {
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node value = node_[std::string(key)];
  if (value.IsDefined()) used_->insert(path_of(key));
  return value;
}

void ConfigReader::error(std::string_view key, std::string message) {
  diagnostics_->error(path_of(key), std::move(message));
}

template <class T>
void ConfigReader::read_scalar(std::string_view key, T& out, const char* type_name) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsScalar()) {
    error(key, std::string("expected ") + type_name);
    return;
  }
  try {
    out = value.as<T>();
  } catch (const YAML::Exception&) {
    error(key, std::string("expected ") + type_name + ", got \"" + value.Scalar() + "\"");
  }
}

void ConfigReader::read(std::string_view key, std::string& out) {
  read_scalar(key, out, "a string");
}
void ConfigReader::read(std::string_view key, bool& out) {
  read_scalar(key, out, "true or false");
}
void ConfigReader::read(std::string_view key, int64_t& out) {
  read_scalar(key, out, "an integer");
}
void ConfigReader::read(std::string_view key, int& out) {
  read_scalar(key, out, "an integer");
}
void ConfigReader::read(std::string_view key, double& out) {
  read_scalar(key, out, "a number");
}
void ConfigReader::read(std::string_view key, uint64_t& out) {
  read_scalar(key, out, "a non-negative integer");
}

void ConfigReader::read(std::string_view key, std::vector<std::string>& out) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsSequence()) {
    error(key, "expected a list of strings");
    return;
  }
  out.clear();
  for (const auto& item : value) {
    if (!item.IsScalar()) {
      error(key, "expected a list of strings");
      return;
    }
    out.push_back(item.Scalar());
  }
}

void ConfigReader::read(std::string_view key, std::map<std::string, std::string>& out) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsMap()) {
    error(key, "expected a map of strings");
    return;
  }
  out.clear();
  for (const auto& item : value) {
    if (!item.second.IsScalar()) {
      error(key, "expected a map of strings");
      return;
    }
    out[item.first.Scalar()] = item.second.Scalar();
  }
}

void ConfigReader::read_duration(std::string_view key, std::chrono::nanoseconds& out) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsScalar() || !parse_duration(value.Scalar(), out)) {
    error(key, "expected a duration such as \"200ms\" or \"5s\", got \"" +
                   (value.IsScalar() ? value.Scalar() : std::string("a non-scalar")) + "\"");
  }
}

void ConfigReader::read_size(std::string_view key, uint64_t& out) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsScalar() || !parse_size(value.Scalar(), out)) {
    error(key, "expected a size such as \"32MiB\" or a number of bytes, got \"" +
                   (value.IsScalar() ? value.Scalar() : std::string("a non-scalar")) + "\"");
  }
}

void ConfigReader::read_endpoint(std::string_view key, std::string& out) {
  std::string value = out;
  read(key, value);
  std::string host;
  int port = 0;
  if (has(key) && !split_endpoint(value, host, port)) {
    error(key,
          "expected an endpoint \"host:port\" with a port from 0 to 65535, got \"" + value + "\"");
    return;
  }
  out = value;
}

YAML::Node ConfigReader::read_node(std::string_view key) {
  return lookup(key);
}

ConfigReader ConfigReader::child(std::string_view key) {
  YAML::Node value = lookup(key);
  if (value.IsDefined()) {  // its keys are checked one by one
    used_->erase(path_of(key));
    used_->insert(path_of(key) + "/");
  }
  if (value.IsDefined() && !value.IsNull()) {
    return ConfigReader(value, path_of(key), diagnostics_, used_);
  }
  // A fresh node, so that nothing read from it touches the user's tree.
  return ConfigReader(YAML::Node(YAML::NodeType::Map), path_of(key), diagnostics_, used_);
}

std::vector<ConfigReader> ConfigReader::items(std::string_view key) {
  std::vector<ConfigReader> out;
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return out;
  if (!value.IsSequence()) {
    error(key, "expected a list");
    return out;
  }
  used_->erase(path_of(key));
  used_->insert(path_of(key) + "/");  // each item's keys are checked one by one
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = path_of(key) + "." + std::to_string(i);
    if (!value[i].IsMap()) {
      diagnostics_->error(path, "expected a map of settings");
      continue;
    }
    out.push_back(ConfigReader(value[i], path, diagnostics_, used_));
  }
  return out;
}

void ConfigReader::report_unknown_keys() const {
  if (node_.IsMap()) report_unknown(node_, path_);
}

void ConfigReader::report_unknown(const YAML::Node& node, const std::string& path) const {
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    const std::string child_path = path.empty() ? key : path + "." + key;
    if (used_->count(child_path) != 0) continue;
    if (used_->count(child_path + "/") != 0) {  // read key by key: child() or items()
      if (item.second.IsMap()) report_unknown(item.second, child_path);
      if (item.second.IsSequence()) {
        for (size_t i = 0; i < item.second.size(); ++i) {
          if (item.second[i].IsMap()) {
            report_unknown(item.second[i], child_path + "." + std::to_string(i));
          }
        }
      }
      continue;
    }
    diagnostics_->error(child_path, "unknown setting \"" + key + "\"");
  }
}

bool parse_duration(std::string_view text, std::chrono::nanoseconds& out) {
  if (text.empty()) return false;
  int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (ec == std::errc() && end == text.data() + text.size()) {
    out = std::chrono::nanoseconds(integer);  // a bare number is nanoseconds, as in Go
    return true;
  }
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1},  {"us", 1e3}, {"\u00b5s", 1e3}, {"ms", 1e6},
      {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total_ns = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    int dots = 0;
    while (pos < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[pos])) != 0 || text[pos] == '.')) {
      dots += text[pos] == '.' ? 1 : 0;
      ++pos;
    }
    if (start == pos || dots > 1 || pos - start == static_cast<size_t>(dots)) return false;
    const double number =
        std::strtod(std::string(text.substr(start, pos - start)).c_str(), nullptr);
    // The unit runs to the next digit or dot ("µ" is two bytes, neither alphabetic).
    const size_t unit_start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) == 0 &&
           text[pos] != '.') {
      ++pos;
    }
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    double scale = 0;
    for (const auto& [name, ns] : kUnits) {
      if (unit == name) scale = ns;
    }
    if (scale == 0) return false;
    total_ns += number * scale;
  }
  if (total_ns >= 9.2e18) return false;  // beyond what int64 nanoseconds hold (~292 years)
  out = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total_ns)));
  return true;
}

bool parse_size(std::string_view text, uint64_t& out) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},      {"B", 1},        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return false;
  std::string_view unit = text.substr(static_cast<size_t>(end - text.data()));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  for (const auto& [name, scale] : kUnits) {
    if (unit == name) {
      if (number > UINT64_MAX / scale) return false;
      out = number * scale;
      return true;
    }
  }
  return false;
}

bool split_endpoint(std::string_view endpoint, std::string& host, int& port) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = endpoint.substr(0, colon);
  std::string_view p = endpoint.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.find(':') != std::string_view::npos && endpoint.front() != '[') return false;
  if (p.empty()) return false;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) return false;
  for (char c : h) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return false;
    }
  }
  host = std::string(h);
  return true;
}

}  // namespace weft
