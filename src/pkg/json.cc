#include "pkg/json.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

namespace weft::pkg {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
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
      case '\r':
        out += "\\r";
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
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

Result<JsonObject> parse_json(std::string_view text, const std::string& what) {
  JsonObject out;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &out);
  if (!status.ok()) {
    return Status::invalid_argument(what +
                                    " is not a JSON object: " + std::string(status.message()));
  }
  return out;
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
