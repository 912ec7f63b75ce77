/* Weft plugin SDK for C: the ABI of docs/abi.md without the raw details.
 *
 *   #include <weft.h>
 *   static int process(const weft_batch* batch) { ... return WEFT_OK; }
 *   WEFT_PLUGIN(my_configure)          // int my_configure(const char* json, size_t len)
 *   WEFT_PROCESS_TRACES(process)       // one line per signal the plugin handles
 *
 * Everything reads the batch in place: no decoding, no allocation. */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { WEFT_OK = 0, WEFT_ERROR = 1 };
enum { WEFT_DEBUG = 0, WEFT_INFO = 1, WEFT_WARN = 2, WEFT_ERR = 3 };
typedef enum { WEFT_TRACES = 0, WEFT_METRICS = 1, WEFT_LOGS = 2 } weft_signal;

/* ---- bytes and a protobuf field reader ------------------------------------------------ */

typedef struct {
  const uint8_t* data;
  size_t len;
} weft_bytes;

typedef struct {
  uint32_t number;
  uint32_t wire_type; /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
  uint64_t u64;       /* varint / fixed value */
  weft_bytes bytes;   /* length-delimited payload */
} weft_field;

typedef struct {
  const uint8_t* p;
  const uint8_t* end;
  int error;
} weft_reader;

static inline void weft_reader_init(weft_reader* r, weft_bytes m) {
  r->p = m.data;
  r->end = m.data + m.len;
  r->error = 0;
}

/* Decodes a varint at *p (before end) into *v and advances *p; 0 if truncated or too long.
 * Inlined so that p and v stay in registers (in Wasm, an address-taken local lives in
 * linear memory). Most varints on the data path (tags, short lengths) are one byte. */
static inline __attribute__((always_inline)) int weft__read_varint(const uint8_t** p,
                                                                   const uint8_t* end,
                                                                   uint64_t* v) {
  const uint8_t* q = *p;
  if (q < end && *q < 0x80) {
    *v = *q;
    *p = q + 1;
    return 1;
  }
  uint64_t x = 0;
  for (int shift = 0; shift < 64 && q < end; shift += 7) {
    uint8_t b = *q++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      *p = q;
      return 1;
    }
  }
  return 0;
}

/* Next field; 0 at the end or on malformed input (then r->error is set). Inline: the
 * field then stays in registers rather than in (linear) memory. */
static inline __attribute__((always_inline)) int weft_reader_next(weft_reader* r, weft_field* f) {
  const uint8_t* p = r->p;
  const uint8_t* end = r->end;
  uint64_t tag, v = 0;
  if (r->error || p >= end) return 0;
  if (!weft__read_varint(&p, end, &tag) || (tag >> 3) == 0) goto bad;
  f->number = (uint32_t)(tag >> 3);
  f->wire_type = (uint32_t)(tag & 7);
  f->bytes.data = NULL;
  f->bytes.len = 0;
  switch (f->wire_type) {
    case 0:
      if (!weft__read_varint(&p, end, &v)) goto bad;
      break;
    case 1:
      if (end - p < 8) goto bad;
      __builtin_memcpy(&v, p, 8);
      p += 8;
      break;
    case 5: {
      uint32_t v32;
      if (end - p < 4) goto bad;
      __builtin_memcpy(&v32, p, 4);
      v = v32;
      p += 4;
      break;
    }
    case 2: {
      uint64_t n;
      if (!weft__read_varint(&p, end, &n) || n > (uint64_t)(end - p)) goto bad;
      f->bytes.data = p;
      f->bytes.len = (size_t)n;
      p += n;
      break;
    }
    default:
      goto bad;
  }
  f->u64 = v;
  r->p = p;
  return 1;
bad:
  r->error = 1;
  return 0;
}

/* The first length-delimited field `number` of a message; empty if absent. */
weft_bytes weft_pb_bytes(weft_bytes message, uint32_t number);
uint64_t weft_pb_u64(weft_bytes message, uint32_t number); /* varint or fixed */
int weft_bytes_eq(weft_bytes b, const char* s);

/* ---- values and attributes -------------------------------------------------------------- */

typedef enum {
  WEFT_VALUE_NONE = 0,
  WEFT_VALUE_STRING,
  WEFT_VALUE_BOOL,
  WEFT_VALUE_INT,
  WEFT_VALUE_DOUBLE,
  WEFT_VALUE_OTHER /* array, kvlist, bytes */
} weft_value_type;

typedef struct {
  weft_value_type type;
  weft_bytes str;
  int64_t i;
  double d;
  int b;
} weft_value;

