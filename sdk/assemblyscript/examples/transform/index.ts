// transform (AssemblyScript): sets, renames, deletes and hashes attributes of spans, log
// records, data points and their resources, with an edit list weft applies natively; the
// same plugin as plugins/transform/transform.c, written with the AssemblyScript SDK.
//
// config: {"actions": [action, ...]}, applied in order; an action is
//   {"action": "set",    "key": "k", "value": "v" | 1 | 1.5 | true, "target": "item"|"resource"}
//   {"action": "rename", "key": "old", "to": "new", "target": ...}
//   {"action": "delete", "key": "k", "target": ...}
//   {"action": "hash",   "key": "k", "target": ...}   string value -> its SHA-256 (hex)
// target defaults to "item".
import {
  Attributes, Batch, Bytes, Edits, Item, Json, Signal, Target, ValueType, onConfigure, process,
  sha256Hex,
} from "../../assembly/index";
export { weft_abi_version, weft_alloc, weft_configure } from "../../assembly/index";

enum Kind { Set, Rename, Delete, Hash }
enum Type { Str, Int, Double, Bool }

class Action {
  kind: Kind = Kind.Set;
  target: Target = Target.Item;
  key: Bytes = new Bytes();
  to: Bytes = new Bytes();
  type: Type = Type.Str;
  str: Bytes = new Bytes();
  i: i64 = 0;
  d: f64 = 0;
  b: bool = false;
}

let actions: Action[] = [];
let hasResourceActions = false;
const edits = new Edits();

function parseValue(a: Action, v: Json | null): bool {
  if (v == null) return false;
  if (v.isString()) {
    a.type = Type.Str;
    a.str = Bytes.of(v.text);
    return true;
  }
  if (v.isBool()) {
    a.type = Type.Bool;
    a.b = v.b;
    return true;
  }
  if (v.isNumber()) {
    const integral = !v.text.includes(".") && !v.text.includes("e") && !v.text.includes("E");
    a.type = integral ? Type.Int : Type.Double;
    a.d = v.n;
    a.i = <i64>v.n;
    return true;
  }
  return false;
}

function configure(config: Json): string | null {
  actions = [];
  hasResourceActions = false;
  const list = config.get("actions");
  if (list == null) return null;
  if (!list.isArray()) return "config.actions must be a list";
  if (list.items.length > 32) return "config.actions has more than 32 actions";
  for (let k = 0; k < list.items.length; k++) {
    const entry = list.items[k];
    const a = new Action();
    const kind = entry.get("action");
    if (kind == null || !kind.isString()) return 'every action needs "action": set, rename, delete or hash';
    const key = entry.get("key");
    if (key == null || !key.isString() || key.text.length == 0) return 'every action needs a "key"';
    a.key = Bytes.of(key.text);
    const target = entry.get("target");
    const t = target == null ? "item" : target.isString() ? target.text : "";
    if (t == "resource") {
      a.target = Target.Resource;
      hasResourceActions = true;
    } else if (t == "item") {
      a.target = Target.Item;
    } else {
      return "target must be item or resource";
    }
    if (kind.text == "set") {
      a.kind = Kind.Set;
      if (!parseValue(a, entry.get("value"))) return 'set needs a string, number or boolean "value"';
    } else if (kind.text == "rename") {
      a.kind = Kind.Rename;
      const to = entry.get("to");
      if (to == null || !to.isString() || to.text.length == 0) return 'rename needs "to"';
      a.to = Bytes.of(to.text);
    } else if (kind.text == "delete") {
      a.kind = Kind.Delete;
    } else if (kind.text == "hash") {
      a.kind = Kind.Hash;
    } else {
      return "action must be set, rename, delete or hash";
    }
    actions.push(a);
  }
  return null;
}

// Adds the edits of one action for one item or resource with attributes attrs.
function edit(a: Action, index: i32, attrs: Attributes): void {
  switch (a.kind) {
    case Kind.Set:
      if (a.type == Type.Str) edits.setString(a.target, index, a.key, a.str);
      else if (a.type == Type.Int) edits.setInt(a.target, index, a.key, a.i);
      else if (a.type == Type.Double) edits.setDouble(a.target, index, a.key, a.d);
      else edits.setBool(a.target, index, a.key, a.b);
      break;
    case Kind.Rename:
      edits.rename(a.target, index, a.key, a.to);
      break;
    case Kind.Delete:
      edits.delete(a.target, index, a.key);
      break;
    case Kind.Hash: {
      const v = attrs.find(a.key);
      if (v == null || v.type != ValueType.String) break;
      edits.setString(a.target, index, a.key, Bytes.of(sha256Hex(v.str.ptr, v.str.len)));
      break;
    }
  }
}

let nextResource = 0;

function handle(batch: Batch): string | null {
  if (actions.length == 0 || batch.length == 0) return null;
  edits.clear();
  nextResource = 0; // resources are edited once, at their first item
  batch.each((item: Item): bool => {
    const first = hasResourceActions && item.resourceIndex + 1 > nextResource;
    for (let k = 0; k < actions.length; k++) {
      const a = actions[k];
      if (a.target == Target.Item) edit(a, item.index, item.attributes());
      else if (first) edit(a, item.resourceIndex, item.resourceAttributes());
    }
    if (first) nextResource = item.resourceIndex + 1;
    return true;
  });
  return edits.submit() == null ? null : "weft refused the edit list";
}

onConfigure(configure);

export function weft_process_traces(ptr: usize, len: i32): i32 {
  return process(Signal.Traces, ptr, len, handle);
}
export function weft_process_metrics(ptr: usize, len: i32): i32 {
  return process(Signal.Metrics, ptr, len, handle);
}
export function weft_process_logs(ptr: usize, len: i32): i32 {
  return process(Signal.Logs, ptr, len, handle);
}
