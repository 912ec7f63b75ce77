#include "util/yaml_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

namespace weft {
namespace {

// The length of the well-formed UTF-8 sequence text starts with (a lead byte >= 0x80), or 0:
// no overlong forms, no surrogates, nothing past U+10FFFF.
size_t utf8_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  size_t length = 0;
  uint32_t code = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[k]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  if (length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) return 0;
  if (length == 4 && (code < 0x10000 || code > 0x10ffff)) return 0;
  return length;
}

bool all_of(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (pred(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

int is_octal(int c) {
  return c >= '0' && c <= '7' ? 1 : 0;
}
int is_digit(int c) {
  return c >= '0' && c <= '9' ? 1 : 0;
}
int is_hex(int c) {
  return is_digit(c) != 0 || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ? 1 : 0;
}

// Digits without leading zeros ("0" for none left).
std::string_view trim_zeros(std::string_view digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
}

// An integer in base 8 or 16 as decimal; nullopt past 64 bits.
std::optional<std::string> radix_to_decimal(std::string_view digits, int base) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return std::to_string(value);
}

// The core schema's float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
std::optional<std::string> core_float(std::string_view s, std::string_view sign) {
  const size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  std::string_view exponent = e == std::string_view::npos ? std::string_view() : s.substr(e + 1);
  const size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : mantissa.substr(dot + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  if ((!whole.empty() && !all_of(whole, is_digit)) ||
      (!fraction.empty() && !all_of(fraction, is_digit))) {
    return std::nullopt;
  }
  std::string out(sign == "-" ? "-" : "");
  out += whole.empty() ? std::string_view("0") : trim_zeros(whole);
  if (!fraction.empty()) out += "." + std::string(fraction);
  if (e != std::string_view::npos) {
    std::string_view exp_sign;
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
      exp_sign = exponent.substr(0, 1);
      exponent.remove_prefix(1);
    }
    if (!all_of(exponent, is_digit)) return std::nullopt;
    out += "e" + std::string(exp_sign == "-" ? "-" : "") + std::string(trim_zeros(exponent));
  } else if (fraction.empty()) {
    out += ".0";  // "1." is a float
  }
  // Past the largest double ("8e99999"): the infinity it stands for, as .inf is written.
  if (std::isinf(std::strtod(out.c_str(), nullptr))) {
    return sign == "-" ? "\"-Infinity\"" : "\"Infinity\"";
  }
  return out;
}

}  // namespace

std::string yaml_scalar_to_json(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return "null";
  if (s == "true" || s == "True" || s == "TRUE") return "true";
  if (s == "false" || s == "False" || s == "FALSE") return "false";
  std::string_view body = s;
  std::string_view sign;
  if (body[0] == '+' || body[0] == '-') {
    sign = body.substr(0, 1);
    body.remove_prefix(1);
  }
  const std::string minus = sign == "-" ? "-" : "";
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    return sign == "-" ? "\"-Infinity\"" : "\"Infinity\"";
  }
  if (sign.empty() && (body == ".nan" || body == ".NaN" || body == ".NAN")) return "\"NaN\"";
  if (sign.empty() && body.size() > 2 && body.substr(0, 2) == "0o" &&
      all_of(body.substr(2), is_octal)) {
    if (auto v = radix_to_decimal(body.substr(2), 8)) return *v;
    return json_quote(s);
  }
  if (sign.empty() && body.size() > 2 && body.substr(0, 2) == "0x" &&
      all_of(body.substr(2), is_hex)) {
    if (auto v = radix_to_decimal(body.substr(2), 16)) return *v;
    return json_quote(s);
  }
  if (all_of(body, is_digit)) {
    const std::string_view digits = trim_zeros(body);
    return (digits == "0" ? std::string() : minus) + std::string(digits);
  }
  if (auto f = core_float(body, sign)) return *f;
  return json_quote(s);
}

namespace {

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
      // A quoted scalar has the tag "!"; a plain one "?" (or an explicit tag such as !!str).
      if (node.Tag() == "?") {
        out += yaml_scalar_to_json(node.Scalar());
      } else {
        out += json_quote(node.Scalar());
      }
      break;
    }
    default:
      out += "null";
  }
}

}  // namespace

YAML::Node resolve_merge_keys(const YAML::Node& node) {
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(resolve_merge_keys(item));
    return out;
  }
  if (!node.IsMap()) return YAML::Clone(node);
  YAML::Node out(YAML::NodeType::Map);
  std::vector<YAML::Node> merged;
  for (const auto& item : node) {
    if (item.first.IsScalar() && item.first.Scalar() == "<<" && item.first.Tag() != "!") {
      if (item.second.IsSequence()) {
        for (const auto& m : item.second) merged.push_back(m);
      } else {
        merged.push_back(item.second);
      }
      continue;
    }
    out.force_insert(YAML::Clone(item.first), resolve_merge_keys(item.second));
  }
  for (const auto& m : merged) {
    const YAML::Node resolved = resolve_merge_keys(m);
    if (!resolved.IsMap()) continue;
    for (const auto& item : resolved) {
      const YAML::Node& view = out;
      if (item.first.IsScalar() && view[item.first.Scalar()].IsDefined()) continue;
      out.force_insert(item.first, item.second);
    }
  }
  return out;
}

std::string duplicate_key(const YAML::Node& node) {
  // Iterative, so that a deeply nested document cannot exhaust the stack.
  // Aliases make a tree out of a small text that is exponentially large ("billion laughs"):
  // walking it is bounded, and a document past the bound is refused.
  constexpr size_t kMaxNodes = 1'000'000;
  size_t visited = 0;
  std::vector<YAML::Node> pending = {node};
  while (!pending.empty()) {
    if (++visited > kMaxNodes) {
      return "the document expands to more than " + std::to_string(kMaxNodes) +
             " values (aliases repeated within aliases?)";
    }
    const YAML::Node current = pending.back();
    pending.pop_back();
    if (current.IsMap()) {
      std::set<std::string> seen;
      for (const auto& item : current) {
        // Compared as JSON writes them: two different bytes that are not UTF-8 both become
        // U+FFFD. "" for a key that is not a scalar.
        const std::string key = item.first.Scalar();
        if (!seen.insert(json_quote(key)).second) {
          return "line " + std::to_string(item.first.Mark().line + 1) + ": key \"" + key +
                 "\" is already defined";
        }
        pending.push_back(item.second);
      }
    } else if (current.IsSequence()) {
      for (const auto& item : current) pending.push_back(item);
    }
  }
  return {};
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {  // a UTF-8 sequence, copied if well-formed; U+FFFD for a bad byte
      const size_t length = utf8_sequence(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    ++i;
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
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
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
