#pragma once

#include <google/protobuf/struct.pb.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/yaml_json.h"
#include "weft/result.h"

// The JSON the package formats need: json_quote for the writers (which write fields
// in a fixed order, so the same package gives the same bytes and digest) and a parse into a
// protobuf Struct for the readers.
namespace weft::pkg {

using JsonObject = google::protobuf::Struct;

using weft::json_quote;  // util/yaml_json.h: a JSON string literal (bad UTF-8 replaced)
// `what` names the document in the error ("the manifest of oci://...").
Result<JsonObject> parse_json(std::string_view text, const std::string& what);

// Typed field reads; a missing field or one of another type gives the empty value.
std::string json_string(const JsonObject& o, const std::string& key);
double json_number(const JsonObject& o, const std::string& key);
const JsonObject* json_object(const JsonObject& o, const std::string& key);
std::vector<const google::protobuf::Value*> json_list(const JsonObject& o, const std::string& key);
std::vector<std::string> json_strings(const JsonObject& o, const std::string& key);
// A value written back as JSON (for a schema carried through as it is).
std::string json_text(const google::protobuf::Value& v);

}  // namespace weft::pkg
