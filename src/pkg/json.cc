#include "pkg/json.h"

#include <google/protobuf/util/json_util.h>

#include <simdjson.h>

namespace weft::pkg {

namespace {

// simdjson's DOM to a protobuf Value (the readers' type): the documents are small, and
// protobuf's own JSON parser costs most of a package check.
void to_value(simdjson::dom::element e, google::protobuf::Value& out) {
  using Type = simdjson::dom::element_type;
  switch (e.type()) {
    case Type::ARRAY: {
      auto* list = out.mutable_list_value();
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) break;
      for (simdjson::dom::element item : array) to_value(item, *list->add_values());
      break;
    }
    case Type::OBJECT: {
      auto* fields = out.mutable_struct_value()->mutable_fields();
      simdjson::dom::object object;
      if (e.get_object().get(object) != simdjson::SUCCESS) break;
      for (auto field : object) to_value(field.value, (*fields)[std::string(field.key)]);
      break;
    }
    case Type::INT64:
      out.set_number_value(static_cast<double>(e.get_int64().value_unsafe()));
      break;
    case Type::UINT64:
      out.set_number_value(static_cast<double>(e.get_uint64().value_unsafe()));
      break;
    case Type::DOUBLE:
      out.set_number_value(e.get_double().value_unsafe());
      break;
    case Type::STRING: {
      std::string_view text;
      if (e.get_string().get(text) == simdjson::SUCCESS) out.set_string_value(std::string(text));
      break;
    }
    case Type::BOOL:
      out.set_bool_value(e.get_bool().value_unsafe());
      break;
    case Type::NULL_VALUE:
      out.set_null_value(google::protobuf::NULL_VALUE);
      break;
  }
}

}  // namespace

Result<JsonObject> parse_json(std::string_view text, const std::string& what) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    return Status::invalid_argument(what + " is not valid JSON: " + simdjson::error_message(error));
  }
  if (!doc.is_object()) return Status::invalid_argument(what + " is not a JSON object");
  google::protobuf::Value value;
  to_value(doc, value);
  return std::move(*value.mutable_struct_value());
}

std::string json_string(const JsonObject& o, const std::string& key) {
  auto it = o.fields().find(key);
  return it != o.fields().end() && it->second.has_string_value() ? it->second.string_value()
                                                                 : std::string();
}

double json_number(const JsonObject& o, const std::string& key) {
  auto it = o.fields().find(key);
  return it != o.fields().end() && it->second.has_number_value() ? it->second.number_value() : 0;
}

const JsonObject* json_object(const JsonObject& o, const std::string& key) {
  auto it = o.fields().find(key);
  return it != o.fields().end() && it->second.has_struct_value() ? &it->second.struct_value()
                                                                 : nullptr;
}

std::vector<const google::protobuf::Value*> json_list(const JsonObject& o, const std::string& key) {
  std::vector<const google::protobuf::Value*> out;
  auto it = o.fields().find(key);
  if (it == o.fields().end() || !it->second.has_list_value()) return out;
  for (const auto& v : it->second.list_value().values()) out.push_back(&v);
  return out;
}

std::vector<std::string> json_strings(const JsonObject& o, const std::string& key) {
  std::vector<std::string> out;
  for (const auto* v : json_list(o, key)) {
    if (v->has_string_value()) out.push_back(v->string_value());
  }
  return out;
}

std::string json_text(const google::protobuf::Value& v) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

}  // namespace weft::pkg