weft_value weft_value_read(weft_bytes any_value);
/* Finds attribute `key` among the KeyValue entries (field `field`) of a message.
 * Returns 1 and fills *out if found. */
int weft_attr_find(weft_bytes message, uint32_t field, const char* key, weft_value* out);
/* Iterates the KeyValue entries of a message: *it starts at 0. */
int weft_attr_next(weft_bytes message, uint32_t field, size_t* it, weft_bytes* key,
                   weft_value* value);

/* ---- the batch and its items ------------------------------------------------------------- */

typedef struct {
  weft_signal signal;
  weft_bytes request;
  size_t item_count;
} weft_batch;

/* One item (span, log record or data point) with where it lives. */
typedef struct {
  size_t index;              /* item number in the batch, as in keep-masks and edits */
  size_t resource_index;     /* resource number in the batch */
  weft_bytes resource;       /* Resource message (attributes: field 1) */
  weft_bytes scope;          /* InstrumentationScope (name 1, version 2, attributes 3) */
  weft_bytes item;           /* Span / LogRecord / *DataPoint */
  weft_bytes metric;         /* metrics only: the Metric (name 1) */
  uint32_t attributes_field; /* field of the item's attributes (differs by point type) */
} weft_item;

typedef struct {
  weft_signal signal;
  weft_reader requests, resources, scopes, items, points;
  weft_bytes resource_entry, scope_entry, metric_entry;
  weft_item current;
  size_t next_index;
  size_t next_resource;
  int in_points;
  uint32_t point_attributes;
} weft_items;

void weft_items_init(weft_items* it, const weft_batch* batch);
/* Advances to the next item; 0 when done. The item is it->current. */
int weft_items_next(weft_items* it);

/* Field numbers a plugin most often needs. */
enum {
  WEFT_RESOURCE_ATTRIBUTES = 1,
  WEFT_SPAN_TRACE_ID = 1,
  WEFT_SPAN_SPAN_ID = 2,
  WEFT_SPAN_NAME = 5,
  WEFT_SPAN_KIND = 6,
  WEFT_SPAN_START = 7,
  WEFT_SPAN_END = 8,
  WEFT_SPAN_ATTRIBUTES = 9,
  WEFT_SPAN_STATUS = 15, /* Status: code is field 3 */
  WEFT_LOG_SEVERITY_NUMBER = 2,
  WEFT_LOG_SEVERITY_TEXT = 3,
  WEFT_LOG_BODY = 5,
  WEFT_LOG_ATTRIBUTES = 6,
  WEFT_POINT_ATTRIBUTES = 7, /* every data point type but summary (also 7) */
  WEFT_METRIC_NAME = 1
};
/* The attributes field of spans and log records (for data points it depends on the point
 * type: use weft_item.attributes_field, which is right for every item). */
uint32_t weft_item_attributes_field(weft_signal signal);

/* ---- results (drop or replace alone; keep and edits may go together) ------------------------- */

int weft_drop_all(void);
int weft_keep(const uint8_t* mask, size_t len);
int weft_replace(const uint8_t* request, size_t len);
/* Connectors (ABI 1.4): the route of each item, one byte per item: 0 the connector's
 * default_pipelines, k (1-254) the k-th of its `routes`, 255 none (dropped). With weft_edit_*
 * or alone. */
int weft_route(const uint8_t* routes, size_t len);

/* A growable byte buffer; `failed` is set (and further writes ignored) when out of memory. */
typedef struct {
  uint8_t* data;
  size_t len, cap;
  int failed;
} weft_buf;

void weft_buf_init(weft_buf* b);
void weft_buf_free(weft_buf* b);
void weft_buf_append(weft_buf* b, const void* data, size_t len);

/* Protobuf writers, for building requests to emit (connectors) or to replace a batch. */
void weft_pb_varint(weft_buf* b, uint32_t field, uint64_t value);
void weft_pb_fixed64(weft_buf* b, uint32_t field, uint64_t value);
void weft_pb_double(weft_buf* b, uint32_t field, double value);
void weft_pb_bytes_field(weft_buf* b, uint32_t field, const void* data, size_t len);
void weft_pb_string(weft_buf* b, uint32_t field, const char* s);
void weft_pb_message(weft_buf* b, uint32_t field, const weft_buf* message);
void weft_pb_packed_fixed64(weft_buf* b, uint32_t field, const uint64_t* values, size_t n);
void weft_pb_packed_double(weft_buf* b, uint32_t field, const double* values, size_t n);
/* A KeyValue with a string AnyValue, as field `field` (attributes). */
void weft_pb_string_attribute(weft_buf* b, uint32_t field, const char* key, const void* value,
                              size_t len);

