/* geoip: geographic attributes from an IP address, looked up in a MaxMind DB table
 * (service.tables, format mmdb) and written with the OpenTelemetry semantic conventions.
 *
 * config: {"table": "geo",                      the mmdb table (granted in permissions.tables)
 *          "source": "client.address",          the attribute holding the address
 *          "from": "item" | "resource" | "client",  where it is; default item (then its
 *                                               resource); client: the address the request
 *                                               came from (client_info "client.address"),
 *                                               written to each resource
 *          "override": false}                   replace attributes that are already there
 * The attributes go where the address was found:
 *   geo.country.iso_code    country.iso_code, else country_code, else registered_country.iso_code
 *   geo.region.iso_code     subdivisions.0.iso_code as ISO 3166-2 ("US-CA")
 *   geo.locality.name       city.names.en
 *   geo.postal_code         postal.code
 *   geo.continent.code      continent.code
 *   geo.location.lat / lon  location.latitude / longitude (doubles)
 *   as.number / as.organization.name   autonomous_system_number / _organization
 * An address may carry a port ("10.1.2.3:443", "[2001:db8::1]:443"). Private, loopback,
 * link-local, shared (CGNAT), unspecified and invalid addresses are not looked up:
 * weft_plugin_geoip_items{result="hit"|"miss"|"private"|"invalid"|"no_address"}. */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_NAME 256
#define MAX_ADDRESS 64
#define CACHE_SIZE 1024

static char table[MAX_NAME];
static char source[MAX_NAME];
static int from_resource;
static int from_client;
static int override;

static weft_row row = WEFT_ROW_INIT;

static int fail(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  from_resource = from_client = override = 0;
  if (weft_json_string(weft_json_get(config, "table"), table, sizeof table) <= 0) {
    return fail("geoip: config.table must name an mmdb table of service.tables");
  }
  strcpy(source, "client.address");
  weft_json s = weft_json_get(config, "source");
  if (s.len != 0 && weft_json_string(s, source, sizeof source) <= 0) {
    return fail("geoip: config.source must name an attribute");
  }
  weft_json f = weft_json_get(config, "from");
  if (f.len != 0) {
    char where[16];
    if (weft_json_string(f, where, sizeof where) < 0) return fail("geoip: bad config.from");
    if (strcmp(where, "resource") == 0) {
      from_resource = 1;
    } else if (strcmp(where, "client") == 0) {
      from_client = 1;
    } else if (strcmp(where, "item") != 0) {
      return fail("geoip: config.from must be item, resource or client");
    }
  }
  weft_json o = weft_json_get(config, "override");
  if (o.len != 0 && !weft_json_bool(o, &override)) {
    return fail("geoip: config.override must be true or false");
  }
  return WEFT_OK;
}

/* ---- addresses ------------------------------------------------------------------------------ */

