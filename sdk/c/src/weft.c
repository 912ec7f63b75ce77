/* Weft plugin SDK for C: see include/weft.h and docs/abi.md. */
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- host imports (module "weft") ---------------------------------------------------------- */

#if defined(__wasm__)
#define WEFT_IMPORT(name) __attribute__((import_module("weft"), import_name(name)))
#else
#define WEFT_IMPORT(name)
#endif

WEFT_IMPORT("log") void weft_host_log(int32_t level, const void* ptr, int32_t len);
WEFT_IMPORT("set_error") void weft_host_set_error(const void* ptr, int32_t len);
WEFT_IMPORT("now_unix_nano") int64_t weft_host_now_unix_nano(void);
WEFT_IMPORT("metric")
int32_t weft_host_metric(int32_t kind, const void* name, int32_t name_len, double value,
                         const void* attrs, int32_t attrs_len);
WEFT_IMPORT("kv_get")
int32_t weft_host_kv_get(const void* key, int32_t key_len, void* out, int32_t cap);
WEFT_IMPORT("kv_set")
int32_t weft_host_kv_set(const void* key, int32_t key_len, const void* value, int32_t len);
WEFT_IMPORT("kv_delete") int32_t weft_host_kv_delete(const void* key, int32_t key_len);
WEFT_IMPORT("env_get")
int32_t weft_host_env_get(const void* name, int32_t name_len, void* out, int32_t cap);
WEFT_IMPORT("result_drop_all") int32_t weft_host_result_drop_all(void);
WEFT_IMPORT("result_keep") int32_t weft_host_result_keep(const void* ptr, int32_t len);
WEFT_IMPORT("result_route") int32_t weft_host_result_route(const void* ptr, int32_t len);
WEFT_IMPORT("result_edits") int32_t weft_host_result_edits(const void* ptr, int32_t len);
WEFT_IMPORT("result_replace") int32_t weft_host_result_replace(const void* ptr, int32_t len);
WEFT_IMPORT("emit") int32_t weft_host_emit(int32_t signal, const void* ptr, int32_t len);
WEFT_IMPORT("http_request")
int32_t weft_host_http_request(const void* method, int32_t method_len, const void* url,
                               int32_t url_len, const void* headers, int32_t headers_len,
                               const void* body, int32_t body_len);
WEFT_IMPORT("http_response_header")
int32_t weft_host_http_response_header(const void* name, int32_t name_len, void* out, int32_t cap);
WEFT_IMPORT("http_response_body") int32_t weft_host_http_response_body(void* out, int32_t cap);
WEFT_IMPORT("set_retry_after") int32_t weft_host_set_retry_after(int64_t milliseconds);
WEFT_IMPORT("set_rejected") int32_t weft_host_set_rejected(int64_t items);
WEFT_IMPORT("request_info") int32_t weft_host_request_info(int32_t which, void* out, int32_t cap);
WEFT_IMPORT("request_header")
int32_t weft_host_request_header(const void* name, int32_t name_len, void* out, int32_t cap);
WEFT_IMPORT("respond") int32_t weft_host_respond(int32_t status, const void* body, int32_t len);
WEFT_IMPORT("set_client_attribute")
int32_t weft_host_set_client_attribute(const void* key, int32_t key_len, const void* value,
                                       int32_t value_len);
WEFT_IMPORT("add_header")
int32_t weft_host_add_header(const void* name, int32_t name_len, const void* value,
                             int32_t value_len);
WEFT_IMPORT("hmac_sha256")
int32_t weft_host_hmac_sha256(const void* secret, int32_t secret_len, const void* msg,
                              int32_t msg_len, void* out, int32_t cap);
WEFT_IMPORT("verify_signature")
int32_t weft_host_verify_signature(const void* alg, int32_t alg_len, const void* key,
                                   int32_t key_len, const void* msg, int32_t msg_len,
                                   const void* sig, int32_t sig_len);
WEFT_IMPORT("client_info")
int32_t weft_host_client_info(const void* key, int32_t key_len, void* out, int32_t cap);
WEFT_IMPORT("lookup")
int32_t weft_host_lookup(const void* table, int32_t table_len, const void* key, int32_t key_len,
                         void* out, int32_t cap);

#if defined(WEFT_NATIVE_PLUGIN)
/* A native build for the benchmarks' baseline: the host calls go through weft's table. */
#include "weft_native.h"

static weft_native_host host;