/* Connectors: hands an encoded request of the connector's output signal to weft. */
int weft_emit(weft_signal signal, const weft_buf* request);

typedef weft_buf weft_edits;

enum { WEFT_TARGET_ITEM = 0, WEFT_TARGET_RESOURCE = 1 };
void weft_edits_init(weft_edits* e);
void weft_edit_set_string(weft_edits* e, int target, size_t index, const char* key,
                          const char* value, size_t value_len);
void weft_edit_set_int(weft_edits* e, int target, size_t index, const char* key, int64_t value);
void weft_edit_set_double(weft_edits* e, int target, size_t index, const char* key, double value);
void weft_edit_set_bool(weft_edits* e, int target, size_t index, const char* key, int value);
void weft_edit_delete(weft_edits* e, int target, size_t index, const char* key);
void weft_edit_rename(weft_edits* e, int target, size_t index, const char* key,
                      const char* new_key);
void weft_edit_set_name(weft_edits* e, size_t index, const char* name, size_t len);
void weft_edit_set_body(weft_edits* e, size_t index, const char* body, size_t len);
/* Hands the list to weft (if not empty) and frees it; returns the ABI code. */
int weft_edits_submit(weft_edits* e);
void weft_edits_free(weft_edits* e);

/* ---- host services ------------------------------------------------------------------------ */

void weft_log(int level, const char* message);
void weft_logn(int level, const char* message, size_t len);
void weft_set_error(const char* message);
int64_t weft_now_unix_nano(void);
int weft_counter_add(const char* name, double value, const char* attributes);
int weft_gauge_set(const char* name, double value, const char* attributes);
int weft_histogram_record(const char* name, double value, const char* attributes);
/* -1 absent, else the value's size (copied if it fits). */
int weft_kv_get(const char* key, void* out, size_t cap);
int weft_kv_set(const char* key, const void* value, size_t len);
int weft_kv_delete(const char* key);
int weft_env_get(const char* name, char* out, size_t cap);

/* Who sent the batch (ABI 1.3): "client.address", "auth.<name>" (the receiver's authenticator:
 * "auth.tenant"), "metadata.<name>" (a request header, with the receiver's include_metadata).
 * NUL-terminated in out; -1 if the batch has none, else the value's length. */
int weft_client_info(const char* key, char* out, size_t cap);

/* ---- authenticators (ABI 1.3) --------------------------------------------------------------
 * A plugin used as a `wasm` extension authenticates requests (WEFT_AUTHENTICATE: fn(headers),
 * the request's headers as "name: value" lines, names in lower case; weft_request_header,
 * weft_request_info(WEFT_REQUEST_PEER / _PATH / _TRANSPORT) tell the rest) and/or signs
 * outbound requests (WEFT_SIGN: fn(body_sha256_hex); weft_request_info(WEFT_REQUEST_METHOD /
 * _PATH / _URL) and weft_request_header for the request so far). */
enum { WEFT_AUTH_ALLOW = 0, WEFT_AUTH_UNAUTHENTICATED = 1, WEFT_AUTH_FORBIDDEN = 2 };
enum { WEFT_REQUEST_TRANSPORT = 6, WEFT_REQUEST_URL = 7 };
/* Authenticating: an attribute of the client ("tenant"), carried with its batches. */
int weft_set_client_attribute(const char* key, const char* value, size_t len);
/* Signing: a header to add to the outbound request. */
int weft_add_header(const char* name, const char* value, size_t len);
/* HMAC-SHA256 keyed with the secret of that name in the component's `secrets:` (the plugin
 * never sees it): 0 and 32 bytes in out, or -3 if there is no such secret. */
int weft_hmac_sha256(const char* secret, const void* message, size_t len, uint8_t out[32]);
/* 0 if signature is alg's signature of message, -1 if not, -2 for a bad alg or key, -3 for an
 * unknown secret. alg "HS256": key is a secret's name; "RS256", "ES256" (raw r||s): key is a
 * PEM public key. */
int weft_verify_signature(const char* alg, const void* key, size_t key_len, const void* message,
                          size_t len, const void* signature, size_t signature_len);
/* Base64url (or base64) without padding into out: the length, or -1 if bad or too long. */
int weft_base64url_decode(const char* in, size_t len, uint8_t* out, size_t cap);
/* Lowercase hex of data into out (2 * len + 1 bytes, NUL-terminated). */
void weft_hex(const void* data, size_t len, char* out);

/* ---- lookup tables (ABI 1.3) ----------------------------------------------------------------
 * A row of a table the operator declared in service.tables and granted in
 * permissions.tables (docs/tables.md). Within one call a plugin always sees one version of a
 * table. A weft_row is reused from lookup to lookup (initialise it with WEFT_ROW_INIT, free it
 * with weft_row_free); its fields point into it until the next lookup. */
