// The weft plugin SDK for AssemblyScript: the ABI of docs/abi.md, reading each batch in
// place. A plugin's entry file re-exports the SDK's exports and adds one process export
// per signal:
//
//   export { weft_abi_version, weft_alloc, weft_configure } from "@weft/sdk";
//   import { Batch, Signal, process, onConfigure } from "@weft/sdk";
//   onConfigure((config: Json): string | null => null);
//   function handle(batch: Batch): string | null { ... return null; }
//   export function weft_process_traces(ptr: usize, len: i32): i32 {
//     return process(Signal.Traces, ptr, len, handle);
//   }
//
// Errors are returned as a message (null: success). Build with asc and `--use abort=`
// (see sdk/assemblyscript/README.md): weft refuses imports other than weft.* and WASI.

// ---- host imports (module "weft") ----------------------------------------------------

@external("weft", "log") declare function host_log(level: i32, ptr: usize, len: i32): void;
@external("weft", "set_error") declare function host_set_error(ptr: usize, len: i32): void;
@external("weft", "now_unix_nano") declare function host_now(): i64;
@external("weft", "metric")
declare function host_metric(kind: i32, name: usize, nameLen: i32, value: f64, attrs: usize, attrsLen: i32): i32;
@external("weft", "kv_get") declare function host_kv_get(key: usize, keyLen: i32, out: usize, cap: i32): i32;
@external("weft", "kv_set") declare function host_kv_set(key: usize, keyLen: i32, value: usize, len: i32): i32;
@external("weft", "kv_delete") declare function host_kv_delete(key: usize, keyLen: i32): i32;
@external("weft", "env_get") declare function host_env_get(name: usize, nameLen: i32, out: usize, cap: i32): i32;
@external("weft", "result_drop_all") declare function host_drop_all(): i32;
@external("weft", "result_keep") declare function host_keep(ptr: usize, len: i32): i32;
@external("weft", "result_edits") declare function host_edits(ptr: usize, len: i32): i32;
@external("weft", "result_replace") declare function host_replace(ptr: usize, len: i32): i32;
@external("weft", "emit") declare function host_emit(signal: i32, ptr: usize, len: i32): i32;
@external("weft", "http_request")
declare function host_http_request(method: usize, methodLen: i32, url: usize, urlLen: i32,
  headers: usize, headersLen: i32, body: usize, bodyLen: i32): i32;
@external("weft", "http_response_header")
declare function host_http_response_header(name: usize, nameLen: i32, out: usize, cap: i32): i32;
@external("weft", "http_response_body") declare function host_http_response_body(out: usize, cap: i32): i32;
@external("weft", "set_retry_after") declare function host_set_retry_after(milliseconds: i64): i32;
@external("weft", "set_rejected") declare function host_set_rejected(items: i64): i32;
@external("weft", "request_info") declare function host_request_info(which: i32, out: usize, cap: i32): i32;
@external("weft", "request_header")
declare function host_request_header(name: usize, nameLen: i32, out: usize, cap: i32): i32;
@external("weft", "respond") declare function host_respond(status: i32, ptr: usize, len: i32): i32;

// ---- bytes ---------------------------------------------------------------------------

/** A view of bytes in linear memory (the batch, or an encoded string). */
export class Bytes {
  constructor(public ptr: usize = 0, public len: i32 = 0) {}

  /** The bytes of a string, UTF-8 encoded (kept alive by the returned view's buffer). */
  static of(s: string): Bytes {
    const buf = String.UTF8.encode(s);
    const b = new Bytes(changetype<usize>(buf), buf.byteLength);
    b.keep = buf;
    return b;
  }
  keep: ArrayBuffer | null = null;

  equals(other: Bytes): bool {
    return this.len == other.len && memory.compare(this.ptr, other.ptr, this.len) == 0;
  }
  startsWith(prefix: Bytes): bool {
    return this.len >= prefix.len && memory.compare(this.ptr, prefix.ptr, prefix.len) == 0;
  }
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, this.len);
  }
}

