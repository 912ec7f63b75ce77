/* zipkin receiver: Zipkin JSON v2 (a JSON array of spans, POSTed to /api/v2/spans) to OTLP
 * traces. weft listens, undoes Content-Encoding and bounds the body; this plugin parses and
 * maps, the reverse of the zipkin exporter:
 *   traceId (16 or 32 hex), id, parentId      span ids
 *   name, kind                                SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5;
 *                                             no kind: INTERNAL
 *   timestamp, duration (microseconds)        start and end times
 *   localEndpoint.serviceName                 the resource's service.name
 *   tags                                      attributes (strings), except:
 *     otel.status_code, error, otel.status_description   the span's status
 *     otel.scope.name / otel.library.name, otel.scope.version / otel.library.version
 *   annotations                               events: the timestamp, and the value as the
 *                                             name, or {"<name>": {<attributes>}} (as
 *                                             OpenTelemetry's Zipkin exporters write one)
 * Spans of one service and scope share a resource and a scope (grouped over the request).
 * Malformed JSON or ids get 400 with the reason; an accepted request gets 202, as from Zipkin
 * itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define TEXT 65536

static char text[TEXT];      /* the string being read */
static char error_text[256]; /* why a request is refused */

static int parse_string_tags; /* tags that read as numbers or booleans become typed */

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json_bool(weft_json_get(root, "parse_string_tags"), &parse_string_tags);
  return WEFT_OK;
}

/* A KeyValue (field 9 of a Span): typed if parse_string_tags and the text reads as an
 * integer, a double or a boolean, else a string. */
static void put_attribute(weft_buf* span, const char* key, const char* value) {
  if (!parse_string_tags) {
    weft_pb_string_attribute(span, 9, key, value, strlen(value));
    return;
  }
  weft_buf kv, any;
  weft_buf_init(&kv);
  weft_buf_init(&any);
  char* end = NULL;
  long long i = strtoll(value, &end, 10);
  if (*value && end && *end == 0) {
    weft_pb_varint(&any, 3, (uint64_t)i);
  } else if (!strcmp(value, "true") || !strcmp(value, "false")) {
    weft_pb_varint(&any, 2, value[0] == 't');
  } else {
    double d = strtod(value, &end);
    if (*value && end && *end == 0) {
      weft_pb_double(&any, 4, d);
    } else {
      weft_pb_string(&any, 1, value);
    }
  }
  weft_pb_string(&kv, 1, key);
  weft_pb_message(&kv, 2, &any);
  weft_pb_message(span, 9, &kv);
  weft_buf_free(&kv);
  weft_buf_free(&any);
}

static int refuse(const char* why, size_t index) {
  snprintf(error_text, sizeof(error_text), "span %zu: %s", index, why);
  weft_set_error(error_text);
  return WEFT_RECEIVE_BAD_REQUEST;
}

/* Hex into bytes; `size` bytes out, a shorter id padded with zeros in front. */
static int parse_hex(const char* hex, uint8_t* out, size_t size) {
  size_t n = strlen(hex);
  if (n == 0 || n % 2 || n > size * 2) return 0;
  memset(out, 0, size);
  uint8_t* at = out + size - n / 2;
  for (size_t i = 0; i < n; i += 2) {
    int hi = -1, lo = -1;
    char a = hex[i], b = hex[i + 1];
    hi = a >= '0' && a <= '9'   ? a - '0'
         : a >= 'a' && a <= 'f' ? a - 'a' + 10
         : a >= 'A' && a <= 'F' ? a - 'A' + 10
                                : -1;
    lo = b >= '0' && b <= '9'   ? b - '0'
         : b >= 'a' && b <= 'f' ? b - 'a' + 10
         : b >= 'A' && b <= 'F' ? b - 'A' + 10
                                : -1;
    if (hi < 0 || lo < 0) return 0;
    *at++ = (uint8_t)(hi * 16 + lo);
  }
  return 1;
}

static int string_of(weft_json v, char* out, size_t cap) {
  return v.len && weft_json_is(v, '"') ? weft_json_string(v, out, cap) : -1;
}

/* A number of microseconds as nanoseconds; 0 if absent. */
static uint64_t micros(weft_json v) {
  double d = 0;
  if (!v.len || !weft_json_number(v, &d) || d < 0) return 0;
  return (uint64_t)d * 1000;
}

/* An annotation's value as an event's name and attributes: `{"<name>": {<attributes>}}`
 * (how OpenTelemetry's Zipkin exporters write an event) or a plain name. */
