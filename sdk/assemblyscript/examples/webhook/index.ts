// webhook (AssemblyScript): an exporter that POSTs each batch of log records to the
// exporter's endpoint as JSON lines ({"severity": ..., "body": ...}), with weft doing the
// I/O; what the endpoint answers decides the export's result.
//
// config: {"path": "/hook"} (default "/")
export { weft_abi_version, weft_alloc, weft_configure } from "../../assembly/index";
import {
  Batch, ExportResult, Item, Json, Signal, ValueType, exportBatch, httpRequest, onConfigure,
} from "../../assembly/index";

let path = "/";

function configure(config: Json): string | null {
  const p = config.get("path");
  if (p != null) {
    if (!p.isString()) return "config.path must be a string";
    path = p.text;
  }
  return null;
}

let lines = "";

function line(item: Item): bool {
  const body = item.body();
  const text = body.type == ValueType.String ? body.str.toString() : "";
  lines += '{"severity":' + item.severity().toString() + ',"body":' + JSON_quote(text) + "}\n";
  return true;
}

function JSON_quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += '\\"';
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

function send(batch: Batch): ExportResult {
  lines = "";
  batch.each(line);
  const body = Uint8Array.wrap(String.UTF8.encode(lines));
  const status = httpRequest("POST", path, "Content-Type: application/x-ndjson\n", body);
  return ExportResult.fromHttp(status, "webhook");
}

onConfigure(configure);

export function weft_export_logs(ptr: usize, len: i32): i32 {
  return exportBatch(Signal.Logs, ptr, len, send);
}