// ---- protobuf reader -----------------------------------------------------------------

/** Walks the fields of a message in place; the current field is in its public fields. */
export class Reader {
  p: usize;
  end: usize;
  error: bool = false;
  number: u32 = 0;
  wireType: u32 = 0;
  u64: u64 = 0;
  bytesPtr: usize = 0;
  bytesLen: i32 = 0;

  constructor(ptr: usize, len: i32) {
    this.p = ptr;
    this.end = ptr + <usize>len;
  }

  /** Starts over on another message (readers can be reused: no allocation). */
  reset(ptr: usize, len: i32): Reader {
    this.p = ptr;
    this.end = ptr + <usize>len;
    this.error = false;
    return this;
  }

  @inline private varint(): bool {
    let p = this.p;
    const end = this.end;
    if (p < end) {
      const c = load<u8>(p);
      if (c < 0x80) {
        this.u64 = <u64>c;
        this.p = p + 1;
        return true;
      }
    }
    let x: u64 = 0;
    for (let shift: u64 = 0; shift < 64 && p < end; shift += 7) {
      const c = load<u8>(p++);
      x |= (<u64>(c & 0x7f)) << shift;
      if (c < 0x80) {
        this.u64 = x;
        this.p = p;
        return true;
      }
    }
    return false;
  }

  /** Reads the next field; false at the end or on malformed input. */
  next(): bool {
    if (this.error || this.p >= this.end) return false;
    if (!this.varint() || this.u64 >> 3 == 0) return this.fail();
    const tag = this.u64;
    this.number = <u32>(tag >> 3);
    this.wireType = <u32>(tag & 7);
    this.u64 = 0;
    this.bytesPtr = 0;
    this.bytesLen = 0;
    switch (this.wireType) {
      case 0:
        if (!this.varint()) return this.fail();
        break;
      case 1:
        if (this.end - this.p < 8) return this.fail();
        this.u64 = load<u64>(this.p);
        this.p += 8;
        break;
      case 5:
        if (this.end - this.p < 4) return this.fail();
        this.u64 = <u64>load<u32>(this.p);
        this.p += 4;
        break;
      case 2: {
        if (!this.varint() || this.u64 > <u64>(this.end - this.p)) return this.fail();
        this.bytesPtr = this.p;
        this.bytesLen = <i32>this.u64;
        this.u64 = 0;
        this.p += <usize>this.bytesLen;
        break;
      }
      default:
        return this.fail();
    }
    return true;
  }

  private fail(): bool {
    this.error = true;
    return false;
  }
}

// A scratch reader for the leaf functions below (they never call each other).
const leafReader = new Reader(0, 0);

/** The first length-delimited field `number` of a message (empty if absent). */
export function pbBytes(ptr: usize, len: i32, number: u32): Bytes {
  const r = leafReader.reset(ptr, len);
  while (r.next()) {
    if (r.number == number && r.wireType == 2) return new Bytes(r.bytesPtr, r.bytesLen);
  }
  return new Bytes();
}

/** The first varint or fixed field `number` of a message (0 if absent). */
export function pbU64(ptr: usize, len: i32, number: u32): u64 {
  const r = leafReader.reset(ptr, len);
  while (r.next()) {
    if (r.number == number && r.wireType != 2) return r.u64;
  }
  return 0;
}

// ---- values and attributes -----------------------------------------------------------

export enum ValueType {
  None = 0,
  String,
  Bool,
  Int,
  Double,
  Other,
}

/** An AnyValue, read in place. */
export class Value {
  type: ValueType = ValueType.None;
  str: Bytes = new Bytes();
  i: i64 = 0;
  d: f64 = 0;
  b: bool = false;