int32_t weft_native_bind(const weft_native_host* h) {
  host = *h;
  return 1;
}
void weft_host_log(int32_t level, const void* ptr, int32_t len) {
  host.log(level, ptr, len);
}
void weft_host_set_error(const void* ptr, int32_t len) {
  host.set_error(ptr, len);
}
int64_t weft_host_now_unix_nano(void) {
  return host.now_unix_nano();
}
int32_t weft_host_metric(int32_t kind, const void* name, int32_t name_len, double value,
                         const void* attrs, int32_t attrs_len) {
  return host.metric(kind, name, name_len, value, attrs, attrs_len);
}
int32_t weft_host_kv_get(const void* key, int32_t key_len, void* out, int32_t cap) {
  return host.kv_get(key, key_len, out, cap);
}
int32_t weft_host_kv_set(const void* key, int32_t key_len, const void* value, int32_t len) {
  return host.kv_set(key, key_len, value, len);
}
int32_t weft_host_kv_delete(const void* key, int32_t key_len) {
  return host.kv_delete(key, key_len);
}
int32_t weft_host_env_get(const void* name, int32_t name_len, void* out, int32_t cap) {
  return host.env_get(name, name_len, out, cap);
}
int32_t weft_host_lookup(const void* table, int32_t table_len, const void* key, int32_t key_len,
                         void* out, int32_t cap) {
  return host.lookup(table, table_len, key, key_len, out, cap);
}
int32_t weft_host_client_info(const void* key, int32_t key_len, void* out, int32_t cap) {
  return host.client_info(key, key_len, out, cap);
}
/* Natively built plugins are processors (the benchmarks' baseline): no authentication. */
int32_t weft_host_set_client_attribute(const void* key, int32_t key_len, const void* value,
                                       int32_t value_len) {
  (void)key, (void)key_len, (void)value, (void)value_len;
  return -2;
}
int32_t weft_host_add_header(const void* name, int32_t name_len, const void* value,
                             int32_t value_len) {
  (void)name, (void)name_len, (void)value, (void)value_len;
  return -2;
}
int32_t weft_host_hmac_sha256(const void* secret, int32_t secret_len, const void* msg,
                              int32_t msg_len, void* out, int32_t cap) {
  (void)secret, (void)secret_len, (void)msg, (void)msg_len, (void)out, (void)cap;
  return -3;
}
int32_t weft_host_verify_signature(const void* alg, int32_t alg_len, const void* key,
                                   int32_t key_len, const void* msg, int32_t msg_len,
                                   const void* sig, int32_t sig_len) {
  (void)alg, (void)alg_len, (void)key, (void)key_len, (void)msg, (void)msg_len, (void)sig;
  (void)sig_len;
  return -2;
}
int32_t weft_host_result_drop_all(void) {
  return host.result_drop_all();
}
int32_t weft_host_result_keep(const void* ptr, int32_t len) {
  return host.result_keep(ptr, len);
}
int32_t weft_host_result_edits(const void* ptr, int32_t len) {
  return host.result_edits(ptr, len);
}
int32_t weft_host_result_replace(const void* ptr, int32_t len) {
  return host.result_replace(ptr, len);
}
int32_t weft_host_emit(int32_t signal, const void* ptr, int32_t len) {
  return host.emit(signal, ptr, len);
}
/* Natively built plugins are processors: routing is for connectors. */
int32_t weft_host_result_route(const void* ptr, int32_t len) {
  (void)ptr, (void)len;
  return -2;
}
/* Natively built plugins are processors (the benchmarks' baseline): no outbound HTTP. */
int32_t weft_host_http_request(const void* method, int32_t method_len, const void* url,
                               int32_t url_len, const void* headers, int32_t headers_len,
                               const void* body, int32_t body_len) {
  (void)method, (void)method_len, (void)url, (void)url_len, (void)headers, (void)headers_len;
  (void)body, (void)body_len;
  return WEFT_HTTP_DENIED;
}
int32_t weft_host_http_response_header(const void* name, int32_t name_len, void* out, int32_t cap) {
  (void)name, (void)name_len, (void)out, (void)cap;
  return -1;
}
int32_t weft_host_http_response_body(void* out, int32_t cap) {
  (void)out, (void)cap;
  return -1;
}
int32_t weft_host_set_retry_after(int64_t milliseconds) {
  (void)milliseconds;
  return 0;
}
int32_t weft_host_set_rejected(int64_t items) {
  (void)items;
  return 0;
}
int32_t weft_host_request_info(int32_t which, void* out, int32_t cap) {
  (void)which, (void)out, (void)cap;
  return -1;
}
int32_t weft_host_request_header(const void* name, int32_t name_len, void* out, int32_t cap) {
  (void)name, (void)name_len, (void)out, (void)cap;
  return -1;
}
int32_t weft_host_respond(int32_t status, const void* body, int32_t len) {
  (void)status, (void)body, (void)len;
  return -2;
}
/* The host owns what it hands in. */
#define WEFT_FREE_INPUT(p) ((void)(p))
#else
#define WEFT_FREE_INPUT(p) free(p)
#endif

/* ---- exports every plugin has ---------------------------------------------------------------- */

WEFT_EXPORT("weft_abi_version") int32_t weft_abi_version(void) {
  return 1;
}

WEFT_EXPORT("weft_alloc") weft_addr weft_alloc(int32_t size) {
  return (weft_addr)(uintptr_t)malloc(size > 0 ? (size_t)size : 1);
}

WEFT_EXPORT("weft_configure") int32_t weft_configure(weft_addr ptr, int32_t len) {
  char* json = (char*)(uintptr_t)ptr;
  int rc = weft__configure(json, (size_t)len);
  WEFT_FREE_INPUT(json);
  return rc;
}

int weft__process(weft_signal signal, const uint8_t* data, size_t len,
                  int (*fn)(const weft_batch*)) {
  weft_batch batch = {signal, {data, len}, 0};
  weft_items it;
  weft_items_init(&it, &batch);
  while (weft_items_next(&it)) batch.item_count++;
  int rc = fn(&batch);
  WEFT_FREE_INPUT((void*)data);
  return rc;
}

