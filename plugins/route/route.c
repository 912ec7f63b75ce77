/* route: picks, for each item, which of a wasm connector's output pipelines it goes to
 * (weft_route, ABI 1.4). The connector names the pipelines (routes: [...], route 1 first) and
 * where unmatched items go (default_pipelines, route 0).
 *
 * config: {"by": "resource" | "item" | "client" | "hash",
 *          "key": "tenant",           by resource/item: the attribute (an item's, then its
 *                                     resource's); by client: a client_info key
 *                                     (auth.tenant, metadata.x-tenant, client.address);
 *                                     by hash: an attribute, or "trace_id" (spans)
 *          "routes": {"acme": 1},     a value's route
 *          "table": "tenants",        or: the value's row in this table (permissions.tables)...
 *          "field": "route",          ...whose field holds the route number
 *          "buckets": 3,              by hash: route 1 + hash(value) % buckets
 *          "default": 0}              the route of an item whose value has none (0: the
 *                                     connector's default_pipelines; 255: dropped)
 * Counted: weft_plugin_route_items{result="matched"|"default"}. */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_NAME 256
#define MAX_ROUTES 256
#define MAX_VALUE 4096

enum { BY_RESOURCE, BY_ITEM, BY_CLIENT, BY_HASH };

typedef struct {
  char value[MAX_NAME];
  uint8_t route;
} entry;

static int by;
static char key[MAX_NAME];
static entry routes[MAX_ROUTES];
static size_t route_count;
static char table[MAX_NAME];
static char field[MAX_NAME] = "route";
static uint32_t buckets;
static uint8_t fallback;

static uint8_t* out;
static size_t out_cap;
static weft_row row = WEFT_ROW_INIT;
static char client_value[MAX_VALUE];

static int fail(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

static int read_route(weft_json v, uint8_t* route) {
  double d;
  if (!weft_json_number(v, &d) || d < 0 || d > 255 || d != (double)(int)d) return 0;
  *route = (uint8_t)d;
  return 1;
}

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  char mode[16] = "resource";
  weft_json m = weft_json_get(config, "by");
  if (m.len != 0 && weft_json_string(m, mode, sizeof mode) <= 0) {
    return fail("route: config.by must be resource, item, client or hash");
  }
  if (strcmp(mode, "resource") == 0) {
    by = BY_RESOURCE;
  } else if (strcmp(mode, "item") == 0) {
    by = BY_ITEM;
  } else if (strcmp(mode, "client") == 0) {
    by = BY_CLIENT;
  } else if (strcmp(mode, "hash") == 0) {
    by = BY_HASH;
  } else {
    return fail("route: config.by must be resource, item, client or hash");
  }
  if (weft_json_string(weft_json_get(config, "key"), key, sizeof key) <= 0) {
    return fail("route: config.key must name what to route on");
  }
  route_count = 0;
  weft_json r = weft_json_get(config, "routes");
  size_t it = 0;
  weft_json name, value;
  while (r.len != 0 && weft_json_member_next(r, &it, &name, &value)) {
    if (route_count == MAX_ROUTES) return fail("route: at most 256 entries in config.routes");
    entry* e = &routes[route_count];
    if (weft_json_string(name, e->value, MAX_NAME) < 0 || !read_route(value, &e->route)) {
      return fail("route: config.routes must map values to route numbers (0-255)");
    }
    route_count++;
  }
  table[0] = 0;
  weft_json t = weft_json_get(config, "table");
  if (t.len != 0 && weft_json_string(t, table, sizeof table) <= 0) {
    return fail("route: config.table must name a table of service.tables");
  }
  weft_json f = weft_json_get(config, "field");
  if (f.len != 0 && weft_json_string(f, field, sizeof field) <= 0) {
    return fail("route: config.field must name a field of the table");
  }
  buckets = 0;
  weft_json b = weft_json_get(config, "buckets");
  double d = 0;
  if (b.len != 0 && (!weft_json_number(b, &d) || d < 1 || d > 254)) {
    return fail("route: config.buckets must be 1 to 254");
  }
  buckets = (uint32_t)d;
  if (by == BY_HASH && buckets == 0) return fail("route: by hash needs config.buckets");
  if (by != BY_HASH && route_count == 0 && table[0] == 0) {
    return fail("route: config.routes or config.table must say where values go");
  }
  fallback = 0;
  weft_json def = weft_json_get(config, "default");
  if (def.len != 0 && !read_route(def, &fallback)) {
    return fail("route: config.default must be a route number (0-255)");
  }
  return WEFT_OK;
}

