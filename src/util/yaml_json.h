#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace weft {

// A YAML tree as JSON, always valid JSON: maps become objects (keys as strings), sequences
// arrays. A plain scalar is typed by the YAML 1.2 core schema: null, ~ and nothing are null;
// true/false (also True, TRUE, ...) booleans; decimal, 0o octal and 0x hex integers and
// decimal floats numbers, written the way JSON writes them ("010" is 10, "00.5" is 0.5,
// "0x1F" is 31, "+1." is 1.0; an integer too large for 64 bits keeps its digits); .inf, -.inf
// and .nan, which JSON cannot hold, the strings "Infinity", "-Infinity" and "NaN". Everything
// else, and every quoted scalar, is a string.
std::string yaml_to_json(const YAML::Node& node);
// The first key that a map of the tree has twice, as "line N: key \"k\" is already defined"
// (the Go collector refuses such documents too), or a tree that aliases expand past a
// million values; empty if there is neither. The config loader refuses both.
// YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`, as the Go collector's configurations use
// them): each merged map's entries are copied into the map that names them, the map's own
// keys winning, and of several merged maps the earlier. Returns a copy: the anchored maps
// stay as they are wherever else they are used.
YAML::Node resolve_merge_keys(const YAML::Node& node);

std::string duplicate_key(const YAML::Node& node);

// One plain scalar as yaml_to_json writes it.
std::string yaml_scalar_to_json(const std::string& scalar);

// A JSON string literal (quotes included) holding text.
std::string json_quote(std::string_view text);

}  // namespace weft