/* ---- protobuf reader ---------------------------------------------------------------------------
 */

weft_bytes weft_pb_bytes(weft_bytes m, uint32_t number) {
  weft_reader r;
  weft_field f;
  weft_bytes none = {NULL, 0};
  weft_reader_init(&r, m);
  while (weft_reader_next(&r, &f)) {
    if (f.number == number && f.wire_type == 2) return f.bytes;
  }
  return none;
}

uint64_t weft_pb_u64(weft_bytes m, uint32_t number) {
  weft_reader r;
  weft_field f;
  weft_reader_init(&r, m);
  while (weft_reader_next(&r, &f)) {
    if (f.number == number && f.wire_type != 2) return f.u64;
  }
  return 0;
}

int weft_bytes_eq(weft_bytes b, const char* s) {
  size_t n = strlen(s);
  return b.len == n && (n == 0 || memcmp(b.data, s, n) == 0);
}

/* ---- values and attributes
 * ----------------------------------------------------------------------- */

weft_value weft_value_read(weft_bytes any) {
  weft_value v;
  weft_reader r;
  weft_field f;
  memset(&v, 0, sizeof v);
  weft_reader_init(&r, any);
  while (weft_reader_next(&r, &f)) {
    switch (f.number) {
      case 1:
        v.type = WEFT_VALUE_STRING;
        v.str = f.bytes;
        break;
      case 2:
        v.type = WEFT_VALUE_BOOL;
        v.b = f.u64 != 0;
        break;
      case 3:
        v.type = WEFT_VALUE_INT;
        v.i = (int64_t)f.u64;
        break;
      case 4:
        v.type = WEFT_VALUE_DOUBLE;
        memcpy(&v.d, &f.u64, 8);
        break;
      default:
        v.type = WEFT_VALUE_OTHER;
        break;
    }
  }
  return v;
}

int weft_attr_next(weft_bytes m, uint32_t field, size_t* it, weft_bytes* key, weft_value* value) {
  weft_reader r;
  weft_field f;
  weft_reader_init(&r, m);
  r.p += *it;
  while (weft_reader_next(&r, &f)) {
    if (f.number != field || f.wire_type != 2) continue;
    *it = (size_t)(r.p - m.data);
    *key = weft_pb_bytes(f.bytes, 1);
    *value = weft_value_read(weft_pb_bytes(f.bytes, 2));
    return 1;
  }
  return 0;
}

int weft_attr_find(weft_bytes m, uint32_t field, const char* key, weft_value* out) {
  /* One pass over the item; a KeyValue's value is decoded only when its key matches. */
  const size_t key_len = strlen(key);
  weft_reader r;
  weft_field f;
  weft_reader_init(&r, m);
  while (weft_reader_next(&r, &f)) {
    if (f.number != field || f.wire_type != 2) continue;
    weft_bytes k = weft_pb_bytes(f.bytes, 1);
    if (k.len != key_len || (key_len > 0 && memcmp(k.data, key, key_len) != 0)) continue;
    *out = weft_value_read(weft_pb_bytes(f.bytes, 2));
    return 1;
  }
  return 0;
}

uint32_t weft_item_attributes_field(weft_signal s) {
  return s == WEFT_TRACES ? WEFT_SPAN_ATTRIBUTES
         : s == WEFT_LOGS ? WEFT_LOG_ATTRIBUTES
                          : WEFT_POINT_ATTRIBUTES;
}

/* ---- item iteration -----------------------------------------------------------------------------
 */

void weft_items_init(weft_items* it, const weft_batch* batch) {
  memset(it, 0, sizeof *it);
  it->signal = batch->signal;
  weft_reader_init(&it->requests, batch->request);
  it->resources.p = it->resources.end = NULL;
  it->scopes.p = it->scopes.end = NULL;
  it->items.p = it->items.end = NULL;
}

static int next_len_field(weft_reader* r, uint32_t number, weft_bytes* out) {
  weft_field f;
  while (weft_reader_next(r, &f)) {
    if (f.number == number && f.wire_type == 2) {
      *out = f.bytes;
      return 1;
    }
  }
  return 0;
}

static int is_metric_data(uint32_t n) {
  return n == 5 || n == 7 || n == 9 || n == 10 || n == 11;
}

int weft_items_next(weft_items* it) {
  for (;;) {
    weft_bytes b;
    if (it->in_points) { /* metrics: data points of the current metric's data */
      if (next_len_field(&it->points, 1, &b)) {
        it->current.item = b;
        it->current.attributes_field = it->point_attributes;
        it->current.index = it->next_index++;
        return 1;
      }
      it->in_points = 0;
    }
    if (it->items.p != NULL && next_len_field(&it->items, 2, &b)) {
      if (it->signal != WEFT_METRICS) {
        it->current.item = b;
        it->current.attributes_field = weft_item_attributes_field(it->signal);
        it->current.index = it->next_index++;
        return 1;
      }
      it->current.metric = b;
      weft_reader mr;
      weft_field f;
      weft_reader_init(&mr, b);
      while (weft_reader_next(&mr, &f)) {
        if (f.wire_type == 2 && is_metric_data(f.number)) {
          weft_reader_init(&it->points, f.bytes);
          it->in_points = 1;
          /* Number and summary points: 7; histogram: 9; exponential histogram: 1. */
          it->point_attributes = f.number == 9 ? 9 : f.number == 10 ? 1 : 7;
        }
      }
      continue;
    }
    if (it->scopes.p != NULL && next_len_field(&it->scopes, 2, &b)) {
      it->current.scope = weft_pb_bytes(b, 1);
      weft_reader_init(&it->items, b);
      continue;
    }
    if (next_len_field(&it->requests, 1, &b)) {
      it->current.resource = weft_pb_bytes(b, 1);
      it->current.resource_index = it->next_resource++;
      weft_reader_init(&it->scopes, b);
      it->items.p = it->items.end = NULL;
      continue;
    }
    return 0;
  }
}

