/* enrich: business and cost tags from a lookup table. Joins an attribute of each resource
 * (or each item) against a table the operator declared in service.tables and adds the row's
 * fields as attributes, with defaults for misses.
 *
 * config: {"table": "teams",                 the table (granted in permissions.tables)
 *          "key": "service.name",            the attribute joined on
 *          "from": "resource" | "item",      where the key is; default resource ("item"
 *                                            looks at the item, then at its resource)
 *          "to": "resource" | "item",        where the fields go; default: where the key was
 *          "fields": ["team", "owner"],      which of the row's fields; default all
 *          "prefix": "",                     put before each field's name
 *          "default": {"team": "unknown"},   set when the key is absent or has no row
 *          "override": false,                replace attributes that are already there
 *          "client": {"tenant": "auth.tenant"}}  attributes from who sent the batch (client_info:
 *                                            client.address, auth.<name>, metadata.<name>)
 * `table` and `key` may be left out when `client` is given.
 * Counted: weft_plugin_enrich_joins{result="hit"|"miss"|"no_key"}, one per
 * resource when the key is read from and written to resources, else one per item. */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_NAME 256
#define MAX_FIELDS 64
#define MAX_VALUE 4096

typedef struct {
  char name[MAX_NAME];
  char value[MAX_VALUE];
} pair;

static char table[MAX_NAME];
static char key[MAX_NAME];
static char prefix[MAX_NAME];
static int from_item;
static int to_item;
static int override;
static char fields[MAX_FIELDS][MAX_NAME];
static size_t field_count; /* 0: every field of the row */
static pair defaults[MAX_FIELDS];
static size_t default_count;

static pair client_fields[MAX_FIELDS]; /* name: the attribute; value: the client_info key */
static size_t client_count;
/* This batch's values of client_fields (one batch comes from one client): -1 if absent. */
static char client_values[MAX_FIELDS][MAX_VALUE];
static int client_lengths[MAX_FIELDS];

static weft_row row = WEFT_ROW_INIT;
static char name_buf[2 * MAX_NAME];

static int fail(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

static int read_where(weft_json config, const char* member, int* item) {
  weft_json v = weft_json_get(config, member);
  if (v.len == 0) return 1;
  char text[16];
  if (weft_json_string(v, text, sizeof text) < 0) return 0;
  if (strcmp(text, "item") == 0) {
    *item = 1;
  } else if (strcmp(text, "resource") == 0) {
    *item = 0;
  } else {
    return 0;
  }
  return 1;
}

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  field_count = default_count = client_count = 0;
  from_item = override = 0;
  prefix[0] = 0;
  table[0] = key[0] = 0;
  weft_json client = weft_json_get(config, "client");
  size_t member = 0;
  weft_json client_name, client_key;
  while (client.len != 0 && weft_json_member_next(client, &member, &client_name, &client_key)) {
    if (client_count == MAX_FIELDS) return fail("enrich: at most 64 client attributes");
    pair* c = &client_fields[client_count];
    if (weft_json_string(client_name, c->name, MAX_NAME) <= 0 ||
        weft_json_string(client_key, c->value, MAX_NAME) <= 0) {
      return fail("enrich: config.client must map attribute names to client_info keys");
    }
    client_count++;
  }
  weft_json t = weft_json_get(config, "table");
  if ((t.len != 0 || client_count == 0) && weft_json_string(t, table, sizeof table) <= 0) {
    return fail("enrich: config.table must name a table of service.tables");
  }
  if (table[0] != 0 && weft_json_string(weft_json_get(config, "key"), key, sizeof key) <= 0) {
    return fail("enrich: config.key must name the attribute to join on (service.name, ...)");
  }
  if (!read_where(config, "from", &from_item)) {
    return fail("enrich: config.from must be resource or item");
  }
  to_item = from_item;
  if (!read_where(config, "to", &to_item))
    return fail("enrich: config.to must be resource or item");
  weft_json p = weft_json_get(config, "prefix");
  if (p.len != 0 && weft_json_string(p, prefix, sizeof prefix) < 0) {
    return fail("enrich: config.prefix must be a string");
  }
  weft_json o = weft_json_get(config, "override");
  if (o.len != 0 && !weft_json_bool(o, &override)) {
    return fail("enrich: config.override must be true or false");
  }
  weft_json list = weft_json_get(config, "fields");
  size_t it = 0;
  weft_json element;
  while (list.len != 0 && weft_json_next(list, &it, &element)) {
    if (field_count == MAX_FIELDS) return fail("enrich: at most 64 fields");
    if (weft_json_string(element, fields[field_count], MAX_NAME) <= 0) {
      return fail("enrich: config.fields must be a list of field names");
    }
    field_count++;
  }
  weft_json defs = weft_json_get(config, "default");
  it = 0;
  weft_json name, value;
  while (defs.len != 0 && weft_json_member_next(defs, &it, &name, &value)) {
    if (default_count == MAX_FIELDS) return fail("enrich: at most 64 defaults");
    pair* d = &defaults[default_count];
    if (weft_json_string(name, d->name, MAX_NAME) <= 0 ||
        weft_json_string(value, d->value, MAX_VALUE) < 0) {
      return fail("enrich: config.default must map field names to strings");
    }
    default_count++;
  }
  return WEFT_OK;
}

