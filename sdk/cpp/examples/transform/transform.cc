// transform (C++): sets, renames, deletes and hashes attributes of spans, log records,
// data points and their resources, with an edit list weft applies natively; the same
// plugin as plugins/transform/transform.c, written with the C++ SDK.
//
// config: {"actions": [action, ...]}, applied in order; an action is
//   {"action": "set",    "key": "k", "value": "v" | 1 | 1.5 | true, "target": "item"|"resource"}
//   {"action": "rename", "key": "old", "to": "new", "target": ...}
//   {"action": "delete", "key": "k", "target": ...}
//   {"action": "hash",   "key": "k", "target": ...}   string value -> its SHA-256 (hex)
// target defaults to "item".
#include <weft.hpp>

namespace {

constexpr int kMaxActions = 32;
constexpr size_t kMaxText = 256;

enum class Kind { set, rename, remove, hash };
enum class Type { string, integer, floating, boolean };

struct Action {
  Kind kind;
  weft::Target target;
  char key[kMaxText];
  char to[kMaxText];
  Type type;
  char str[kMaxText];
  int64_t i;
  double d;
  bool b;
};

Action actions[kMaxActions];
int action_count = 0;
bool has_resource_actions = false;

bool parse_value(Action& a, weft::Json v) {
  if (v.is_string()) {
    a.type = Type::string;
    return v.string(a.str, kMaxText) >= 0;
  }
  if (v.boolean(&a.b)) {
    a.type = Type::boolean;
    return true;
  }
  if (v.number(&a.d)) {
    const std::string_view text = v.text();
    const bool integral = text.find_first_of(".eE") == std::string_view::npos;
    a.type = integral ? Type::integer : Type::floating;
    a.i = static_cast<int64_t>(a.d);
    return true;
  }
  return false;
}

weft::Status configure(weft::Json config) {
  action_count = 0;
  has_resource_actions = false;
  weft::Json list = config["actions"];
  if (!list.present()) return weft::ok();
  if (!list.is_array()) return weft::error("config.actions must be a list");
  for (weft::Json entry : list) {
    if (action_count == kMaxActions) return weft::error("config.actions has more than 32 actions");
    Action& a = actions[action_count++];
    a = Action{};
    char kind[16] = "";
    char target[16] = "item";
    weft::Json v;
    if (!(v = entry["action"]).present() || v.string(kind, sizeof kind) < 0) {
      return weft::error("every action needs \"action\": set, rename, delete or hash");
    }
    if (!(v = entry["key"]).present() || v.string(a.key, kMaxText) <= 0) {
      return weft::error("every action needs a \"key\"");
    }
    if ((v = entry["target"]).present()) v.string(target, sizeof target);
    const std::string_view t = target;
    if (t == "resource") {
      a.target = weft::Target::resource;
      has_resource_actions = true;
    } else if (t == "item") {
      a.target = weft::Target::item;
    } else {
      return weft::error("target must be item or resource");
    }
    const std::string_view k = kind;
    if (k == "set") {
      a.kind = Kind::set;
      if (!parse_value(a, entry["value"])) {
        return weft::error("set needs a string, number or boolean \"value\"");
      }
    } else if (k == "rename") {
      a.kind = Kind::rename;
      if (!(v = entry["to"]).present() || v.string(a.to, kMaxText) <= 0) {
        return weft::error("rename needs \"to\"");
      }
    } else if (k == "delete") {
      a.kind = Kind::remove;
    } else if (k == "hash") {
      a.kind = Kind::hash;
    } else {
      return weft::error("action must be set, rename, delete or hash");
    }
  }
  return weft::ok();
}

// Adds the edits of one action for one item or resource whose attributes are `attrs`.
void edit(weft::Edits& e, const Action& a, size_t index, const weft::Attributes& attrs) {
  switch (a.kind) {
    case Kind::set:
      switch (a.type) {
        case Type::string:
          e.set(a.target, index, a.key, a.str);
          break;
        case Type::integer:
          e.set_int(a.target, index, a.key, a.i);
          break;
        case Type::floating:
          e.set_double(a.target, index, a.key, a.d);
          break;
        case Type::boolean:
          e.set_bool(a.target, index, a.key, a.b);
          break;
      }
      break;
    case Kind::rename:
      e.rename(a.target, index, a.key, a.to);
      break;
    case Kind::remove:
      e.remove(a.target, index, a.key);
      break;
    case Kind::hash: {
      weft::Value v;
      if (!attrs.find(a.key, &v) || !v.is_string()) break;
      char digest[65];
      weft::sha256_hex(v.str(), digest);
      e.set(a.target, index, a.key, std::string_view(digest, 64));
      break;
    }
  }
}

weft::Status process(const weft::Batch& batch) {
  if (action_count == 0 || batch.size() == 0) return weft::ok();
  weft::Edits edits;
  size_t next_resource = 0;  // resources are edited once, at their first item
  for (const weft::Item item : batch.items()) {
    const bool first_of_resource =
        has_resource_actions && item.resource_index() + 1 > next_resource;
    for (int k = 0; k < action_count; k++) {
      const Action& a = actions[k];
      if (a.target == weft::Target::item) {
        edit(edits, a, item.index(), item.attributes());
      } else if (first_of_resource) {
        edit(edits, a, item.resource_index(), item.resource_attributes());
      }
    }
    if (first_of_resource) next_resource = item.resource_index() + 1;
  }
  if (edits.submit().is_ok()) return weft::ok();
  return weft::error("weft refused the edit list");
}

}  // namespace

WEFT_CPP_PLUGIN(configure)
WEFT_CPP_PROCESS_TRACES(process)
WEFT_CPP_PROCESS_METRICS(process)
WEFT_CPP_PROCESS_LOGS(process)