  static read(ptr: usize, len: i32): Value {
    const v = new Value();
    const r = leafReader.reset(ptr, len);
    while (r.next()) {
      switch (r.number) {
        case 1:
          v.type = ValueType.String;
          v.str = new Bytes(r.bytesPtr, r.bytesLen);
          break;
        case 2:
          v.type = ValueType.Bool;
          v.b = r.u64 != 0;
          break;
        case 3:
          v.type = ValueType.Int;
          v.i = <i64>r.u64;
          break;
        case 4:
          v.type = ValueType.Double;
          v.d = reinterpret<f64>(r.u64);
          break;
        default:
          v.type = ValueType.Other;
      }
    }
    return v;
  }

  isString(s: Bytes): bool {
    return this.type == ValueType.String && this.str.equals(s);
  }
  isNumber(): bool {
    return this.type == ValueType.Int || this.type == ValueType.Double;
  }
  number(): f64 {
    return this.type == ValueType.Int ? <f64>this.i : this.d;
  }
}

// Scratch readers for Attributes.find (one call at a time: no allocation per attribute).
const findReader = new Reader(0, 0);
const keyReader = new Reader(0, 0);

/** The attributes (KeyValue, field `field`) of a message. */
export class Attributes {
  constructor(public ptr: usize, public len: i32, public field: u32) {}

  /** The value of the first attribute with this key (null if absent); only it is decoded. */
  find(key: Bytes): Value | null {
    const r = findReader.reset(this.ptr, this.len);
    const kv = keyReader;
    while (r.next()) {
      if (r.number != this.field || r.wireType != 2) continue;
      kv.reset(r.bytesPtr, r.bytesLen);
      while (kv.next()) {
        if (kv.number != 1 || kv.wireType != 2) continue;
        if (kv.bytesLen == key.len && memory.compare(kv.bytesPtr, key.ptr, key.len) == 0) {
          const v = pbBytes(r.bytesPtr, r.bytesLen, 2);
          return Value.read(v.ptr, v.len);
        }
        break;
      }
    }
    return null;
  }

  /** Calls fn(key, value) for every attribute in wire order until it returns false. */
  each(fn: (key: Bytes, value: Value) => bool): void {
    const r = new Reader(this.ptr, this.len);
    while (r.next()) {
      if (r.number != this.field || r.wireType != 2) continue;
      const v = pbBytes(r.bytesPtr, r.bytesLen, 2);
      if (!fn(pbBytes(r.bytesPtr, r.bytesLen, 1), Value.read(v.ptr, v.len))) return;
    }
  }
}

// ---- batches and items ---------------------------------------------------------------

export enum Signal {
  Traces = 0,
  Metrics = 1,
  Logs = 2,
}

/** A span, log record or data point with where it lives. */
export class Item {
  index: i32 = 0;
  resourceIndex: i32 = 0;
  resource: Bytes = new Bytes();
  scope: Bytes = new Bytes();
  raw: Bytes = new Bytes();
  metric: Bytes = new Bytes();
  attributesField: u32 = 0;
  signal: Signal = Signal.Traces;

  private attrs: Attributes = new Attributes(0, 0, 0);
  private resourceAttrs: Attributes = new Attributes(0, 0, 1);

  /** The item's attributes (the same object on every call, updated for this item). */
  attributes(): Attributes {
    this.attrs.ptr = this.raw.ptr;
    this.attrs.len = this.raw.len;
    this.attrs.field = this.attributesField;
    return this.attrs;
  }
  resourceAttributes(): Attributes {
    this.resourceAttrs.ptr = this.resource.ptr;
    this.resourceAttrs.len = this.resource.len;
    return this.resourceAttrs;
  }
  /** Span name (traces) or metric name (metrics); empty for log records. */
  name(): Bytes {
    if (this.signal == Signal.Traces) return pbBytes(this.raw.ptr, this.raw.len, 5);
    if (this.signal == Signal.Metrics) return pbBytes(this.metric.ptr, this.metric.len, 1);
    return new Bytes();
  }
  /** A log record's severity number (0 if unset or not a log record). */
  severity(): u64 {
    return this.signal == Signal.Logs ? pbU64(this.raw.ptr, this.raw.len, 2) : 0;
  }
  /** A log record's body. */
  body(): Value {
    if (this.signal != Signal.Logs) return new Value();
    const b = pbBytes(this.raw.ptr, this.raw.len, 5);
    return Value.read(b.ptr, b.len);
  }
}