static int parse_ipv4(const char* s, size_t n, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || s[i] != '.') return 0;
      i++;
    }
    unsigned v = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (digits > 0 && v == 0) return 0; /* no leading zeros */
      v = v * 10 + (unsigned)(s[i] - '0');
      if (v > 255) return 0;
      i++;
      digits++;
    }
    if (digits == 0) return 0;
    out[part] = (uint8_t)v;
  }
  return i == n;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_ipv6(const char* s, size_t n, uint8_t out[16]) {
  uint16_t groups[8];
  int count = 0, gap = -1;
  size_t i = 0;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  } else if (n > 0 && s[0] == ':') {
    return 0;
  }
  while (i < n) {
    /* an embedded IPv4 address ends it */
    size_t j = i;
    while (j < n && s[j] != ':' && s[j] != '.') j++;
    if (j < n && s[j] == '.') {
      uint8_t v4[4];
      if (count > 6 || !parse_ipv4(s + i, n - i, v4)) return 0;
      groups[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
      groups[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
      i = n;
      break;
    }
    if (j == i || j - i > 4 || count == 8) return 0;
    unsigned v = 0;
    for (size_t k = i; k < j; k++) {
      int h = hex_value(s[k]);
      if (h < 0) return 0;
      v = v << 4 | (unsigned)h;
    }
    groups[count++] = (uint16_t)v;
    i = j;
    if (i < n) {
      i++; /* ':' */
      if (i < n && s[i] == ':') {
        if (gap >= 0) return 0;
        gap = count;
        i++;
      } else if (i == n) {
        return 0; /* a trailing single ':' */
      }
    }
  }
  if (gap < 0 && count != 8) return 0;
  if (gap >= 0 && count > 7) return 0;
  memset(out, 0, 16);
  int tail = gap < 0 ? 0 : count - gap;
  int head = count - tail;
  for (int g = 0; g < head; g++) {
    out[2 * g] = (uint8_t)(groups[g] >> 8);
    out[2 * g + 1] = (uint8_t)groups[g];
  }
  for (int g = 0; g < tail; g++) {
    int at = 8 - tail + g;
    out[2 * at] = (uint8_t)(groups[head + g] >> 8);
    out[2 * at + 1] = (uint8_t)groups[head + g];
  }
  return 1;
}

enum { ADDRESS_INVALID, ADDRESS_PRIVATE, ADDRESS_PUBLIC };

static int private_ipv4(const uint8_t a[4]) {
  return a[0] == 10 || a[0] == 127 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
         (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
         (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224;
}

/* The address without a port, NUL-terminated in out, and what kind it is. */
static int classify(weft_bytes text, char out[MAX_ADDRESS]) {
  const char* s = (const char*)text.data;
  size_t n = text.len;
  if (n > 2 && s[0] == '[') { /* [v6]:port */
    const char* close = memchr(s, ']', n);
    if (close == NULL) return ADDRESS_INVALID;
    n = (size_t)(close - s) - 1;
    s++;
  } else {
    const char* colon = memchr(s, ':', n);
    if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) == NULL) {
      n = (size_t)(colon - s); /* v4:port */
    }
  }
  if (n == 0 || n >= MAX_ADDRESS) return ADDRESS_INVALID;
  memcpy(out, s, n);
  out[n] = 0;
  uint8_t v4[4], v6[16];
  if (parse_ipv4(s, n, v4)) return private_ipv4(v4) ? ADDRESS_PRIVATE : ADDRESS_PUBLIC;
  if (!parse_ipv6(s, n, v6)) return ADDRESS_INVALID;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(v6, mapped, 12) == 0) return private_ipv4(v6 + 12) ? ADDRESS_PRIVATE : ADDRESS_PUBLIC;
  int zero = 1;
  for (int k = 0; k < 15; k++) zero = zero && v6[k] == 0;
  if (zero && (v6[15] == 0 || v6[15] == 1)) return ADDRESS_PRIVATE;    /* :: and ::1 */
  if ((v6[0] & 0xfe) == 0xfc) return ADDRESS_PRIVATE;                  /* fc00::/7 */
  if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) return ADDRESS_PRIVATE; /* fe80::/10 */
  if (v6[0] == 0xff) return ADDRESS_PRIVATE;                           /* multicast */
  return ADDRESS_PUBLIC;
}

/* ---- the attributes of one address ------------------------------------------------------------
 */

typedef struct {
  char country[8];
  char region[16];
  char locality[128];
  char postal[32];
  char continent[8];
  char asn[24];
  char as_org[128];
  double lat, lon;
  int has_location;
} geo;

static void copy_field(char* out, size_t cap, weft_bytes value) {
  size_t n = value.len < cap - 1 ? value.len : cap - 1;
  memcpy(out, value.data, n);
  out[n] = 0;
}

static double to_double(weft_bytes value) {
  char text[48];
  copy_field(text, sizeof text, value);
  return strtod(text, NULL);
}

