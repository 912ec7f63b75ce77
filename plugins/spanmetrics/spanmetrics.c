/* spanmetrics (connector): turns spans into metrics per service and operation:
 *   <prefix>.calls     Sum, delta, monotonic: spans seen
 *   <prefix>.errors    Sum, delta, monotonic: spans with status ERROR
 *   <prefix>.duration  Histogram, delta, milliseconds: span durations
 * each data point carrying service.name and span.name; one metrics request is
 * emitted per batch of spans.
 *
 * config: {"prefix": "traces.span.metrics",
 *          "buckets_ms": [2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]}
 */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_BUCKETS 32
#define MAX_GROUPS 1024
#define MAX_PREFIX 128

typedef struct {
  weft_bytes service;
  weft_bytes operation;
  uint64_t calls, errors;
  double sum_ms;
  uint64_t buckets[MAX_BUCKETS + 1];
} group;

static char prefix[MAX_PREFIX] = "traces.span.metrics";
static double bounds[MAX_BUCKETS] = {2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
static size_t bound_count = 12;
static group groups[MAX_GROUPS];
static size_t group_count;
static uint64_t last_emit_ns;

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json v = weft_json_get(root, "prefix");
  if (v.len && weft_json_string(v, prefix, sizeof prefix) <= 0) {
    weft_set_error("prefix must be a non-empty string of at most 127 bytes");
    return WEFT_ERROR;
  }
  v = weft_json_get(root, "buckets_ms");
  if (v.len) {
    size_t it = 0;
    weft_json el;
    bound_count = 0;
    while (weft_json_next(v, &it, &el)) {
      double b;
      if (bound_count == MAX_BUCKETS || !weft_json_number(el, &b) ||
          (bound_count > 0 && b <= bounds[bound_count - 1])) {
        weft_set_error("buckets_ms must be at most 32 increasing numbers");
        return WEFT_ERROR;
      }
      bounds[bound_count++] = b;
    }
  }
  last_emit_ns = (uint64_t)weft_now_unix_nano();
  return WEFT_OK;
}