function isMetricData(n: u32): bool {
  return n == 5 || n == 7 || n == 9 || n == 10 || n == 11;
}

/** One Export*ServiceRequest, read in place. */
export class Batch {
  length: i32 = 0;

  constructor(public signal: Signal, public request: Bytes) {
    this.each((item: Item): bool => true);
    this.length = this.counted;
  }
  private counted: i32 = 0;

  /** Calls fn for every item in wire order until it returns false; the Item is reused. */
  each(fn: (item: Item) => bool): void {
    const it = new Item();
    it.signal = this.signal;
    const itemsField: u32 = this.signal == Signal.Logs ? 6 : 9;
    const requests = new Reader(this.request.ptr, this.request.len);
    let resource = 0;
    let index = 0;
    while (requests.next()) {
      if (requests.number != 1 || requests.wireType != 2) continue;
      it.resource = pbBytes(requests.bytesPtr, requests.bytesLen, 1);
      it.resourceIndex = resource++;
      const scopes = new Reader(requests.bytesPtr, requests.bytesLen);
      while (scopes.next()) {
        if (scopes.number != 2 || scopes.wireType != 2) continue;
        it.scope = pbBytes(scopes.bytesPtr, scopes.bytesLen, 1);
        const items = new Reader(scopes.bytesPtr, scopes.bytesLen);
        while (items.next()) {
          if (items.number != 2 || items.wireType != 2) continue;
          if (this.signal != Signal.Metrics) {
            it.raw.ptr = items.bytesPtr;
            it.raw.len = items.bytesLen;
            it.attributesField = itemsField;
            it.index = index++;
            if (!fn(it)) return this.done(index);
            continue;
          }
          it.metric.ptr = items.bytesPtr;
          it.metric.len = items.bytesLen;
          const mr = new Reader(items.bytesPtr, items.bytesLen);
          while (mr.next()) {
            if (mr.wireType != 2 || !isMetricData(mr.number)) continue;
            it.attributesField = mr.number == 9 ? 9 : mr.number == 10 ? 1 : 7;
            const points = new Reader(mr.bytesPtr, mr.bytesLen);
            while (points.next()) {
              if (points.number != 1 || points.wireType != 2) continue;
              it.raw.ptr = points.bytesPtr;
              it.raw.len = points.bytesLen;
              it.index = index++;
              if (!fn(it)) return this.done(index);
            }
          }
        }
      }
    }
    this.done(index);
  }

  private done(index: i32): void {
    this.counted = index;
  }
}

// ---- results (drop or replace alone; keep and edits may go together) ----------------------------

export function dropAll(): string | null {
  return host_drop_all() == 0 ? null : "weft refused drop_all";
}

export function replace(request: Bytes): string | null {
  return host_replace(request.ptr, request.len) == 0 ? null : "weft refused the replacement";
}

/** Every item kept until dropped. */
export class KeepMask {
  mask: Uint8Array;
  dropped: i32 = 0;

  constructor(items: i32) {
    this.mask = new Uint8Array(items);
    this.mask.fill(1);
  }
  drop(index: i32): void {
    if (this.mask[index] != 0) this.dropped++;
    this.mask[index] = 0;
  }
  /** Hands the mask to weft: nothing when nothing was dropped, drop_all when all were. */
  submit(): string | null {
    if (this.dropped == 0) return null;
    if (this.dropped == this.mask.length) return dropAll();
    const rc = host_keep(this.mask.dataStart, this.mask.length);
    return rc == 0 ? null : "weft refused the keep-mask";
  }
}

export enum Target {
  Item = 0,
  Resource = 1,
}

/** An edit list that weft applies natively (docs/abi.md, "Edit list"). */
export class Edits {
  private buf: Uint8Array = new Uint8Array(256);
  length: i32 = 0;