static void read_geo(geo* g) {
  memset(g, 0, sizeof *g);
  weft_bytes v;
  if (weft_row_get(&row, "country.iso_code", &v) || weft_row_get(&row, "country_code", &v) ||
      weft_row_get(&row, "registered_country.iso_code", &v)) {
    copy_field(g->country, sizeof g->country, v);
  }
  if (weft_row_get(&row, "subdivisions.0.iso_code", &v) && v.len > 0) {
    if (memchr(v.data, '-', v.len) == NULL && g->country[0] != 0) {
      size_t c = strlen(g->country);
      memcpy(g->region, g->country, c);
      g->region[c] = '-';
      copy_field(g->region + c + 1, sizeof g->region - c - 1, v);
    } else {
      copy_field(g->region, sizeof g->region, v);
    }
  }
  if (weft_row_get(&row, "city.names.en", &v)) copy_field(g->locality, sizeof g->locality, v);
  if (weft_row_get(&row, "postal.code", &v)) copy_field(g->postal, sizeof g->postal, v);
  if (weft_row_get(&row, "continent.code", &v)) copy_field(g->continent, sizeof g->continent, v);
  if (weft_row_get(&row, "autonomous_system_number", &v)) copy_field(g->asn, sizeof g->asn, v);
  if (weft_row_get(&row, "autonomous_system_organization", &v)) {
    copy_field(g->as_org, sizeof g->as_org, v);
  }
  weft_bytes lat, lon;
  if (weft_row_get(&row, "location.latitude", &lat) &&
      weft_row_get(&row, "location.longitude", &lon)) {
    g->lat = to_double(lat);
    g->lon = to_double(lon);
    g->has_location = 1;
  }
}

/* The last lookups of this batch, by address (many items share a client). */
typedef struct {
  char address[MAX_ADDRESS];
  int found;
  geo g;
} cached;
static cached cache[CACHE_SIZE];
static int cache_used[CACHE_SIZE];

static unsigned hash(const char* s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* ---- processing --------------------------------------------------------------------------- */

static double counts[5];
enum { HIT, MISS, PRIVATE, INVALID, NO_ADDRESS };
static const char* const count_labels[5] = {"result=hit", "result=miss", "result=private",
                                            "result=invalid", "result=no_address"};

/* The item's own geo.* and as.* attributes, seen in the one pass that found its address: a
 * plugin that reads every item once is as fast in Wasm as natively. */
static int item_has_geo;

/* Whether the attribute may be written: absent where it goes, or override. */
static int writable(const weft_item* item, int target, const char* key) {
  weft_value existing;
  if (override) return 1;
  if (target == WEFT_TARGET_ITEM && !item_has_geo) return 1;
  return target == WEFT_TARGET_ITEM
             ? !weft_attr_find(item->item, item->attributes_field, key, &existing)
             : !weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, key, &existing);
}

/* One pass over the item's attributes: the address (1 if found) and whether any geo.* or as.*
 * attribute is there already. */
static int scan_item(const weft_item* item, weft_value* address) {
  size_t it = 0;
  weft_bytes key;
  weft_value value;
  int found = 0;
  const size_t source_len = strlen(source);
  item_has_geo = 0;
  while (weft_attr_next(item->item, item->attributes_field, &it, &key, &value)) {
    if (!found && key.len == source_len && memcmp(key.data, source, source_len) == 0 &&
        value.type == WEFT_VALUE_STRING) {
      *address = value;
      found = 1;
    } else if ((key.len > 4 && memcmp(key.data, "geo.", 4) == 0) ||
               (key.len > 3 && memcmp(key.data, "as.", 3) == 0)) {
      item_has_geo = 1;
    }
  }
  return found;
}

static size_t index_of(const weft_item* item, int target) {
  return target == WEFT_TARGET_ITEM ? item->index : item->resource_index;
}

