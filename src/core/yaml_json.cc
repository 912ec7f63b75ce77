#include "core/yaml_json.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace weft {
namespace {

bool is_number(const std::string& s) {
  if (s.empty() || (std::isdigit(static_cast<unsigned char>(s[0])) == 0 && s[0] != '-')) {
    return false;
  }
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && end == s.data() + s.size() && s != "." && s.back() != '.';
}

void write(std::string& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      out.push_back('{');
      bool first = true;
      for (const auto& item : node) {
        if (!first) out.push_back(',');
        first = false;
        out += json_quote(item.first.Scalar());
        out.push_back(':');
        write(out, item.second);
      }
      out.push_back('}');
      break;
    }
    case YAML::NodeType::Sequence: {
      out.push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) out.push_back(',');
        write(out, node[i]);
      }
      out.push_back(']');
      break;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      const bool plain = node.Tag() != "!";
      if (plain && (s == "true" || s == "false" || s == "null" || is_number(s))) {
        out += s;
      } else {
        out += json_quote(s);
      }
      break;
    }
    default:
      out += "null";
  }
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string yaml_to_json(const YAML::Node& node) {
  std::string out;
  write(out, node);
  return out;
}

}  // namespace weft
