// The configuration's YAML to JSON conversion (plugin configs, `weft validate`): whatever
// YAML parses must come out as valid JSON.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "util/yaml_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const YAML::Exception&) {
    return 0;  // not YAML: the loader reports it
  }
  if (!weft::duplicate_key(node).empty()) return 0;  // the config loader refuses these
  std::string json;
  try {
    json = weft::yaml_to_json(node);
  } catch (const YAML::Exception&) {
    return 0;  // a node yaml-cpp cannot walk (aliases): reported as a config error
  }
  google::protobuf::Value value;  // any JSON value parses into one
  if (!google::protobuf::util::JsonStringToMessage(json, &value).ok()) {
    std::fprintf(stderr, "not JSON: %s\n", json.c_str());
    std::abort();
  }
  return 0;
}
