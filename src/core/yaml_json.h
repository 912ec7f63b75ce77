#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace weft {

// A YAML tree as JSON: maps become objects, sequences arrays; a plain scalar
// that reads as a number, true/false or null keeps that type, a quoted one is a string.
std::string yaml_to_json(const YAML::Node& node);

// A JSON string literal (quotes included) holding text.
std::string json_quote(std::string_view text);

}  // namespace weft
