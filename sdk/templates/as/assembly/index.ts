// {{name}}: a weft plugin. It drops every span and log record whose attribute named by
// config "attribute" (default "debug") has the string value config "equals" (default
// "true"), and counts what it dropped in the counter "dropped".
//
// Build it with `weft plugin build`, test it with `weft plugin test`; the AssemblyScript
// SDK's guide is sdk/assemblyscript/README.md in the weft repository.
import { Batch, Bytes, Item, Json, KeepMask, Signal, counterAdd, onConfigure, process } from "@weft/sdk/assembly/index";
export { weft_abi_version, weft_alloc, weft_configure } from "@weft/sdk/assembly/index";

let attribute = Bytes.of("debug");
let equals = Bytes.of("true");

function configure(config: Json): string | null {
  const a = config.get("attribute");
  if (a != null) {
    if (!a.isString()) return "config.attribute must be a string";
    attribute = Bytes.of(a.text);
  }
  const e = config.get("equals");
  if (e != null) {
    if (!e.isString()) return "config.equals must be a string";
    equals = Bytes.of(e.text);
  }
  return null;
}

let mask = new KeepMask(0);

function handle(batch: Batch): string | null {
  mask = new KeepMask(batch.length);
  batch.each((item: Item): bool => {
    const v = item.attributes().find(attribute);
    if (v != null && v.isString(equals)) mask.drop(item.index);
    return true;
  });
  if (mask.dropped > 0) counterAdd("dropped", <f64>mask.dropped);
  return mask.submit();
}

onConfigure(configure);

export function weft_process_traces(ptr: usize, len: i32): i32 {
  return process(Signal.Traces, ptr, len, handle);
}
export function weft_process_logs(ptr: usize, len: i32): i32 {
  return process(Signal.Logs, ptr, len, handle);
}