static void set_string(weft_edits* e, const weft_item* item, int target, const char* key,
                       const char* value) {
  if (value[0] == 0 || !writable(item, target, key)) return;
  weft_edit_set_string(e, target, index_of(item, target), key, value, strlen(value));
}

static void write_geo(weft_edits* e, const weft_item* item, int target, const geo* g) {
  set_string(e, item, target, "geo.country.iso_code", g->country);
  set_string(e, item, target, "geo.region.iso_code", g->region);
  set_string(e, item, target, "geo.locality.name", g->locality);
  set_string(e, item, target, "geo.postal_code", g->postal);
  set_string(e, item, target, "geo.continent.code", g->continent);
  if (g->has_location) {
    if (writable(item, target, "geo.location.lat")) {
      weft_edit_set_double(e, target, index_of(item, target), "geo.location.lat", g->lat);
    }
    if (writable(item, target, "geo.location.lon")) {
      weft_edit_set_double(e, target, index_of(item, target), "geo.location.lon", g->lon);
    }
  }
  if (g->asn[0] != 0 && writable(item, target, "as.number")) {
    weft_edit_set_int(e, target, index_of(item, target), "as.number", strtoll(g->asn, NULL, 10));
  }
  set_string(e, item, target, "as.organization.name", g->as_org);
}

static size_t last_resource; /* the last resource written to, in this batch */

static void geolocate(weft_edits* e, const weft_item* item) {
  weft_value value;
  int target = WEFT_TARGET_RESOURCE;
  int found = 0;
  static char client_address[MAX_ADDRESS];
  if (from_client) {
    int n = weft_client_info("client.address", client_address, sizeof client_address);
    if (n > 0 && n < (int)sizeof client_address) {
      value.type = WEFT_VALUE_STRING;
      value.str.data = (const uint8_t*)client_address;
      value.str.len = (size_t)n;
      found = 1;
    }
  } else if (!from_resource && scan_item(item, &value)) {
    target = WEFT_TARGET_ITEM;
    found = 1;
  } else if (weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, source, &value) &&
             value.type == WEFT_VALUE_STRING) {
    found = 1;
  }
  if (!found) {
    counts[NO_ADDRESS]++;
    return;
  }
  if (target == WEFT_TARGET_RESOURCE) {
    if (item->resource_index == last_resource) return; /* done with its first item */
    last_resource = item->resource_index;
  }
  char address[MAX_ADDRESS];
  switch (classify(value.str, address)) {
    case ADDRESS_INVALID:
      counts[INVALID]++;
      return;
    case ADDRESS_PRIVATE:
      counts[PRIVATE]++;
      return;
    default:
      break;
  }
  unsigned slot = hash(address) % CACHE_SIZE;
  cached* c = &cache[slot];
  if (!cache_used[slot] || strcmp(c->address, address) != 0) {
    strcpy(c->address, address);
    cache_used[slot] = 1;
    c->found = weft_lookup(table, address, strlen(address), &row) == 0;
    if (c->found) read_geo(&c->g);
  }
  if (!c->found) {
    counts[MISS]++;
    return;
  }
  counts[HIT]++;
  write_geo(e, item, target, &c->g);
}

static int process(const weft_batch* batch) {
  memset(counts, 0, sizeof counts);
  memset(cache_used, 0, sizeof cache_used); /* the table may have changed since the last batch */
  last_resource = (size_t)-1;
  weft_items items;
  weft_items_init(&items, batch);
  weft_edits edits;
  weft_edits_init(&edits);
  while (weft_items_next(&items)) geolocate(&edits, &items.current);
  if (edits.failed) {
    weft_edits_free(&edits);
    return fail("geoip: out of memory");
  }
  for (int k = 0; k < 5; k++) {
    if (counts[k] > 0) weft_counter_add("geoip_items", counts[k], count_labels[k]);
  }
  return weft_edits_submit(&edits) == 0 ? WEFT_OK : fail("geoip: weft refused the edit list");
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
