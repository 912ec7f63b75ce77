// filter (AssemblyScript): drops spans, log records or data points that match any rule;
// the same plugin as plugins/filter/filter.c, written with the AssemblyScript SDK.
//
// config: {"drop": [rule, ...]}; a rule holds when all its conditions hold:
//   "name": "x"                 span name / metric name equals x
//   "attribute": "k"            the item's attribute k ...
//   "resource_attribute": "k"   ... or the resource's attribute k
//     with one of: "equals": "v" | "not_equals": "v" | "prefix": "p" | "exists": true|false
//                  "gt": n | "lt": n   (int or double attributes)
//   "severity_below": n         log records with severity_number < n (and > 0)
import {
  Batch, Bytes, Item, Json, KeepMask, Signal, Value, ValueType, counterAdd, onConfigure, process,
} from "../../assembly/index";
export { weft_abi_version, weft_alloc, weft_configure } from "../../assembly/index";

enum Op { None, Equals, NotEquals, Prefix, Exists, Gt, Lt }

class Rule {
  name: Bytes = new Bytes();
  key: Bytes = new Bytes();
  onResource: bool = false;
  op: Op = Op.None;
  text: Bytes = new Bytes();
  number: f64 = 0;
  exists: bool = false;
  severityBelow: u64 = 0;
}

let rules: Rule[] = [];

function text(v: Json | null): Bytes | null {
  if (v == null) return null;
  return Bytes.of(v.isString() ? v.text : "");
}

function configure(config: Json): string | null {
  rules = [];
  const drop = config.get("drop");
  if (drop == null) return null; // nothing to drop
  if (!drop.isArray()) return "config.drop must be a list of rules";
  if (drop.items.length > 32) return "config.drop has more than 32 rules";
  for (let k = 0; k < drop.items.length; k++) {
    const r = drop.items[k];
    const x = new Rule();
    let t = text(r.get("name"));
    if (t != null) x.name = t;
    t = text(r.get("attribute"));
    if (t != null) x.key = t;
    t = text(r.get("resource_attribute"));
    if (t != null) {
      x.key = t;
      x.onResource = true;
    }
    let v: Json | null;
    if ((t = text(r.get("equals"))) != null) {
      x.op = Op.Equals;
      x.text = t;
    } else if ((t = text(r.get("not_equals"))) != null) {
      x.op = Op.NotEquals;
      x.text = t;
    } else if ((t = text(r.get("prefix"))) != null) {
      x.op = Op.Prefix;
      x.text = t;
    } else if ((v = r.get("exists")) != null) {
      x.op = Op.Exists;
      x.exists = v.isBool() && v.b;
    } else if ((v = r.get("gt")) != null) {
      x.op = Op.Gt;
      x.number = v.isNumber() ? v.n : 0;
    } else if ((v = r.get("lt")) != null) {
      x.op = Op.Lt;
      x.number = v.isNumber() ? v.n : 0;
    }
    const sev = r.get("severity_below");
    if (sev != null && sev.isNumber()) x.severityBelow = <u64>(<i32>sev.n);
    if (x.key.len > 0 && x.op == Op.None) {
      return "a rule with an attribute needs equals, not_equals, prefix, exists, gt or lt";
    }
    if (x.key.len == 0 && x.name.len == 0 && x.severityBelow == 0) {
      return "a rule needs name, attribute, resource_attribute or severity_below";
    }
    rules.push(x);
  }
  return null;
}

function valueMatches(x: Rule, v: Value | null): bool {
  if (x.op == Op.Exists) return (v != null) == x.exists;
  if (v == null) return x.op == Op.NotEquals;
  switch (x.op) {
    case Op.Equals:
      return v.isString(x.text);
    case Op.NotEquals:
      return !v.isString(x.text);
    case Op.Prefix:
      return v.type == ValueType.String && v.str.startsWith(x.text);
    case Op.Gt:
      return v.isNumber() && v.number() > x.number;
    case Op.Lt:
      return v.isNumber() && v.number() < x.number;
  }
  return false;
}

function ruleMatches(x: Rule, item: Item): bool {
  if (x.name.len > 0 && !item.name().equals(x.name)) return false;
  if (x.severityBelow != 0) {
    if (item.signal != Signal.Logs) return false;
    const s = item.severity();
    if (s == 0 || s >= x.severityBelow) return false;
  }
  if (x.key.len > 0) {
    const attrs = x.onResource ? item.resourceAttributes() : item.attributes();
    if (!valueMatches(x, attrs.find(x.key))) return false;
  }
  return true;
}

let mask: KeepMask = new KeepMask(0);

function handle(batch: Batch): string | null {
  if (rules.length == 0 || batch.length == 0) return null;
  mask = new KeepMask(batch.length);
  batch.each((item: Item): bool => {
    for (let r = 0; r < rules.length; r++) {
      if (ruleMatches(rules[r], item)) {
        mask.drop(item.index);
        break;
      }
    }
    return true;
  });
  if (mask.dropped == 0) return null; // unchanged: nothing is re-encoded
  counterAdd("filter_dropped_items", <f64>mask.dropped);
  return mask.submit();
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