/* FNV-1a, 32 bits. */
static uint32_t hash(const uint8_t* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static double matched, defaulted;

/* The route of a value; the fallback if it has none. */
static uint8_t route_of(const uint8_t* value, size_t len) {
  if (by == BY_HASH) {
    matched++;
    return (uint8_t)(1 + hash(value, len) % buckets);
  }
  for (size_t k = 0; k < route_count; k++) {
    if (strlen(routes[k].value) == len && memcmp(routes[k].value, value, len) == 0) {
      matched++;
      return routes[k].route;
    }
  }
  if (table[0] != 0 && weft_lookup(table, value, len, &row) == 0) {
    weft_bytes v;
    if (weft_row_get(&row, field, &v) && v.len > 0 && v.len < 4) {
      int n = 0;
      for (size_t i = 0; i < v.len; i++) n = n * 10 + (v.data[i] - '0');
      if (n >= 0 && n <= 255) {
        matched++;
        return (uint8_t)n;
      }
    }
  }
  defaulted++;
  return fallback;
}

/* The value of `key` for an item: the item's attribute, then its resource's (by item), or the
 * resource's (by resource); the trace id for by hash on "trace_id". 0 if it has none. */
static int value_of(const weft_item* item, weft_signal signal, weft_bytes* v) {
  weft_value a;
  if (by == BY_HASH && signal == WEFT_TRACES && strcmp(key, "trace_id") == 0) {
    *v = weft_pb_bytes(item->item, WEFT_SPAN_TRACE_ID);
    return v->len > 0;
  }
  if (by != BY_RESOURCE && weft_attr_find(item->item, item->attributes_field, key, &a) &&
      a.type == WEFT_VALUE_STRING) {
    *v = a.str;
    return 1;
  }
  if (weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, key, &a) &&
      a.type == WEFT_VALUE_STRING) {
    *v = a.str;
    return 1;
  }
  return 0;
}

static int process(const weft_batch* batch) {
  if (batch->item_count > out_cap) {
    uint8_t* grown = realloc(out, batch->item_count);
    if (grown == NULL) return fail("route: out of memory");
    out = grown;
    out_cap = batch->item_count;
  }
  matched = defaulted = 0;
  if (by == BY_CLIENT) { /* one client per batch: one route */
    int n = weft_client_info(key, client_value, sizeof client_value);
    uint8_t r = fallback;
    if (n >= 0 && (size_t)n < sizeof client_value) {
      r = route_of((const uint8_t*)client_value, (size_t)n);
    } else {
      defaulted++;
    }
    memset(out, r, batch->item_count);
    if (r != fallback || n >= 0) matched = r == fallback ? 0 : (double)batch->item_count;
    defaulted = r == fallback ? (double)batch->item_count : 0;
  } else {
    weft_items items;
    weft_items_init(&items, batch);
    size_t last_resource = (size_t)-1;
    uint8_t resource_route = fallback;
    while (weft_items_next(&items)) {
      const weft_item* item = &items.current;
      if (by == BY_RESOURCE && item->resource_index == last_resource) {
        out[item->index] = resource_route;
        continue;
      }
      weft_bytes v;
      uint8_t r = fallback;
      if (value_of(item, batch->signal, &v)) {
        r = route_of(v.data, v.len);
      } else {
        defaulted++;
      }
      if (by == BY_RESOURCE) {
        last_resource = item->resource_index;
        resource_route = r;
      }
      out[item->index] = r;
    }
  }
  if (matched > 0) weft_counter_add("route_items", matched, "result=matched");
  if (defaulted > 0) weft_counter_add("route_items", defaulted, "result=default");
  return weft_route(out, batch->item_count) == 0 ? WEFT_OK : fail("route: weft refused the routes");
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