/* ---- results
 * -------------------------------------------------------------------------------------- */

int weft_drop_all(void) {
  return weft_host_result_drop_all();
}
int weft_keep(const uint8_t* mask, size_t len) {
  return weft_host_result_keep(mask, (int32_t)len);
}
int weft_replace(const uint8_t* req, size_t len) {
  return weft_host_result_replace(req, (int32_t)len);
}
int weft_route(const uint8_t* routes, size_t len) {
  return weft_host_result_route(routes, (int32_t)len);
}

void weft_buf_init(weft_buf* b) {
  memset(b, 0, sizeof *b);
}
void weft_buf_free(weft_buf* b) {
  free(b->data);
  weft_buf_init(b);
}
void weft_edits_init(weft_edits* e) {
  weft_buf_init(e);
}

/* Makes room for n more bytes at the end and counts them in; NULL when out of memory. */
static uint8_t* grow(weft_buf* e, size_t n) {
  if (e->failed) return NULL;
  if (e->len + n > e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 256;
    while (cap < e->len + n) cap *= 2;
    uint8_t* data = (uint8_t*)realloc(e->data, cap);
    if (!data) {
      e->failed = 1;
      return NULL;
    }
    e->data = data;
    e->cap = cap;
  }
  e->len += n;
  return e->data + e->len - n;
}

static void put(weft_buf* e, const void* p, size_t n) {
  if (n == 0) return; /* memcpy from NULL is undefined even for 0 bytes */
  uint8_t* at = grow(e, n);
  if (at) memcpy(at, p, n);
}

static void put_u32(weft_buf* e, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(e, b, 4);
}

static void put_u64(weft_buf* e, uint64_t v) {
  put_u32(e, (uint32_t)v);
  put_u32(e, (uint32_t)(v >> 32));
}

static void head(weft_edits* e, uint8_t op, int target, size_t index, const char* key) {
  uint8_t h[2] = {op, (uint8_t)target};
  size_t n = key ? strlen(key) : 0;
  put(e, h, 2);
  put_u32(e, (uint32_t)index);
  put_u32(e, (uint32_t)n);
  put(e, key, n);
}

static void put_str(weft_edits* e, const char* s, size_t n) {
  put_u32(e, (uint32_t)n);
  put(e, s, n);
}

void weft_edit_set_string(weft_edits* e, int target, size_t index, const char* key,
                          const char* value, size_t len) {
  head(e, 1, target, index, key);
  put_str(e, value, len);
}
void weft_edit_set_int(weft_edits* e, int target, size_t index, const char* key, int64_t v) {
  head(e, 2, target, index, key);
  put_u64(e, (uint64_t)v);
}
void weft_edit_set_double(weft_edits* e, int target, size_t index, const char* key, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  head(e, 3, target, index, key);
  put_u64(e, bits);
}
void weft_edit_set_bool(weft_edits* e, int target, size_t index, const char* key, int v) {
  uint8_t b = v ? 1 : 0;
  head(e, 4, target, index, key);
  put(e, &b, 1);
}
void weft_edit_delete(weft_edits* e, int target, size_t index, const char* key) {
  head(e, 5, target, index, key);
}
void weft_edit_rename(weft_edits* e, int target, size_t index, const char* key,
                      const char* new_key) {
  head(e, 6, target, index, key);
  put_str(e, new_key, strlen(new_key));
}
void weft_edit_set_name(weft_edits* e, size_t index, const char* name, size_t len) {
  head(e, 7, WEFT_TARGET_ITEM, index, NULL);
  put_str(e, name, len);
}
void weft_edit_set_body(weft_edits* e, size_t index, const char* body, size_t len) {
  head(e, 8, WEFT_TARGET_ITEM, index, NULL);
  put_str(e, body, len);
}

int weft_edits_submit(weft_edits* e) {
  int rc = 0;
  if (e->failed) {
    rc = -4;
  } else if (e->len > 0) {
    rc = weft_host_result_edits(e->data, (int32_t)e->len);
  }
  weft_edits_free(e);
  return rc;
}

void weft_edits_free(weft_edits* e) {
  weft_buf_free(e);
}

void weft_buf_append(weft_buf* b, const void* data, size_t len) {
  put(b, data, len);
}

static void put_varint(weft_buf* b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  put(b, tmp, n);
}

static void put_tag(weft_buf* b, uint32_t field, uint32_t wire_type) {
  put_varint(b, ((uint64_t)field << 3) | wire_type);
}