static int wanted(weft_bytes name) {
  if (field_count == 0) return 1;
  for (size_t k = 0; k < field_count; k++) {
    if (weft_bytes_eq(name, fields[k])) return 1;
  }
  return 0;
}

/* prefix + name, NUL-terminated, in name_buf; 0 if too long. */
static const char* attribute_name(const uint8_t* name, size_t len) {
  size_t n = strlen(prefix);
  if (n + len + 1 > sizeof name_buf) return NULL;
  memcpy(name_buf, prefix, n);
  memcpy(name_buf + n, name, len);
  name_buf[n + len] = 0;
  return name_buf;
}

/* Whether the attribute (name_buf) is already set where the fields go. */
static int present(const weft_item* item, const char* attribute) {
  weft_value existing;
  return to_item ? weft_attr_find(item->item, item->attributes_field, attribute, &existing)
                 : weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, attribute, &existing);
}

static void set(weft_edits* edits, const weft_item* item, const char* attribute, const void* value,
                size_t len) {
  if (!override && present(item, attribute)) return;
  const int target = to_item ? WEFT_TARGET_ITEM : WEFT_TARGET_RESOURCE;
  const size_t index = to_item ? item->index : item->resource_index;
  weft_edit_set_string(edits, target, index, attribute, (const char*)value, len);
}

/* The join key of an item: from the item (then its resource) or from its resource. */
static int find_key(const weft_item* item, weft_value* value) {
  if (from_item && weft_attr_find(item->item, item->attributes_field, key, value) &&
      value->type == WEFT_VALUE_STRING) {
    return 1;
  }
  return weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, key, value) &&
         value->type == WEFT_VALUE_STRING;
}

static double hits, misses, no_key;

static void enrich_item(weft_edits* edits, const weft_item* item) {
  for (size_t c = 0; c < client_count; c++) {
    if (client_lengths[c] >= 0) {
      set(edits, item, client_fields[c].name, client_values[c], (size_t)client_lengths[c]);
    }
  }
  if (table[0] == 0) return;
  weft_value k;
  int found = 0;
  if (!find_key(item, &k)) {
    no_key++;
  } else {
    int rc = weft_lookup(table, k.str.data, k.str.len, &row);
    found = rc == 0;
    if (found) {
      hits++;
    } else {
      misses++;
    }
  }
  if (found) {
    size_t it = 0;
    weft_bytes name, value;
    while (weft_row_next(&row, &it, &name, &value)) {
      if (!wanted(name)) continue;
      const char* attribute = attribute_name(name.data, name.len);
      if (attribute != NULL) set(edits, item, attribute, value.data, value.len);
    }
  }
  for (size_t d = 0; d < default_count; d++) {
    if (found) {
      weft_bytes ignored;
      if (weft_row_get(&row, defaults[d].name, &ignored)) continue; /* the row has it */
    }
    const char* attribute =
        attribute_name((const uint8_t*)defaults[d].name, strlen(defaults[d].name));
    if (attribute != NULL)
      set(edits, item, attribute, defaults[d].value, strlen(defaults[d].value));
  }
}

static int process(const weft_batch* batch) {
  weft_items items;
  weft_items_init(&items, batch);
  weft_edits edits;
  weft_edits_init(&edits);
  hits = misses = no_key = 0;
  for (size_t c = 0; c < client_count; c++) {
    int n = weft_client_info(client_fields[c].value, client_values[c], MAX_VALUE);
    client_lengths[c] = n < MAX_VALUE ? n : -1;
  }
  size_t last_resource = (size_t)-1;
  while (weft_items_next(&items)) {
    const weft_item* item = &items.current;
    /* Joined on the resource and written to it: once per resource. */
    if (!from_item && !to_item) {
      if (item->resource_index == last_resource) continue;
      last_resource = item->resource_index;
    }
    enrich_item(&edits, item);
  }
  if (edits.failed) {
    weft_edits_free(&edits);
    return fail("enrich: out of memory");
  }
  if (hits > 0) weft_counter_add("enrich_joins", hits, "result=hit");
  if (misses > 0) weft_counter_add("enrich_joins", misses, "result=miss");
  if (no_key > 0) weft_counter_add("enrich_joins", no_key, "result=no_key");
  int rc = weft_edits_submit(&edits);
  return rc == 0 ? WEFT_OK : fail("enrich: weft refused the edit list");
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