  private reserve(n: i32): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const grown = new Uint8Array(cap);
    memory.copy(grown.dataStart, this.buf.dataStart, this.length);
    this.buf = grown;
  }
  private u8(v: u8): void {
    this.reserve(1);
    store<u8>(this.buf.dataStart + this.length, v);
    this.length += 1;
  }
  private u32(v: u32): void {
    this.reserve(4);
    store<u32>(this.buf.dataStart + this.length, v);
    this.length += 4;
  }
  private u64(v: u64): void {
    this.reserve(8);
    store<u64>(this.buf.dataStart + this.length, v);
    this.length += 8;
  }
  private bytes(b: Bytes): void {
    this.u32(<u32>b.len);
    this.reserve(b.len);
    memory.copy(this.buf.dataStart + this.length, b.ptr, b.len);
    this.length += b.len;
  }
  private head(op: u8, target: Target, index: i32, key: Bytes): void {
    this.u8(op);
    this.u8(<u8>target);
    this.u32(<u32>index);
    this.bytes(key);
  }
  setString(target: Target, index: i32, key: Bytes, value: Bytes): void {
    this.head(1, target, index, key);
    this.bytes(value);
  }
  setInt(target: Target, index: i32, key: Bytes, value: i64): void {
    this.head(2, target, index, key);
    this.u64(<u64>value);
  }
  setDouble(target: Target, index: i32, key: Bytes, value: f64): void {
    this.head(3, target, index, key);
    this.u64(reinterpret<u64>(value));
  }
  setBool(target: Target, index: i32, key: Bytes, value: bool): void {
    this.head(4, target, index, key);
    this.u8(value ? 1 : 0);
  }
  delete(target: Target, index: i32, key: Bytes): void {
    this.head(5, target, index, key);
  }
  rename(target: Target, index: i32, key: Bytes, newKey: Bytes): void {
    this.head(6, target, index, key);
    this.bytes(newKey);
  }
  setName(index: i32, name: Bytes): void {
    this.head(7, Target.Item, index, new Bytes());
    this.bytes(name);
  }
  setBody(index: i32, body: Bytes): void {
    this.head(8, Target.Item, index, new Bytes());
    this.bytes(body);
  }
  clear(): void {
    this.length = 0;
  }
  /** Hands the list to weft (if not empty). */
  submit(): string | null {
    if (this.length == 0) return null;
    return host_edits(this.buf.dataStart, this.length) == 0 ? null : "weft refused the edit list";
  }
}

// ---- host services -------------------------------------------------------------------

export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

export function log(level: Level, message: string): void {
  const b = Bytes.of(message);
  host_log(level, b.ptr, b.len);
}

export function setError(message: string): void {
  const b = Bytes.of(message);
  host_set_error(b.ptr, b.len);
}

export function nowUnixNano(): i64 {
  return host_now();
}

function metric(kind: i32, name: string, value: f64, attributes: string): i32 {
  const n = Bytes.of(name);
  const a = Bytes.of(attributes);
  return host_metric(kind, n.ptr, n.len, value, a.ptr, a.len);
}
/** Metric attributes are "key=value" lines separated by "\n". */
export function counterAdd(name: string, value: f64, attributes: string = ""): i32 {
  return metric(0, name, value, attributes);
}
export function gaugeSet(name: string, value: f64, attributes: string = ""): i32 {
  return metric(1, name, value, attributes);
}
export function histogramRecord(name: string, value: f64, attributes: string = ""): i32 {
  return metric(2, name, value, attributes);
}