void weft_pb_varint(weft_buf* b, uint32_t field, uint64_t v) {
  put_tag(b, field, 0);
  put_varint(b, v);
}
void weft_pb_fixed64(weft_buf* b, uint32_t field, uint64_t v) {
  put_tag(b, field, 1);
  put_u64(b, v);
}
void weft_pb_double(weft_buf* b, uint32_t field, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  weft_pb_fixed64(b, field, bits);
}
void weft_pb_bytes_field(weft_buf* b, uint32_t field, const void* data, size_t len) {
  put_tag(b, field, 2);
  put_varint(b, len);
  put(b, data, len);
}
void weft_pb_string(weft_buf* b, uint32_t field, const char* s) {
  weft_pb_bytes_field(b, field, s, strlen(s));
}
void weft_pb_message(weft_buf* b, uint32_t field, const weft_buf* m) {
  if (m->failed) b->failed = 1;
  weft_pb_bytes_field(b, field, m->data, m->len);
}
void weft_pb_packed_fixed64(weft_buf* b, uint32_t field, const uint64_t* v, size_t n) {
  put_tag(b, field, 2);
  put_varint(b, n * 8);
  for (size_t i = 0; i < n; i++) put_u64(b, v[i]);
}
void weft_pb_packed_double(weft_buf* b, uint32_t field, const double* v, size_t n) {
  put_tag(b, field, 2);
  put_varint(b, n * 8);
  for (size_t i = 0; i < n; i++) {
    uint64_t bits;
    memcpy(&bits, &v[i], 8);
    put_u64(b, bits);
  }
}
static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Written in place: the two nested messages' sizes are known up front. */
void weft_pb_string_attribute(weft_buf* b, uint32_t field, const char* key, const void* value,
                              size_t len) {
  const size_t key_len = strlen(key);
  const size_t any = 1 + varint_size(len) + len; /* AnyValue.string_value */
  put_tag(b, field, 2);
  put_varint(b, 1 + varint_size(key_len) + key_len + 1 + varint_size(any) + any);
  weft_pb_bytes_field(b, 1, key, key_len); /* KeyValue.key */
  put_tag(b, 2, 2);                        /* KeyValue.value */
  put_varint(b, any);
  weft_pb_bytes_field(b, 1, value, len);
}

int weft_emit(weft_signal signal, const weft_buf* request) {
  if (request->failed) return -4;
  return weft_host_emit((int32_t)signal, request->data, (int32_t)request->len);
}

/* ---- host services
 * --------------------------------------------------------------------------------- */

void weft_logn(int level, const char* m, size_t n) {
  weft_host_log(level, m, (int32_t)n);
}
void weft_log(int level, const char* m) {
  weft_logn(level, m, strlen(m));
}
void weft_set_error(const char* m) {
  weft_host_set_error(m, (int32_t)strlen(m));
}
int64_t weft_now_unix_nano(void) {
  return weft_host_now_unix_nano();
}

static int metric(int kind, const char* name, double value, const char* attrs) {
  if (!attrs) attrs = "";
  return weft_host_metric(kind, name, (int32_t)strlen(name), value, attrs, (int32_t)strlen(attrs));
}
int weft_counter_add(const char* n, double v, const char* a) {
  return metric(0, n, v, a);
}
int weft_gauge_set(const char* n, double v, const char* a) {
  return metric(1, n, v, a);
}
int weft_histogram_record(const char* n, double v, const char* a) {
  return metric(2, n, v, a);
}

int weft_kv_get(const char* key, void* out, size_t cap) {
  return weft_host_kv_get(key, (int32_t)strlen(key), out, (int32_t)cap);
}
int weft_kv_set(const char* key, const void* value, size_t len) {
  return weft_host_kv_set(key, (int32_t)strlen(key), value, (int32_t)len);
}
int weft_kv_delete(const char* key) {
  return weft_host_kv_delete(key, (int32_t)strlen(key));
}
int weft_env_get(const char* name, char* out, size_t cap) {
  int rc = weft_host_env_get(name, (int32_t)strlen(name), out, cap > 0 ? (int32_t)cap - 1 : 0);
  if (rc >= 0 && cap > 0) out[(size_t)rc < cap - 1 ? (size_t)rc : cap - 1] = 0;
  return rc;
}

int weft_client_info(const char* key, char* out, size_t cap) {
  int rc = weft_host_client_info(key, (int32_t)strlen(key), out, cap > 0 ? (int32_t)cap - 1 : 0);
  if (rc >= 0 && cap > 0) out[(size_t)rc < cap - 1 ? (size_t)rc : cap - 1] = 0;
  return rc;
}

/* ---- authenticators and host cryptography --------------------------------------------------- */

int weft_set_client_attribute(const char* key, const char* value, size_t len) {
  return weft_host_set_client_attribute(key, (int32_t)strlen(key), value, (int32_t)len);
}

int weft_add_header(const char* name, const char* value, size_t len) {
  return weft_host_add_header(name, (int32_t)strlen(name), value, (int32_t)len);
}

int weft_hmac_sha256(const char* secret, const void* message, size_t len, uint8_t out[32]) {
  int rc = weft_host_hmac_sha256(secret, (int32_t)strlen(secret), message, (int32_t)len, out, 32);
  return rc < 0 ? rc : 0;
}