typedef struct {
  const uint8_t* data;
  size_t len;
  uint8_t inline_buf[512];
  uint8_t* heap;
  size_t heap_cap;
} weft_row;
#define WEFT_ROW_INIT \
  { NULL, 0, {0}, NULL, 0 }
/* 0 and the row if the key has one; -1 if not; -3 if the table is not granted (or not
 * declared); -4 out of memory. */
int weft_lookup(const char* table, const void* key, size_t key_len, weft_row* row);
/* Iterates the row's fields (name and value, both text): *it starts at 0; 0 at the end. */
int weft_row_next(const weft_row* row, size_t* it, weft_bytes* name, weft_bytes* value);
/* The value of field `name`; 1 if the row has it. */
int weft_row_get(const weft_row* row, const char* name, weft_bytes* value);
void weft_row_free(weft_row* row);

/* ---- exporters: outbound HTTP ------------------------------------------------------------
 * A wasm exporter's plugin sends each batch with weft_http_request; weft makes the request
 * (connections, TLS, the configured compression, headers and auth) within what is left of
 * the call's deadline. `url` is a path relative to the exporter's endpoint or an absolute
 * URL of an origin in permissions.http; `headers` are "Name: value" lines separated by "\n"
 * (or NULL). Returns the response's HTTP status, or WEFT_HTTP_INVALID (-2), _DENIED (-3),
 * _LIMIT (-4: a cap, or no time left) or _FAILED (-5: no response). */
enum { WEFT_HTTP_INVALID = -2, WEFT_HTTP_DENIED = -3, WEFT_HTTP_LIMIT = -4, WEFT_HTTP_FAILED = -5 };
int weft_http_request(const char* method, const char* url, const char* headers, const void* body,
                      size_t len);
/* A header of the last response, NUL-terminated in out; -1 if absent, else its length. */
int weft_http_response_header(const char* name, char* out, size_t cap);
/* Appends the last response's body to out; -1 if there is none, else its length. */
int weft_http_response_body(weft_buf* out);

/* What weft_export_<signal> returns, with the details set by the calls below. */
enum {
  WEFT_EXPORT_SENT = 0,
  WEFT_EXPORT_RETRYABLE = 1, /* weft retries the batch (weft_export_retry_after: not before) */
  WEFT_EXPORT_PERMANENT = 2, /* dropped and counted (weft_set_error: why) */
  WEFT_EXPORT_PARTIAL = 3    /* sent, but weft_export_rejected(n) items were refused */
};
void weft_export_retry_after(int64_t milliseconds);
void weft_export_rejected(int64_t items);
/* What an HTTP answer usually means for an exporter, with the reason set for weft's log:
 * 2xx sent; 429, 502, 503 and 504 retryable (not before the response's Retry-After seconds);
 * no response (WEFT_HTTP_FAILED) retryable; anything else, or another negative code,
 * permanent. `who` starts the reason ("zipkin: the destination answered HTTP 400"). */
int weft_export_status(int http_status, const char* who);

/* ---- receivers -----------------------------------------------------------------------------
 * A wasm receiver's plugin gets each request's body (push: weft listens on the receiver's
 * endpoint) or each fetched target's body (pull) in its WEFT_RECEIVE function, turns it
 * into OTLP requests and hands them over with weft_emit (any signal the receiver's
 * pipelines take). It returns WEFT_RECEIVE_OK, or WEFT_RECEIVE_BAD_REQUEST (the client gets
 * 400, or weft_respond's 4xx, with weft_set_error's text). */
enum { WEFT_RECEIVE_OK = 0, WEFT_RECEIVE_BAD_REQUEST = 1 };
enum {
  WEFT_REQUEST_METHOD = 0,
  WEFT_REQUEST_PATH = 1,
  WEFT_REQUEST_QUERY = 2,
  WEFT_REQUEST_TARGET = 3, /* pull: the URL fetched */
  WEFT_REQUEST_PEER = 4,   /* push: the client's address */
  WEFT_REQUEST_STATUS = 5  /* pull: the target's HTTP status */
};
/* What the request is, NUL-terminated in out; -1 if it has no such thing, else its length. */
int weft_request_info(int which, char* out, size_t cap);
int weft_request_header(const char* name, char* out, size_t cap);
/* Push: the answer's status (200-599) and body, when the request is accepted. */
int weft_respond(int status, const void* body, size_t len);

/* ---- hashing ------------------------------------------------------------------------------- */