static int bytes_equal(weft_bytes a, weft_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static group* find_group(weft_bytes service, weft_bytes operation) {
  for (size_t i = 0; i < group_count; i++) {
    if (bytes_equal(groups[i].service, service) && bytes_equal(groups[i].operation, operation)) {
      return &groups[i];
    }
  }
  if (group_count == MAX_GROUPS) return NULL;
  group* g = &groups[group_count++];
  memset(g, 0, sizeof *g);
  g->service = service;
  g->operation = operation;
  return g;
}

static void point_attributes(weft_buf* point, uint32_t field, const group* g) {
  weft_pb_string_attribute(point, field, "service.name", g->service.data, g->service.len);
  weft_pb_string_attribute(point, field, "span.name", g->operation.data, g->operation.len);
}

/* A Sum metric of one counter of every group of one service. */
static void add_sum(weft_buf* scope, const char* suffix, size_t first, size_t end, int errors,
                    uint64_t start_ns, uint64_t now_ns) {
  weft_buf sum, metric;
  weft_buf_init(&sum);
  weft_buf_init(&metric);
  for (size_t i = first; i < end; i++) {
    if (!bytes_equal(groups[i].service, groups[first].service)) continue;
    weft_buf point;
    weft_buf_init(&point);
    point_attributes(&point, 7, &groups[i]);
    weft_pb_fixed64(&point, 2, start_ns);
    weft_pb_fixed64(&point, 3, now_ns);
    weft_pb_fixed64(&point, 6, errors ? groups[i].errors : groups[i].calls); /* as_int */
    weft_pb_message(&sum, 1, &point);
    weft_buf_free(&point);
  }
  weft_pb_varint(&sum, 2, 1); /* AGGREGATION_TEMPORALITY_DELTA */
  weft_pb_varint(&sum, 3, 1); /* is_monotonic */
  char name[MAX_PREFIX + 16];
  strcpy(name, prefix);
  strcat(name, suffix);
  weft_pb_string(&metric, 1, name);
  weft_pb_string(&metric, 3, "1");
  weft_pb_message(&metric, 7, &sum);
  weft_pb_message(scope, 2, &metric);
  weft_buf_free(&sum);
  weft_buf_free(&metric);
}

static void add_histogram(weft_buf* scope, size_t first, size_t end, uint64_t start_ns,
                          uint64_t now_ns) {
  weft_buf hist, metric;
  weft_buf_init(&hist);
  weft_buf_init(&metric);
  for (size_t i = first; i < end; i++) {
    const group* g = &groups[i];
    if (!bytes_equal(g->service, groups[first].service)) continue;
    weft_buf point;
    weft_buf_init(&point);
    point_attributes(&point, 9, g);
    weft_pb_fixed64(&point, 2, start_ns);
    weft_pb_fixed64(&point, 3, now_ns);
    weft_pb_fixed64(&point, 4, g->calls);
    weft_pb_double(&point, 5, g->sum_ms);
    weft_pb_packed_fixed64(&point, 6, g->buckets, bound_count + 1);
    weft_pb_packed_double(&point, 7, bounds, bound_count);
    weft_pb_message(&hist, 1, &point);
    weft_buf_free(&point);
  }
  weft_pb_varint(&hist, 2, 1); /* delta */
  char name[MAX_PREFIX + 16];
  strcpy(name, prefix);
  strcat(name, ".duration");
  weft_pb_string(&metric, 1, name);
  weft_pb_string(&metric, 3, "ms");
  weft_pb_message(&metric, 9, &hist);
  weft_pb_message(scope, 2, &metric);
  weft_buf_free(&hist);
  weft_buf_free(&metric);
}

/* Emits one metrics request for every group, one resource per service, and resets. */
static int flush(void) {
  if (group_count == 0) return WEFT_OK;
  uint64_t now_ns = (uint64_t)weft_now_unix_nano();
  weft_buf request;
  weft_buf_init(&request);
  for (size_t i = 0; i < group_count; i++) {
    int seen = 0; /* each service once, at its first group */
    for (size_t k = 0; k < i && !seen; k++)
      seen = bytes_equal(groups[k].service, groups[i].service);
    if (seen) continue;
    weft_buf rm, resource, scope, scope_info;
    weft_buf_init(&rm);
    weft_buf_init(&resource);
    weft_buf_init(&scope);
    weft_buf_init(&scope_info);
    weft_pb_string_attribute(&resource, 1, "service.name", groups[i].service.data,
                             groups[i].service.len);
    weft_pb_string(&scope_info, 1, "weft.spanmetrics");
    weft_pb_message(&scope, 1, &scope_info);
    add_sum(&scope, ".calls", i, group_count, 0, last_emit_ns, now_ns);
    add_sum(&scope, ".errors", i, group_count, 1, last_emit_ns, now_ns);
    add_histogram(&scope, i, group_count, last_emit_ns, now_ns);
    weft_pb_message(&rm, 1, &resource);
    weft_pb_message(&rm, 2, &scope);
    weft_pb_message(&request, 1, &rm);
    weft_buf_free(&rm);
    weft_buf_free(&resource);
    weft_buf_free(&scope);
    weft_buf_free(&scope_info);
  }
  int rc = weft_emit(WEFT_METRICS, &request);
  weft_buf_free(&request);
  last_emit_ns = now_ns;
  group_count = 0;
  if (rc != 0) {
    weft_set_error("weft refused the emitted metrics");
    return WEFT_ERROR;
  }
  return WEFT_OK;
}

static int process(const weft_batch* batch) {
  static const char unknown[] = "unknown_service";
  weft_items it;
  weft_items_init(&it, batch);
  while (weft_items_next(&it)) {
    const weft_item* item = &it.current;
    weft_value svc;
    weft_bytes service = {(const uint8_t*)unknown, sizeof unknown - 1};
    if (weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, "service.name", &svc) &&
        svc.type == WEFT_VALUE_STRING) {
      service = svc.str;
    }
    group* g = find_group(service, weft_pb_bytes(item->item, WEFT_SPAN_NAME));
    if (g == NULL) { /* more operations than fit: send what we have, then go on */
      if (flush() != WEFT_OK) return WEFT_ERROR;
      g = find_group(service, weft_pb_bytes(item->item, WEFT_SPAN_NAME));
    }
    uint64_t start = weft_pb_u64(item->item, WEFT_SPAN_START);
    uint64_t end = weft_pb_u64(item->item, WEFT_SPAN_END);
    double ms = end > start ? (double)(end - start) / 1e6 : 0;
    g->calls++;
    if (weft_pb_u64(weft_pb_bytes(item->item, WEFT_SPAN_STATUS), 3) == 2) g->errors++;
    g->sum_ms += ms;
    size_t b = 0;
    while (b < bound_count && ms > bounds[b]) b++;
    g->buckets[b]++;
  }
  return flush();
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
