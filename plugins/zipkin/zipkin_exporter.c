/* zipkin exporter: OTLP spans to Zipkin JSON v2, sent to the wasm exporter's endpoint
 * (POST <endpoint>/api/v2/spans, one JSON array per batch). The mapping follows the
 * OpenTelemetry specification's Zipkin exporter:
 *   traceId, id, parentId      the ids as lowercase hex
 *   name, kind                 SERVER, CLIENT, PRODUCER, CONSUMER (INTERNAL: no kind)
 *   timestamp, duration        microseconds (duration at least 1)
 *   localEndpoint.serviceName  the resource's service.name
 *   tags                       span and resource attributes (but service.name) as strings,
 *                              otel.scope.name / otel.scope.version, otel.status_code
 *                              (OK, ERROR) and error (the status message) for an error
 *   annotations                span events: timestamp and name
 * weft does the I/O; a response 2xx is sent, 429, 502, 503 and 504 are retried, anything
 * else is dropped and counted. Config: {"path": "/api/v2/spans", "default_service_name": "..."}
 * (the service of spans whose resource has no service.name; "unknown_service" by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

static char path[256] = "/api/v2/spans";
static char default_service[256] = "unknown_service";

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json p = weft_json_get(root, "path");
  if (p.len && weft_json_string(p, path, sizeof(path)) < 0) {
    weft_set_error("zipkin: path must be a string");
    return WEFT_ERROR;
  }
  weft_json service = weft_json_get(root, "default_service_name");
  char name[256];
  if (service.len && weft_json_string(service, name, sizeof(name)) > 0)
    strcpy(default_service, name);
  return WEFT_OK;
}

static void put(weft_buf* b, const char* s) {
  weft_buf_append(b, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 as it is. */
static void put_string(weft_buf* b, const uint8_t* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"");
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    weft_buf_append(b, s + run, i - run);
    run = i + 1;
    char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
    if (c == '"' || c == '\\') {
      esc[1] = (char)c;
      esc[2] = 0;
    } else if (c == '\n') {
      esc[1] = 'n';
      esc[2] = 0;
    }
    put(b, esc);
  }
  weft_buf_append(b, s + run, n - run);
  put(b, "\"");
}

static void put_cstring(weft_buf* b, const char* s) {
  put_string(b, (const uint8_t*)s, strlen(s));
}

static void put_hex(weft_buf* b, weft_bytes id) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"");
  for (size_t i = 0; i < id.len; i++) {
    char two[2] = {hex[id.data[i] >> 4], hex[id.data[i] & 15]};
    weft_buf_append(b, two, 2);
  }
  put(b, "\"");
}

static void put_u64(weft_buf* b, uint64_t v) {
  char text[24];
  snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
  put(b, text);
}

/* An attribute value as a Zipkin tag (tags are strings). 0 if it has no string form. */
static int put_value(weft_buf* b, const weft_value* v) {
  char text[40];
  switch (v->type) {
    case WEFT_VALUE_STRING:
      put_string(b, v->str.data, v->str.len);
      return 1;
    case WEFT_VALUE_BOOL:
      put(b, v->b ? "\"true\"" : "\"false\"");
      return 1;
    case WEFT_VALUE_INT:
      snprintf(text, sizeof(text), "\"%lld\"", (long long)v->i);
      put(b, text);
      return 1;
    case WEFT_VALUE_DOUBLE:
      snprintf(text, sizeof(text), "\"%.17g\"", v->d);
      put(b, text);
      return 1;
    default:
      return 0;
  }
}

/* Appends `"key":value` for each attribute (field `field` of message), but `skip`. */
static void put_tags(weft_buf* b, weft_bytes message, uint32_t field, const char* skip,
                     int* first) {
  size_t it = 0;
  weft_bytes key;
  weft_value value;
  while (weft_attr_next(message, field, &it, &key, &value)) {
    if (skip && weft_bytes_eq(key, skip)) continue;
    if (value.type == WEFT_VALUE_NONE || value.type == WEFT_VALUE_OTHER) continue;
    put(b, *first ? "" : ",");
    *first = 0;
    put_string(b, key.data, key.len);
    put(b, ":");
    put_value(b, &value);
  }
}

static void put_tag(weft_buf* b, const char* key, weft_bytes value, int* first) {
  put(b, *first ? "" : ",");
  *first = 0;
  put_cstring(b, key);
  put(b, ":");
  put_string(b, value.data, value.len);
}