static void put_event(weft_buf* event, const char* value) {
  weft_json doc = {value, strlen(value)};
  size_t it = 0, inner_it = 0;
  weft_json key, inner, k, v;
  char name[512], attr_key[256], attr_value[1024];
  if (!weft_json_valid(doc) || !weft_json_is(doc, '{') ||
      !weft_json_member_next(doc, &it, &key, &inner) || weft_json_member_next(doc, &it, &k, &v) ||
      !weft_json_is(inner, '{') || weft_json_string(key, name, sizeof(name)) < 0) {
    weft_pb_string(event, 2, value);
    return;
  }
  weft_pb_string(event, 2, name);
  while (weft_json_member_next(inner, &inner_it, &k, &v)) {
    if (weft_json_string(k, attr_key, sizeof(attr_key)) < 0) continue;
    if (weft_json_is(v, '"')) {
      if (weft_json_string(v, attr_value, sizeof(attr_value)) < 0) continue;
    } else {
      size_t n = v.len < sizeof(attr_value) - 1 ? v.len : sizeof(attr_value) - 1;
      memcpy(attr_value, v.p, n);
      attr_value[n] = 0;
    }
    weft_pb_string_attribute(event, 3, attr_key, attr_value, strlen(attr_value));
  }
}

/* The spans of one service and scope; a request's spans are grouped by them, so spans of
 * one service arriving interleaved with others' still share a resource. */
typedef struct {
  char service[256], scope[256], version[128];
  weft_buf spans;
  int open;
} group;

#define MAX_GROUPS 64
static group groups[MAX_GROUPS];

static void flush(weft_buf* request, group* g) {
  if (!g->open) return;
  weft_buf resource, resource_spans, scope, scope_spans;
  weft_buf_init(&resource);
  if (g->service[0]) {
    weft_pb_string_attribute(&resource, 1, "service.name", g->service, strlen(g->service));
  }
  weft_buf_init(&scope);
  if (g->scope[0]) weft_pb_string(&scope, 1, g->scope);
  if (g->version[0]) weft_pb_string(&scope, 2, g->version);
  weft_buf_init(&scope_spans);
  weft_pb_message(&scope_spans, 1, &scope);
  weft_buf_append(&scope_spans, g->spans.data, g->spans.len);
  weft_buf_init(&resource_spans);
  weft_pb_message(&resource_spans, 1, &resource);
  weft_pb_message(&resource_spans, 2, &scope_spans);
  weft_pb_message(request, 1, &resource_spans);
  weft_buf_free(&resource);
  weft_buf_free(&scope);
  weft_buf_free(&scope_spans);
  weft_buf_free(&resource_spans);
  weft_buf_free(&g->spans);
  g->open = 0;
}

/* Reads one span into span (the Span message) and the group key; 0 with the reason set. */
static int read_span(weft_json s, size_t index, weft_buf* span, char* service, char* scope,
                     char* version) {
  uint8_t id[16];
  if (!weft_json_is(s, '{')) return refuse("not an object", index);
  /* One pass over the span's members (keys compared as written: Zipkin's have no escapes). */
  weft_json f_trace = {0}, f_id = {0}, parent = {0}, name = {0}, f_kind = {0}, f_ts = {0},
            f_duration = {0}, endpoint = {0}, tags = {0}, annotations = {0}, key, value;
  size_t it = 0;
  while (weft_json_member_next(s, &it, &key, &value)) {
    const char* k = key.p + 1;
    size_t n = key.len >= 2 ? key.len - 2 : 0;
#define KEY_IS(lit) (n == sizeof(lit) - 1 && !memcmp(k, lit, n))
    if (KEY_IS("traceId"))
      f_trace = value;
    else if (KEY_IS("id"))
      f_id = value;
    else if (KEY_IS("parentId"))
      parent = value;
    else if (KEY_IS("name"))
      name = value;
    else if (KEY_IS("kind"))
      f_kind = value;
    else if (KEY_IS("timestamp"))
      f_ts = value;
    else if (KEY_IS("duration"))
      f_duration = value;
    else if (KEY_IS("localEndpoint"))
      endpoint = value;
    else if (KEY_IS("tags"))
      tags = value;
    else if (KEY_IS("annotations"))
      annotations = value;
#undef KEY_IS
  }
  if (string_of(f_trace, text, TEXT) < 0 || !parse_hex(text, id, 16))
    return refuse("traceId must be 16 or 32 hex digits", index);
  weft_pb_bytes_field(span, 1, id, 16);
  if (string_of(f_id, text, TEXT) < 0 || strlen(text) != 16 || !parse_hex(text, id, 8))
    return refuse("id must be 16 hex digits", index);
  weft_pb_bytes_field(span, 2, id, 8);
  if (parent.len && !weft_json_is(parent, 'n')) {
    if (string_of(parent, text, TEXT) < 0 || strlen(text) != 16 || !parse_hex(text, id, 8))
      return refuse("parentId must be 16 hex digits", index);
    weft_pb_bytes_field(span, 4, id, 8);
  }
  if (name.len && string_of(name, text, TEXT) >= 0) weft_pb_string(span, 5, text);
  int kind = 1; /* INTERNAL */
  if (string_of(f_kind, text, TEXT) >= 0) {
    kind = !strcmp(text, "SERVER")     ? 2
           : !strcmp(text, "CLIENT")   ? 3
           : !strcmp(text, "PRODUCER") ? 4
           : !strcmp(text, "CONSUMER") ? 5
                                       : 0;
    if (!kind) return refuse("kind must be SERVER, CLIENT, PRODUCER or CONSUMER", index);
  }
  weft_pb_varint(span, 6, (uint64_t)kind);
  uint64_t start = micros(f_ts);
  uint64_t duration = micros(f_duration);
  weft_pb_fixed64(span, 7, start);
  weft_pb_fixed64(span, 8, start + duration);
  service[0] = 0; /* no localEndpoint: a resource without service.name */
  if (string_of(weft_json_get(endpoint, "serviceName"), text, 256) > 0) strcpy(service, text);
  scope[0] = version[0] = 0;
  /* Tags: attributes, but for the status and the scope. */
  int status_code = 0;
  char status_message[1024] = "";
  it = 0;
  while (tags.len && weft_json_member_next(tags, &it, &key, &value)) {
    char k[256];
    if (weft_json_string(key, k, sizeof(k)) < 0) return refuse("a tag's key is too long", index);
    if (weft_json_is(value, '"')) {
      if (weft_json_string(value, text, TEXT) < 0)
        return refuse("a tag's value is too long", index);
    } else {
      size_t n = value.len < TEXT - 1 ? value.len : TEXT - 1; /* a number or bool as written */
      memcpy(text, value.p, n);
      text[n] = 0;
    }
    if (!strcmp(k, "otel.status_code")) {
      status_code = !strcmp(text, "ERROR") ? 2 : !strcmp(text, "OK") ? 1 : 0;
    } else if (!strcmp(k, "error")) {
      status_code = 2;
      if (!status_message[0]) snprintf(status_message, sizeof(status_message), "%s", text);
    } else if (!strcmp(k, "otel.status_description")) {
      snprintf(status_message, sizeof(status_message), "%s", text);
    } else if (!strcmp(k, "otel.scope.name") || !strcmp(k, "otel.library.name")) {
      snprintf(scope, 256, "%s", text);
    } else if (!strcmp(k, "otel.scope.version") || !strcmp(k, "otel.library.version")) {
      snprintf(version, 128, "%s", text);
    } else {
      put_attribute(span, k, text);
    }
  }
  /* Annotations: events. */
  it = 0;
  weft_json annotation;
  while (annotations.len && weft_json_next(annotations, &it, &annotation)) {
    weft_buf event;
    weft_buf_init(&event);
    weft_pb_fixed64(&event, 1, micros(weft_json_get(annotation, "timestamp")));
    if (string_of(weft_json_get(annotation, "value"), text, TEXT) >= 0) put_event(&event, text);
    weft_pb_message(span, 11, &event);
    weft_buf_free(&event);
  }
  if (status_code) {
    weft_buf status;
    weft_buf_init(&status);
    if (status_code == 2 && status_message[0]) weft_pb_string(&status, 2, status_message);
    weft_pb_varint(&status, 3, (uint64_t)status_code);
    weft_pb_message(span, 15, &status);
    weft_buf_free(&status);
  }
  return -1; /* read */
}