int weft_verify_signature(const char* alg, const void* key, size_t key_len, const void* message,
                          size_t len, const void* signature, size_t signature_len) {
  return weft_host_verify_signature(alg, (int32_t)strlen(alg), key, (int32_t)key_len, message,
                                    (int32_t)len, signature, (int32_t)signature_len);
}

static int weft__base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

int weft_base64url_decode(const char* in, size_t len, uint8_t* out, size_t cap) {
  while (len > 0 && in[len - 1] == '=') len--;
  if (len % 4 == 1) return -1;
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = weft__base64_value(in[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == cap) return -1;
      out[n++] = (uint8_t)(acc >> bits);
    }
  }
  return (int)n;
}

void weft_hex(const void* data, size_t len, char* out) {
  static const char digits[] = "0123456789abcdef";
  const uint8_t* p = (const uint8_t*)data;
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * len] = 0;
}

/* ---- lookup tables --------------------------------------------------------------------------- */

int weft_lookup(const char* table, const void* key, size_t key_len, weft_row* row) {
  row->data = row->inline_buf;
  row->len = 0;
  int32_t rc = weft_host_lookup(table, (int32_t)strlen(table), key, (int32_t)key_len,
                                row->inline_buf, (int32_t)sizeof(row->inline_buf));
  if (rc < 0) return rc;
  if ((size_t)rc > sizeof(row->inline_buf)) {
    if (row->heap_cap < (size_t)rc) {
      uint8_t* grown = (uint8_t*)realloc(row->heap, (size_t)rc);
      if (grown == NULL) return -4;
      row->heap = grown;
      row->heap_cap = (size_t)rc;
    }
    rc = weft_host_lookup(table, (int32_t)strlen(table), key, (int32_t)key_len, row->heap,
                          (int32_t)row->heap_cap);
    if (rc < 0) return rc;
    if ((size_t)rc > row->heap_cap) return -4; /* the table changed size between the calls */
    row->data = row->heap;
  }
  row->len = (size_t)rc;
  return 0;
}

static int weft__u32(const uint8_t* p, const uint8_t* end, uint32_t* out) {
  if (end - p < 4) return 0;
  *out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  return 1;
}

int weft_row_next(const weft_row* row, size_t* it, weft_bytes* name, weft_bytes* value) {
  const uint8_t* p = row->data + *it;
  const uint8_t* end = row->data + row->len;
  uint32_t n = 0, v = 0;
  if (!weft__u32(p, end, &n) || (size_t)(end - p - 4) < n) return 0;
  name->data = p + 4;
  name->len = n;
  p += 4 + n;
  if (!weft__u32(p, end, &v) || (size_t)(end - p - 4) < v) return 0;
  value->data = p + 4;
  value->len = v;
  p += 4 + v;
  *it = (size_t)(p - row->data);
  return 1;
}

int weft_row_get(const weft_row* row, const char* name, weft_bytes* value) {
  size_t it = 0;
  weft_bytes n;
  while (weft_row_next(row, &it, &n, value)) {
    if (weft_bytes_eq(n, name)) return 1;
  }
  return 0;
}

void weft_row_free(weft_row* row) {
  free(row->heap);
  row->heap = NULL;
  row->heap_cap = 0;
  row->data = row->inline_buf;
  row->len = 0;
}

/* ---- exporters ------------------------------------------------------------------------------ */

int weft_http_request(const char* method, const char* url, const char* headers, const void* body,
                      size_t len) {
  const char* h = headers != NULL ? headers : "";
  return weft_host_http_request(method, (int32_t)strlen(method), url, (int32_t)strlen(url), h,
                                (int32_t)strlen(h), body != NULL ? body : "", (int32_t)len);
}

int weft_http_response_body(weft_buf* out) {
  int size = weft_host_http_response_body(out->data, 0); /* its size first */
  if (size <= 0) return size;
  uint8_t* at = grow(out, (size_t)size);
  if (!at) return WEFT_HTTP_LIMIT;
  weft_host_http_response_body(at, size);
  return size;
}

void weft_export_retry_after(int64_t milliseconds) {
  weft_host_set_retry_after(milliseconds);
}

void weft_export_rejected(int64_t items) {
  weft_host_set_rejected(items);
}

int weft_export_status(int http_status, const char* who) {
  char text[160];
  if (http_status >= 200 && http_status < 300) return WEFT_EXPORT_SENT;
  if (http_status < 0) {
    snprintf(text, sizeof(text), "%s: the request failed (%d)", who, http_status);
    weft_set_error(text);
    return http_status == WEFT_HTTP_FAILED ? WEFT_EXPORT_RETRYABLE : WEFT_EXPORT_PERMANENT;
  }
  snprintf(text, sizeof(text), "%s: the destination answered HTTP %d", who, http_status);
  weft_set_error(text);
  if (http_status == 429 || (http_status >= 502 && http_status <= 504)) {
    char after[32];
    if (weft_http_response_header("Retry-After", after, sizeof(after)) > 0) {
      weft_export_retry_after((int64_t)atoi(after) * 1000);
    }
    return WEFT_EXPORT_RETRYABLE;
  }
  return WEFT_EXPORT_PERMANENT;
}

/* ---- receivers ------------------------------------------------------------------------------ */