// Reads through a host call that copies up to cap bytes and returns the full size (null
// for a negative code); a second call when the first buffer was too small.
function readSized(call: (out: usize, cap: i32) => i32): Uint8Array | null {
  let buf = new Uint8Array(256);
  let n = call(buf.dataStart, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = call(buf.dataStart, buf.length);
  }
  if (n < 0 || n > buf.length) return null;
  return buf.subarray(0, n);
}
let sizedKey: Bytes = new Bytes();
/** The state's value of key (null if absent). */
export function kvGet(key: string): Uint8Array | null {
  sizedKey = Bytes.of(key);
  return readSized((out: usize, cap: i32): i32 => host_kv_get(sizedKey.ptr, sizedKey.len, out, cap));
}
export function kvSet(key: string, value: Uint8Array): i32 {
  const k = Bytes.of(key);
  return host_kv_set(k.ptr, k.len, value.dataStart, value.length);
}
export function kvDelete(key: string): i32 {
  const k = Bytes.of(key);
  return host_kv_delete(k.ptr, k.len);
}
/** An environment variable the config grants in permissions.env (null if not). */
export function envGet(name: string): string | null {
  sizedKey = Bytes.of(name);
  const v = readSized((out: usize, cap: i32): i32 => host_env_get(sizedKey.ptr, sizedKey.len, out, cap));
  return v == null ? null : String.UTF8.decodeUnsafe(v.dataStart, v.length);
}

// ---- the edges (ABI 1.2): outbound HTTP for exporters, requests for receivers ----------

/** Why httpRequest got no HTTP status (docs/abi.md, "Exporter plugins"). */
export const HTTP_INVALID: i32 = -2; // a bad method, URL or header line
export const HTTP_DENIED: i32 = -3; // an origin or address the plugin may not reach
export const HTTP_LIMIT: i32 = -4; // a cap, or no time left
export const HTTP_FAILED: i32 = -5; // no response

/**
 * One request made by weft: url is a path relative to the exporter's endpoint or an
 * absolute URL of an allowed origin; headers are "Name: value" lines separated by "\n".
 * Returns the response's HTTP status or one of the HTTP_* codes.
 */
export function httpRequest(method: string, url: string, headers: string, body: Uint8Array): i32 {
  const m = Bytes.of(method), u = Bytes.of(url), h = Bytes.of(headers);
  return host_http_request(m.ptr, m.len, u.ptr, u.len, h.ptr, h.len, body.dataStart, body.length);
}
/** A header of the last response (name without case), null if absent. */
export function responseHeader(name: string): string | null {
  sizedKey = Bytes.of(name);
  const v = readSized((out: usize, cap: i32): i32 =>
    host_http_response_header(sizedKey.ptr, sizedKey.len, out, cap));
  return v == null ? null : String.UTF8.decodeUnsafe(v.dataStart, v.length);
}
/** The last response's body (empty if none). */
export function responseBody(): Uint8Array {
  const v = readSized((out: usize, cap: i32): i32 => host_http_response_body(out, cap));
  return v == null ? new Uint8Array(0) : v;
}

/** What an export did with its batch: sent, retry, drop or partial. */
export class ExportResult {
  constructor(public status: i32, public reason: string = "", public retryAfterMs: i64 = 0,
              public rejected: i64 = 0) {}
  static sent(): ExportResult { return new ExportResult(0); }
  /** Retry the same batch with backoff, not before retryAfterMs (0: no minimum). */
  static retry(reason: string, retryAfterMs: i64 = 0): ExportResult {
    return new ExportResult(1, reason, retryAfterMs);
  }
  /** Dropped and counted as failed. */
  static drop(reason: string): ExportResult { return new ExportResult(2, reason); }
  /** Sent, but the destination refused `rejected` of the items. */
  static partial(rejected: i64, reason: string): ExportResult {
    return new ExportResult(3, reason, 0, rejected);
  }
  /** What an HTTP answer usually means: 2xx sent; 429, 502-504 and no response retried
   * (after the response's Retry-After seconds); anything else dropped. */
  static fromHttp(status: i32, who: string): ExportResult {
    if (status >= 200 && status < 300) return ExportResult.sent();
    if (status == HTTP_FAILED) return ExportResult.retry(who + ": the request failed (no response)");
    if (status < 0) return ExportResult.drop(who + ": the request failed (" + status.toString() + ")");
    const reason = who + ": the destination answered HTTP " + status.toString();
    if (status == 429 || (status >= 502 && status <= 504)) {
      const after = responseHeader("Retry-After");
      const seconds = after == null ? 0 : I64.parseInt(after);
      return ExportResult.retry(reason, seconds > 0 ? seconds * 1000 : 0);
    }
    return ExportResult.drop(reason);
  }
}