static int receive(weft_bytes body) {
  weft_json doc = {(const char*)body.data, body.len};
  if (!weft_json_valid(doc) || !weft_json_is(doc, '[')) {
    weft_set_error("the body is not a JSON array of Zipkin v2 spans");
    return WEFT_RECEIVE_BAD_REQUEST;
  }
  weft_buf request;
  weft_buf_init(&request);
  size_t used = 0;
  size_t it = 0, index = 0;
  weft_json s;
  int rc = WEFT_RECEIVE_OK;
  static weft_buf span; /* one span at a time, its memory kept from span to span */
  while (weft_json_next(doc, &it, &s)) {
    span.len = 0;
    span.failed = 0;
    char service[256], scope[256], version[128];
    int read = read_span(s, index++, &span, service, scope, version);
    if (read != -1) {
      rc = read;
      break;
    }
    group* g = NULL;
    for (size_t i = 0; i < used && !g; ++i) {
      if (!strcmp(groups[i].service, service) && !strcmp(groups[i].scope, scope) &&
          !strcmp(groups[i].version, version)) {
        g = &groups[i];
      }
    }
    if (!g) {
      if (used == MAX_GROUPS) flush(&request, &groups[--used]); /* many services: in order */
      g = &groups[used++];
      strcpy(g->service, service);
      strcpy(g->scope, scope);
      strcpy(g->version, version);
      weft_buf_init(&g->spans);
      g->open = 1;
    }
    weft_pb_message(&g->spans, 2, &span);
  }
  if (rc == WEFT_RECEIVE_OK) {
    for (size_t i = 0; i < used; ++i) flush(&request, &groups[i]);
    if (request.failed) {
      weft_set_error("out of memory");
      rc = WEFT_ERROR + 1;
    } else if (request.len > 0 && weft_emit(WEFT_TRACES, &request) != 0) {
      weft_set_error("weft refused the converted spans");
      rc = WEFT_ERROR + 1;
    } else {
      weft_respond(202, NULL, 0);
    }
  } else {
    for (size_t i = 0; i < used; ++i) {
      weft_buf_free(&groups[i].spans);
      groups[i].open = 0;
    }
  }
  weft_buf_free(&request);
  return rc;
}

WEFT_PLUGIN(configure)
WEFT_RECEIVE(receive)