int weft__receive(const uint8_t* data, size_t len, int (*fn)(weft_bytes body)) {
  weft_bytes body = {data, len};
  int rc = fn(body);
  WEFT_FREE_INPUT((void*)data);
  return rc;
}

static int terminated(int rc, char* out, size_t cap) {
  if (rc >= 0 && cap > 0) out[(size_t)rc < cap - 1 ? (size_t)rc : cap - 1] = 0;
  return rc;
}

int weft_request_info(int which, char* out, size_t cap) {
  return terminated(weft_host_request_info(which, out, cap > 0 ? (int32_t)cap - 1 : 0), out, cap);
}

int weft_http_response_header(const char* name, char* out, size_t cap) {
  return terminated(weft_host_http_response_header(name, (int32_t)strlen(name), out,
                                                   cap > 0 ? (int32_t)cap - 1 : 0),
                    out, cap);
}

int weft_request_header(const char* name, char* out, size_t cap) {
  return terminated(
      weft_host_request_header(name, (int32_t)strlen(name), out, cap > 0 ? (int32_t)cap - 1 : 0),
      out, cap);
}

int weft_respond(int status, const void* body, size_t len) {
  return weft_host_respond(status, body != NULL ? body : "", (int32_t)len);
}

/* ---- JSON
 * -------------------------------------------------------------------------------------------- */