/** Connectors and receivers: hands an encoded Export<Signal>ServiceRequest to weft. */
export function emit(signal: Signal, request: Uint8Array): i32 {
  return host_emit(<i32>signal, request.dataStart, request.length);
}

/** What a receiver's request is (docs/abi.md, "Receiver plugins"). */
export enum RequestInfo {
  Method = 0,
  Path = 1,
  Query = 2,
  Target = 3, // pull: the URL fetched
  Peer = 4, // push: the client's address
  Status = 5, // pull: the target's HTTP status
}
let infoWhich: i32 = 0;
export function requestInfo(which: RequestInfo): string | null {
  infoWhich = <i32>which;
  const v = readSized((out: usize, cap: i32): i32 => host_request_info(infoWhich, out, cap));
  return v == null ? null : String.UTF8.decodeUnsafe(v.dataStart, v.length);
}
/** A header of the request (push) or of the target's response (pull). */
export function requestHeader(name: string): string | null {
  sizedKey = Bytes.of(name);
  const v = readSized((out: usize, cap: i32): i32 =>
    host_request_header(sizedKey.ptr, sizedKey.len, out, cap));
  return v == null ? null : String.UTF8.decodeUnsafe(v.dataStart, v.length);
}
/** Push: the answer's status and body for an accepted request. */
export function respond(status: i32, body: Uint8Array): i32 {
  return host_respond(status, body.dataStart, body.length);
}

export { sha256Hex } from "./sha256";
export { Json } from "./json";
import { Json } from "./json";

// ---- exports -------------------------------------------------------------------------

let configureFn: ((config: Json) => string | null) | null = null;

/** Registers the plugin's configure function (call it at the top level of the entry file). */
export function onConfigure(fn: (config: Json) => string | null): void {
  configureFn = fn;
}

function status(error: string | null): i32 {
  if (error == null) return 0;
  setError(error);
  return 1;
}

export function weft_abi_version(): i32 {
  return 1;
}

/** Memory for weft to write into; the SDK frees it when the call that reads it returns. */
export function weft_alloc(size: i32): usize {
  return size < 0 ? 0 : heap.alloc(<usize>max(size, 1));
}

export function weft_configure(ptr: usize, len: i32): i32 {
  const text = String.UTF8.decodeUnsafe(ptr, len);
  heap.free(ptr);
  const config = Json.parse(text);
  if (config == null) return status("config is not JSON");
  const fn = configureFn;
  return fn == null ? 0 : status(fn(config));
}

/** The body of a weft_process_<signal> export: runs fn on the batch at ptr. */
export function process(signal: Signal, ptr: usize, len: i32, fn: (batch: Batch) => string | null): i32 {
  const batch = new Batch(signal, new Bytes(ptr, len));
  const rc = status(fn(batch));
  heap.free(ptr);
  return rc;
}

/** The body of a weft_export_<signal> export: runs fn on the batch at ptr. */
export function exportBatch(signal: Signal, ptr: usize, len: i32, fn: (batch: Batch) => ExportResult): i32 {
  const batch = new Batch(signal, new Bytes(ptr, len));
  const r = fn(batch);
  heap.free(ptr);
  if (r.reason.length > 0) setError(r.reason);
  if (r.status == 1 && r.retryAfterMs > 0) host_set_retry_after(r.retryAfterMs);
  if (r.status == 3) host_set_rejected(r.rejected);
  return r.status;
}

/** The body of the weft_receive export: runs fn on the request's (or target's) body. */
export function receive(ptr: usize, len: i32, fn: (body: Uint8Array) => string | null): i32 {
  const body = new Uint8Array(len);
  memory.copy(body.dataStart, ptr, len);
  heap.free(ptr);
  return status(fn(body));
}