/* SHA-256 of data as 64 lowercase hex characters plus a NUL in out[65]. */
void weft_sha256_hex(const void* data, size_t len, char out[65]);

/* ---- a small JSON reader for the plugin config ------------------------------------------- */

typedef struct {
  const char* p;
  size_t len;
} weft_json;

/* The value of `key` in a JSON object; len 0 if absent. */
weft_json weft_json_get(weft_json object, const char* key);
/* Iterates an array: *it starts at 0; returns 0 at the end. */
int weft_json_next(weft_json array, size_t* it, weft_json* element);
/* Iterates an object's members: *it starts at 0; key is the quoted key (use
 * weft_json_string on it); returns 0 at the end. */
int weft_json_member_next(weft_json object, size_t* it, weft_json* key, weft_json* value);
/* A string value, unescaped into out as UTF-8 (NUL-terminated); returns its length, or -1
 * if it is not a string, has a bad escape or does not fit. */
int weft_json_string(weft_json value, char* out, size_t cap);
/* 1 if the whole text is one valid JSON value (RFC 8259), else 0. The other readers are
 * lenient; check untrusted input with this first. */
int weft_json_valid(weft_json value);
int weft_json_number(weft_json value, double* out);
int weft_json_bool(weft_json value, int* out);
int weft_json_is(weft_json value, char first_char);

/* ---- declaring the plugin ----------------------------------------------------------------- */

/* What the SDK's exports call; defined by WEFT_PLUGIN / WEFT_PROCESS_*. */
int weft__configure(const char* json, size_t len);
int weft__process(weft_signal signal, const uint8_t* data, size_t len,
                  int (*fn)(const weft_batch*));

#if defined(__wasm__)
#define WEFT_EXPORT(name) __attribute__((export_name(name)))
typedef int32_t weft_addr; /* an address in the plugin's linear memory (i32) */
#else
#define WEFT_EXPORT(name)
typedef uintptr_t weft_addr; /* native builds: a plain pointer */
#endif

#define WEFT_PLUGIN(configure_fn)                     \
  int weft__configure(const char* json, size_t len) { \
    return configure_fn(json, len);                   \
  }

#define WEFT__PROCESS(export_name, fn_name, signal, fn)                            \
  WEFT_EXPORT(export_name) int32_t fn_name(weft_addr ptr, int32_t len) {           \
    return weft__process(signal, (const uint8_t*)(uintptr_t)ptr, (size_t)len, fn); \
  }
#define WEFT_PROCESS_TRACES(fn) \
  WEFT__PROCESS("weft_process_traces", weft_process_traces, WEFT_TRACES, fn)
#define WEFT_PROCESS_METRICS(fn) \
  WEFT__PROCESS("weft_process_metrics", weft_process_metrics, WEFT_METRICS, fn)
#define WEFT_PROCESS_LOGS(fn) WEFT__PROCESS("weft_process_logs", weft_process_logs, WEFT_LOGS, fn)
/* Receivers: fn(body) turns a request's (or a target's) body into telemetry. */
int weft__receive(const uint8_t* data, size_t len, int (*fn)(weft_bytes body));
#define WEFT_RECEIVE(fn)                                                         \
  WEFT_EXPORT("weft_receive") int32_t weft_receive(weft_addr ptr, int32_t len) { \
    return weft__receive((const uint8_t*)(uintptr_t)ptr, (size_t)len, fn);       \
  }
/* Authenticators: fn(header lines) returns a WEFT_AUTH_* decision; fn(body digest) signs. */
#define WEFT_AUTHENTICATE(fn)                                                              \
  WEFT_EXPORT("weft_authenticate") int32_t weft_authenticate(weft_addr ptr, int32_t len) { \
    return weft__receive((const uint8_t*)(uintptr_t)ptr, (size_t)len, fn);                 \
  }
#define WEFT_SIGN(fn)                                                      \
  WEFT_EXPORT("weft_sign") int32_t weft_sign(weft_addr ptr, int32_t len) { \
    return weft__receive((const uint8_t*)(uintptr_t)ptr, (size_t)len, fn); \
  }
/* Exporters: fn(batch) sends the batch and returns a WEFT_EXPORT_* status. */
#define WEFT_EXPORT_TRACES(fn) \
  WEFT__PROCESS("weft_export_traces", weft_export_traces, WEFT_TRACES, fn)
#define WEFT_EXPORT_METRICS(fn) \
  WEFT__PROCESS("weft_export_metrics", weft_export_metrics, WEFT_METRICS, fn)
#define WEFT_EXPORT_LOGS(fn) WEFT__PROCESS("weft_export_logs", weft_export_logs, WEFT_LOGS, fn)

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
