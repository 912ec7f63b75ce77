/* apikey: an authenticator plugin. A request's API key is looked up in a table of keys
 * (service.tables); a known key is allowed and its row's fields become attributes of the client
 * (its tenant), carried with the request's telemetry.
 *
 * config: {"table": "apikeys",       the table of keys (granted in permissions.tables)
 *          "header": "x-api-key",    where the key is; also "Authorization: ApiKey <key>" and
 *                                    "Authorization: Bearer <key>"
 *          "hashed": false}          the table holds SHA-256 hex digests of keys, not keys
 * A row with the field enabled = "false" refuses its key with 403; no key, or a key not in the
 * table, gets 401. */
#include <string.h>
#include <strings.h>

#include "weft.h"

#define MAX_NAME 128
#define MAX_KEY 512

static char table[MAX_NAME];
static char header[MAX_NAME];
static int hashed;
static weft_row row = WEFT_ROW_INIT;

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  if (weft_json_string(weft_json_get(config, "table"), table, sizeof table) <= 0) {
    weft_set_error("apikey: config.table must name the table of keys");
    return WEFT_ERROR;
  }
  strcpy(header, "x-api-key");
  weft_json h = weft_json_get(config, "header");
  if (h.len != 0 && weft_json_string(h, header, sizeof header) <= 0) {
    weft_set_error("apikey: config.header must be a header name");
    return WEFT_ERROR;
  }
  hashed = 0;
  weft_json x = weft_json_get(config, "hashed");
  if (x.len != 0 && !weft_json_bool(x, &hashed)) {
    weft_set_error("apikey: config.hashed must be true or false");
    return WEFT_ERROR;
  }
  return WEFT_OK;
}

/* The presented key, NUL-terminated in out; its length, or -1 if there is none. */
static int presented_key(char out[MAX_KEY]) {
  int n = weft_request_header(header, out, MAX_KEY);
  if (n > 0 && n < MAX_KEY) return n;
  char authorization[MAX_KEY + 16];
  n = weft_request_header("authorization", authorization, sizeof authorization);
  if (n <= 0 || n >= (int)sizeof authorization) return -1;
  static const char* const schemes[] = {"ApiKey ", "Bearer "};
  for (int s = 0; s < 2; s++) {
    size_t k = strlen(schemes[s]);
    if ((size_t)n > k && strncasecmp(authorization, schemes[s], k) == 0) {
      strcpy(out, authorization + k);
      return n - (int)k;
    }
  }
  return -1;
}

static int authenticate(weft_bytes headers) {
  (void)headers; /* read one by one with weft_request_header */
  char key[MAX_KEY];
  int n = presented_key(key);
  if (n <= 0) {
    weft_set_error("no API key");
    return WEFT_AUTH_UNAUTHENTICATED;
  }
  char digest[65];
  const char* lookup_key = key;
  if (hashed) {
    weft_sha256_hex(key, (size_t)n, digest);
    lookup_key = digest;
    n = 64;
  }
  int rc = weft_lookup(table, lookup_key, (size_t)n, &row);
  if (rc == -1) {
    weft_set_error("unknown API key");
    return WEFT_AUTH_UNAUTHENTICATED;
  }
  if (rc != 0) {
    weft_set_error("apikey: cannot read the table of keys");
    return 3; /* a failure of the plugin: weft answers 503 */
  }
  weft_bytes enabled;
  if (weft_row_get(&row, "enabled", &enabled) && weft_bytes_eq(enabled, "false")) {
    weft_set_error("API key disabled");
    return WEFT_AUTH_FORBIDDEN;
  }
  size_t it = 0;
  weft_bytes name, value;
  char attribute[MAX_NAME];
  while (weft_row_next(&row, &it, &name, &value)) {
    if (name.len == 0 || name.len >= sizeof attribute || weft_bytes_eq(name, "enabled")) continue;
    memcpy(attribute, name.data, name.len);
    attribute[name.len] = 0;
    weft_set_client_attribute(attribute, (const char*)value.data, value.len);
  }
  return WEFT_AUTH_ALLOW;
}

WEFT_PLUGIN(configure)
WEFT_AUTHENTICATE(authenticate)