static const char* skip_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* End of the JSON value starting at p (p at its first character), or NULL. */
static const char* value_end(const char* p, const char* end) {
  if (p >= end) return NULL;
  if (*p == '"') {
    for (p++; p < end; p++) {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        return p + 1;
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    for (; p < end; p++) {
      if (*p == '"') {
        p = value_end(p, end);
        if (!p) return NULL;
        p--;
      } else if (*p == '{' || *p == '[') {
        depth++;
      } else if (*p == '}' || *p == ']') {
        if (--depth == 0) return p + 1;
      }
    }
    return NULL;
  }
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
  return p;
}

weft_json weft_json_get(weft_json obj, const char* key) {
  weft_json none = {NULL, 0};
  const char* end = obj.p + obj.len;
  const char* p = skip_ws(obj.p, end);
  if (p >= end || *p != '{') return none;
  p++;
  size_t klen = strlen(key);
  for (;;) {
    p = skip_ws(p, end);
    if (p >= end || *p != '"') return none;
    const char* kend = value_end(p, end);
    if (!kend) return none;
    int match = (size_t)(kend - p - 2) == klen && memcmp(p + 1, key, klen) == 0;
    p = skip_ws(kend, end);
    if (p >= end || *p != ':') return none;
    p = skip_ws(p + 1, end);
    const char* vend = value_end(p, end);
    if (!vend) return none;
    if (match) {
      weft_json v = {p, (size_t)(vend - p)};
      return v;
    }
    p = skip_ws(vend, end);
    if (p >= end || *p != ',') return none;
    p++;
  }
}

int weft_json_next(weft_json arr, size_t* it, weft_json* el) {
  const char* end = arr.p + arr.len;
  const char* p = skip_ws(arr.p + *it, end);
  if (*it == 0) {
    if (p >= end || *p != '[') return 0;
    p = skip_ws(p + 1, end);
  } else if (p < end && *p == ',') {
    p = skip_ws(p + 1, end);
  }
  if (p >= end || *p == ']') return 0;
  const char* vend = value_end(p, end);
  if (!vend) return 0;
  el->p = p;
  el->len = (size_t)(vend - p);
  *it = (size_t)(vend - arr.p);
  return 1;
}

int weft_json_is(weft_json v, char c) {
  return v.len > 0 && v.p[0] == c;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p (before end) as a code unit, or -1. */
static long hex4(const char* p, const char* end) {
  if (end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(p[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Appends code point cp as UTF-8 to out[*n] (within cap, keeping room for the NUL). */
static int put_utf8(char* out, size_t cap, size_t* n, unsigned long cp) {
  char tmp[4];
  size_t k;
  if (cp < 0x80) {
    tmp[0] = (char)cp;
    k = 1;
  } else if (cp < 0x800) {
    tmp[0] = (char)(0xC0 | (cp >> 6));
    tmp[1] = (char)(0x80 | (cp & 0x3F));
    k = 2;
  } else if (cp < 0x10000) {
    tmp[0] = (char)(0xE0 | (cp >> 12));
    tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    tmp[2] = (char)(0x80 | (cp & 0x3F));
    k = 3;
  } else {
    tmp[0] = (char)(0xF0 | (cp >> 18));
    tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    tmp[3] = (char)(0x80 | (cp & 0x3F));
    k = 4;
  }
  if (*n + k >= cap) return 0;
  memcpy(out + *n, tmp, k);
  *n += k;
  return 1;
}

int weft_json_string(weft_json v, char* out, size_t cap) {
  if (v.len < 2 || v.p[0] != '"' || v.p[v.len - 1] != '"' || cap == 0) return -1;
  const char* end = v.p + v.len - 1;
  size_t n = 0;
  for (const char* p = v.p + 1; p < end; p++) {
    char c = *p;
    if (c == '\\') {
      if (++p >= end) return -1;
      switch (*p) {
        case 'n':
          c = '\n';
          break;
        case 't':
          c = '\t';
          break;
        case 'r':
          c = '\r';
          break;
        case 'b':
          c = '\b';
          break;
        case 'f':
          c = '\f';
          break;
        case '"':
        case '\\':
        case '/':
          c = *p;
          break;
        case 'u': {
          long cp = hex4(p + 1, end);
          if (cp < 0) return -1;
          p += 4;
          if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
            long low = end - p > 6 && p[1] == '\\' && p[2] == 'u' ? hex4(p + 3, end) : -1;
            if (low < 0xDC00 || low > 0xDFFF) return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return -1;
          }
          if (!put_utf8(out, cap, &n, (unsigned long)cp)) return -1;
          continue;
        }
        default:
          return -1;
      }
    }
    if (n + 1 >= cap) return -1;
    out[n++] = c;
  }
  out[n] = 0;
  return (int)n;
}

int weft_json_member_next(weft_json obj, size_t* it, weft_json* key, weft_json* value) {
  const char* end = obj.p + obj.len;
  const char* p = skip_ws(obj.p + *it, end);
  if (*it == 0) {
    if (p >= end || *p != '{') return 0;
    p = skip_ws(p + 1, end);
  } else if (p < end && *p == ',') {
    p = skip_ws(p + 1, end);
  }
  if (p >= end || *p != '"') return 0;
  const char* kend = value_end(p, end);
  if (!kend) return 0;
  key->p = p;
  key->len = (size_t)(kend - p);
  p = skip_ws(kend, end);
  if (p >= end || *p != ':') return 0;
  p = skip_ws(p + 1, end);
  const char* vend = value_end(p, end);
  if (!vend) return 0;
  value->p = p;
  value->len = (size_t)(vend - p);
  *it = (size_t)(vend - obj.p);
  return 1;
}

/* Strict JSON (RFC 8259) from p: the end of the value, or NULL. */
static const char* valid_value(const char* p, const char* end, int depth) {
  p = skip_ws(p, end);
  if (p >= end || depth > 64) return NULL;
  if (*p == '"') {
    for (p++; p < end; p++) {
      unsigned char c = (unsigned char)*p;
      if (c < 0x20) return NULL;
      if (c == '"') return p + 1;
      if (c == '\\') {
        if (++p >= end) return NULL;
        if (*p == 'u') {
          if (hex4(p + 1, end) < 0) return NULL;
          p += 4;
        } else if (*p == 0 || !strchr("\"\\/bfnrt", *p)) {
          return NULL;
        }
      }
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    const char close = *p == '{' ? '}' : ']';
    const int object = *p == '{';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
      if (object) {
        if (p >= end || *p != '"') return NULL;
        p = valid_value(p, end, depth + 1);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p++;
      }
      p = valid_value(p, end, depth + 1);
      if (!p) return NULL;
      p = skip_ws(p, end);
      if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        continue;
      }
      return p < end && *p == close ? p + 1 : NULL;
    }
  }
  static const char* words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0) return p + n;
  }
  const char* q = p;
  if (q < end && *q == '-') q++;
  if (q >= end || !(*q >= '0' && *q <= '9')) return NULL;
  if (*q == '0') {
    q++;
  } else {
    while (q < end && *q >= '0' && *q <= '9') q++;
  }
  if (q < end && *q == '.') {
    q++;
    if (q >= end || !(*q >= '0' && *q <= '9')) return NULL;
    while (q < end && *q >= '0' && *q <= '9') q++;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end && (*q == '+' || *q == '-')) q++;
    if (q >= end || !(*q >= '0' && *q <= '9')) return NULL;
    while (q < end && *q >= '0' && *q <= '9') q++;
  }
  return q;
}

int weft_json_valid(weft_json v) {
  const char* end = v.p + v.len;
  const char* p = valid_value(v.p, end, 0);
  return p != NULL && skip_ws(p, end) == end;
}

int weft_json_number(weft_json v, double* out) {
  char buf[64];
  if (v.len == 0 || v.len >= sizeof buf) return 0;
  memcpy(buf, v.p, v.len);
  buf[v.len] = 0;
  char* end;
  *out = strtod(buf, &end);
  return end != buf;
}

int weft_json_bool(weft_json v, int* out) {
  if (v.len == 4 && memcmp(v.p, "true", 4) == 0) return (*out = 1), 1;
  if (v.len == 5 && memcmp(v.p, "false", 5) == 0) return (*out = 0), 1;
  return 0;
}

/* ---- SHA-256 (FIPS 180-4)
 * ------------------------------------------------------------------------ */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        k + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += k;
}

void weft_sha256_hex(const void* data, size_t len, char out[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const uint8_t* p = (const uint8_t*)data;
  size_t left = len;
  for (; left >= 64; left -= 64, p += 64) sha256_block(h, p);
  uint8_t tail[128];
  memset(tail, 0, sizeof tail);
  memcpy(tail, p, left);
  tail[left] = 0x80;
  size_t tail_len = left < 56 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
  sha256_block(h, tail);
  if (tail_len == 128) sha256_block(h, tail + 64);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++) {
    for (int j = 0; j < 4; j++) {
      uint8_t byte = (uint8_t)(h[i] >> (24 - 8 * j));
      out[i * 8 + j * 2] = hex[byte >> 4];
      out[i * 8 + j * 2 + 1] = hex[byte & 15];
    }
  }
  out[64] = 0;
}