static void put_span(weft_buf* b, const weft_item* item) {
  weft_bytes span = item->item;
  put(b, "{\"traceId\":");
  put_hex(b, weft_pb_bytes(span, WEFT_SPAN_TRACE_ID));
  put(b, ",\"id\":");
  put_hex(b, weft_pb_bytes(span, WEFT_SPAN_SPAN_ID));
  weft_bytes parent = weft_pb_bytes(span, 4);
  if (parent.len) {
    put(b, ",\"parentId\":");
    put_hex(b, parent);
  }
  weft_bytes name = weft_pb_bytes(span, WEFT_SPAN_NAME);
  put(b, ",\"name\":");
  put_string(b, name.data, name.len);
  static const char* kinds[] = {NULL, NULL, "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
  uint64_t kind = weft_pb_u64(span, WEFT_SPAN_KIND);
  if (kind < 6 && kinds[kind]) {
    put(b, ",\"kind\":\"");
    put(b, kinds[kind]);
    put(b, "\"");
  }
  uint64_t start = weft_pb_u64(span, WEFT_SPAN_START), end = weft_pb_u64(span, WEFT_SPAN_END);
  put(b, ",\"timestamp\":");
  put_u64(b, start / 1000);
  uint64_t duration = end > start ? (end - start) / 1000 : 0;
  put(b, ",\"duration\":");
  put_u64(b, duration > 0 ? duration : 1);
  weft_value service;
  put(b, ",\"localEndpoint\":{\"serviceName\":");
  if (weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, "service.name", &service) &&
      service.type == WEFT_VALUE_STRING) {
    put_string(b, service.str.data, service.str.len);
  } else {
    put_cstring(b, default_service);
  }
  put(b, "},\"tags\":{");
  int first = 1;
  put_tags(b, span, WEFT_SPAN_ATTRIBUTES, NULL, &first);
  put_tags(b, item->resource, WEFT_RESOURCE_ATTRIBUTES, "service.name", &first);
  weft_bytes scope_name = weft_pb_bytes(item->scope, 1),
             scope_version = weft_pb_bytes(item->scope, 2);
  if (scope_name.len) put_tag(b, "otel.scope.name", scope_name, &first);
  if (scope_version.len) put_tag(b, "otel.scope.version", scope_version, &first);
  weft_bytes status = weft_pb_bytes(span, WEFT_SPAN_STATUS);
  uint64_t code = weft_pb_u64(status, 3);
  if (code == 1) {
    weft_bytes ok = {(const uint8_t*)"OK", 2};
    put_tag(b, "otel.status_code", ok, &first);
  } else if (code == 2) {
    weft_bytes error = {(const uint8_t*)"ERROR", 5};
    put_tag(b, "otel.status_code", error, &first);
    put_tag(b, "error", weft_pb_bytes(status, 2), &first);
  }
  put(b, "}");
  /* Events (field 11): Event { time_unix_nano = 1; name = 2 } */
  weft_reader r;
  weft_field f;
  int events = 0;
  weft_reader_init(&r, span);
  while (weft_reader_next(&r, &f)) {
    if (f.number != 11 || f.wire_type != 2) continue;
    put(b, events++ ? ",{\"timestamp\":" : ",\"annotations\":[{\"timestamp\":");
    put_u64(b, weft_pb_u64(f.bytes, 1) / 1000);
    weft_bytes event_name = weft_pb_bytes(f.bytes, 2);
    put(b, ",\"value\":");
    if (weft_pb_bytes(f.bytes, 3).len == 0) {
      put_string(b, event_name.data, event_name.len);
    } else { /* with attributes: {"<name>":{<attributes>}} as a JSON string */
      weft_buf value;
      weft_buf_init(&value);
      put(&value, "{");
      put_string(&value, event_name.data, event_name.len);
      put(&value, ":{");
      int first_attribute = 1;
      put_tags(&value, f.bytes, 3, NULL, &first_attribute);
      put(&value, "}}");
      put_string(b, value.data, value.len);
      weft_buf_free(&value);
    }
    put(b, "}");
  }
  if (events) put(b, "]");
  put(b, "}");
}

static int export_spans(const weft_batch* batch) {
  weft_buf body;
  weft_buf_init(&body);
  put(&body, "[");
  weft_items it;
  weft_items_init(&it, batch);
  size_t n = 0;
  while (weft_items_next(&it)) {
    if (n++) put(&body, ",");
    put_span(&body, &it.current);
  }
  put(&body, "]");
  if (body.failed) {
    weft_buf_free(&body);
    weft_set_error("zipkin: out of memory building the request");
    return WEFT_EXPORT_RETRYABLE;
  }
  int status =
      weft_http_request("POST", path, "Content-Type: application/json", body.data, body.len);
  weft_buf_free(&body);
  return weft_export_status(status, "zipkin");
}

WEFT_PLUGIN(configure)
WEFT_EXPORT_TRACES(export_spans)
