/* redact: replaces e-mail addresses, payment card numbers and IP addresses in the string
 * attributes of spans, log records and data points, in the string attributes of their
 * resources, and in string log bodies, with an edit list weft applies natively.
 *
 * config: {"mode": "mask" | "hash",                        default "mask"
 *          "mask": "****",                                  the replacement in mask mode
 *          "allow_keys": ["user.id", ...],                  attributes never redacted (exact key)
 *          "kinds": ["email", "card", "ipv4", "ipv6"],      what to look for; default all
 *          "bodies": true}                                  log bodies too; default true
 * In hash mode a match becomes "sha256:" + the first 16 hex characters of its SHA-256, so
 * the same value always gives the same token.
 *
 * What is found (ASCII; see README.md):
 *   email  local@domain.tld: local part [A-Za-z0-9._%+-]+, two or more dot-separated labels
 *          [A-Za-z0-9-]+ (not starting or ending with '-'), the last one two or more letters
 *   card   13-19 digits, groups optionally separated by one space or dash, passing Luhn
 *   ipv4   four dotted octets 0-255, not part of a longer dotted number
 *   ipv6   hex groups of 1-4 digits, full (8 groups) or compressed with one "::", optionally
 *          ending in an IPv4 address; at least one group
 * A card number or IP address glued to a letter, digit or '_' is not a match. */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_MASK 256
#define MAX_KEY 1024          /* an allow_keys entry */
#define MAX_VALUE (64 * 1024) /* longer strings pass unchanged */
#define HASH_PREFIX "sha256:"
#define HASH_HEX 16

enum { KIND_EMAIL, KIND_CARD, KIND_IPV4, KIND_IPV6, KIND_COUNT };
static const char* const kind_names[KIND_COUNT] = {"email", "card", "ipv4", "ipv6"};
static const char* const kind_labels[KIND_COUNT] = {"kind=email", "kind=card", "kind=ipv4",
                                                    "kind=ipv6"};

typedef struct {
  char* key;
  size_t len;
} allow_key;

static int hash_mode;
static char mask[MAX_MASK + 1];
static size_t mask_len;
static int enabled[KIND_COUNT];
static int any_enabled;
static int redact_bodies;
static allow_key* allow;
static size_t allow_count;

/* Reused between calls: the redacted text of one value and a NUL-terminated key. */
static char* out;
static size_t out_len, out_cap;
static char* key_buf;
static size_t key_cap;

static int fail(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

/* "prefix" + value + "suffix" as the error, cut to fit. */
static int fail_with(const char* prefix, const char* value, const char* suffix) {
  char message[256];
  size_t n = 0;
  const char* parts[3] = {prefix, value, suffix};
  for (int k = 0; k < 3; k++) {
    for (const char* p = parts[k]; *p && n + 1 < sizeof message; p++) message[n++] = *p;
  }
  message[n] = 0;
  return fail(message);
}

/* ---- configuration ------------------------------------------------------------------------ */

static void reset(void) {
  for (size_t k = 0; k < allow_count; k++) free(allow[k].key);
  free(allow);
  allow = NULL;
  allow_count = 0;
  hash_mode = 0;
  memcpy(mask, "****", 5);
  mask_len = 4;
  for (int k = 0; k < KIND_COUNT; k++) enabled[k] = 1;
  any_enabled = 1;
  redact_bodies = 1;
}

static int configure_kinds(weft_json list) {
  if (!weft_json_is(list, '['))
    return fail("config.kinds must be a list of email, card, ipv4, ipv6");
  for (int k = 0; k < KIND_COUNT; k++) enabled[k] = 0;
  any_enabled = 0;
  size_t it = 0;
  weft_json entry;
  while (weft_json_next(list, &it, &entry)) {
    char name[16];
    if (!weft_json_is(entry, '"') || weft_json_string(entry, name, sizeof name) < 0) {
      return fail("config.kinds: every kind is one of email, card, ipv4, ipv6");
    }
    int found = 0;
    for (int k = 0; k < KIND_COUNT; k++) {
      if (strcmp(name, kind_names[k]) == 0) {
        enabled[k] = found = any_enabled = 1;
      }
    }
    if (!found)
      return fail_with("config.kinds: unknown kind \"", name, "\" (email, card, ipv4, ipv6)");
  }
  return WEFT_OK;
}

static int configure_allow_keys(weft_json list) {
  if (!weft_json_is(list, '[')) return fail("config.allow_keys must be a list of attribute keys");
  size_t it = 0, n = 0;
  weft_json entry;
  while (weft_json_next(list, &it, &entry)) n++;
  if (n == 0) return WEFT_OK;
  allow = (allow_key*)calloc(n, sizeof *allow);
  if (!allow) return fail("out of memory for config.allow_keys");
  char key[MAX_KEY];
  it = 0;
  while (weft_json_next(list, &it, &entry)) {
    int len = weft_json_is(entry, '"') ? weft_json_string(entry, key, sizeof key) : -1;
    if (len < 0)
      return fail("config.allow_keys: every entry must be a string (at most 1023 bytes)");
    allow[allow_count].key = (char*)malloc((size_t)len + 1);
    if (!allow[allow_count].key) return fail("out of memory for config.allow_keys");
    memcpy(allow[allow_count].key, key, (size_t)len + 1);
    allow[allow_count++].len = (size_t)len;
  }
  return WEFT_OK;
}

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json v;
  reset();
  if ((v = weft_json_get(root, "mode")).len) {
    char mode[16];
    if (!weft_json_is(v, '"') || weft_json_string(v, mode, sizeof mode) < 0) {
      return fail("config.mode must be \"mask\" or \"hash\"");
    }
    if (strcmp(mode, "hash") == 0) {
      hash_mode = 1;
    } else if (strcmp(mode, "mask") != 0) {
      return fail_with("config.mode: unknown mode \"", mode, "\" (mask or hash)");
    }
  }
  if ((v = weft_json_get(root, "mask")).len) {
    int n = weft_json_is(v, '"') ? weft_json_string(v, mask, sizeof mask) : -1;
    if (n < 0) return fail("config.mask must be a string of at most 256 bytes (quote it in YAML)");
    mask_len = (size_t)n;
  }
  if ((v = weft_json_get(root, "bodies")).len && !weft_json_bool(v, &redact_bodies)) {
    return fail("config.bodies must be true or false");
  }
  if ((v = weft_json_get(root, "kinds")).len && configure_kinds(v) != WEFT_OK) return WEFT_ERROR;
  if ((v = weft_json_get(root, "allow_keys")).len && configure_allow_keys(v) != WEFT_OK) {
    return WEFT_ERROR;
  }
  return WEFT_OK;
}

/* ---- matching ------------------------------------------------------------------------------ */

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}
static int is_alpha(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_hex(uint8_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_word(uint8_t c) {
  return is_digit(c) || is_alpha(c) || c == '_';
}
static int is_local(uint8_t c) { /* e-mail local part */
  return is_digit(c) || is_alpha(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
static int is_label(uint8_t c) { /* domain label */
  return is_digit(c) || is_alpha(c) || c == '-';
}

/* A number may start at i: not glued to a word, nor right after "<digit>." */
static int number_starts(const uint8_t* s, size_t i) {
  if (i == 0) return 1;
  if (is_word(s[i - 1])) return 0;
  return !(s[i - 1] == '.' && i >= 2 && is_digit(s[i - 2]));
}

/* A number may end at j: not glued to a word, nor followed by ".<digit>" */
static int number_ends(const uint8_t* s, size_t n, size_t j) {
  if (j >= n) return 1;
  if (is_word(s[j])) return 0;
  return !(s[j] == '.' && j + 1 < n && is_digit(s[j + 1]));
}

/* An e-mail address in the run of local-part characters starting at i (tried only at the
 * start of such a run). Returns its end and sets *start (leading dots are left out), or 0. */
static size_t match_email(const uint8_t* s, size_t n, size_t i, size_t* start) {
  if (!is_local(s[i]) || (i > 0 && is_local(s[i - 1]))) return 0;
  size_t at = i;
  while (at < n && is_local(s[at])) at++;
  if (at >= n || s[at] != '@') return 0;
  size_t first = i;
  while (first < at && s[first] == '.') first++;
  if (first == at) return 0;
  size_t p = at + 1, labels = 0, last = p;
  for (;;) {
    size_t q = p;
    while (q < n && is_label(s[q])) q++;
    if (q == p || s[p] == '-' || s[q - 1] == '-') return 0;
    labels++;
    last = p;
    p = q;
    if (p + 1 < n && s[p] == '.' && is_label(s[p + 1])) {
      p++;
      continue;
    }
    break;
  }
  if (labels < 2 || p - last < 2) return 0;
  for (size_t k = last; k < p; k++) {
    if (!is_alpha(s[k])) return 0;
  }
  *start = first;
  return p;
}

static int luhn(const uint8_t* digits, size_t n) {
  unsigned sum = 0;
  for (size_t k = 0; k < n; k++) {
    unsigned d = digits[n - 1 - k];
    if (k & 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

/* A card number starting at i: the longest run of whole digit groups (separated by one space
 * or dash) with 13-19 digits that passes Luhn. Returns its end or 0. */
static size_t match_card(const uint8_t* s, size_t n, size_t i) {
  if (!is_digit(s[i]) || !number_starts(s, i)) return 0;
  uint8_t digits[19];
  size_t count = 0, p = i, best = 0;
  for (;;) {
    size_t q = p;
    while (q < n && is_digit(s[q])) {
      if (count == sizeof digits) return best; /* more than 19 digits */
      digits[count++] = (uint8_t)(s[q++] - '0');
    }
    if (count >= 13 && number_ends(s, n, q) && luhn(digits, count)) best = q;
    if (q + 1 < n && (s[q] == ' ' || s[q] == '-') && is_digit(s[q + 1])) {
      p = q + 1;
    } else {
      return best;
    }
  }
}

/* Four dotted octets 0-255 at i, not followed by more of a dotted number; end or 0. */
static size_t parse_ipv4(const uint8_t* s, size_t n, size_t i) {
  size_t p = i;
  for (int octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (p >= n || s[p] != '.') return 0;
      p++;
    }
    size_t q = p;
    unsigned v = 0;
    while (q < n && is_digit(s[q])) {
      if (q - p == 3) return 0;
      v = v * 10 + (unsigned)(s[q++] - '0');
    }
    if (q == p || v > 255) return 0;
    p = q;
  }
  return number_ends(s, n, p) ? p : 0;
}

static size_t match_ipv4(const uint8_t* s, size_t n, size_t i) {
  if (!is_digit(s[i]) || !number_starts(s, i)) return 0;
  return parse_ipv4(s, n, i);
}

/* An IPv6 address starting at i; end or 0. */
static size_t match_ipv6(const uint8_t* s, size_t n, size_t i) {
  if (i > 0 && (is_word(s[i - 1]) || s[i - 1] == ':')) return 0;
  size_t p = i;
  int groups = 0, compressed = 0;
  if (s[p] == ':') {
    if (p + 1 >= n || s[p + 1] != ':') return 0;
    compressed = 1;
    p += 2;
  } else if (!is_hex(s[p])) {
    return 0;
  }
  while (p < n && is_hex(s[p])) {
    size_t run = 0;
    while (p + run < n && is_hex(s[p + run])) {
      if (++run > 4) return 0;
    }
    if (p + run + 1 < n && s[p + run] == '.' && is_digit(s[p + run + 1])) { /* IPv4 ending */
      if (groups == 0 && !compressed) return 0;
      size_t end = parse_ipv4(s, n, p);
      if (end == 0) return 0;
      groups += 2;
      p = end;
      break;
    }
    groups++;
    p += run;
    if (groups > 8) return 0;
    if (p + 1 < n && s[p] == ':' && s[p + 1] == ':') {
      if (compressed) return 0;
      compressed = 1;
      p += 2;
    } else if (p + 1 < n && s[p] == ':' && is_hex(s[p + 1])) {
      p++;
    } else {
      break;
    }
  }
  if (p < n && (is_word(s[p]) || (s[p] == ':' && p + 1 < n && s[p + 1] == ':') ||
                (s[p] == '.' && p + 1 < n && is_digit(s[p + 1])))) {
    return 0;
  }
  if (groups == 0 || (compressed ? groups > 7 : groups != 8)) return 0;
  return p;
}

/* ---- redaction ----------------------------------------------------------------------------- */

static int append(const void* data, size_t n) {
  if (out_len + n > out_cap) {
    size_t cap = out_cap ? out_cap : 1024;
    while (cap < out_len + n) cap *= 2;
    char* grown = (char*)realloc(out, cap);
    if (!grown) return 0;
    out = grown;
    out_cap = cap;
  }
  if (n) memcpy(out + out_len, data, n);
  out_len += n;
  return 1;
}

static int append_replacement(const uint8_t* match, size_t n) {
  if (!hash_mode) return append(mask, mask_len);
  char digest[65];
  weft_sha256_hex(match, n, digest);
  return append(HASH_PREFIX, sizeof HASH_PREFIX - 1) && append(digest, HASH_HEX);
}

/* Writes s[0..n) with its matches replaced to `out`; returns the number of matches (0: the
 * value stays as it is) with their kinds added to counts, or -1 when out of memory. */
static long redact(const uint8_t* s, size_t n, unsigned long counts[KIND_COUNT]) {
  size_t i = 0, copied = 0;
  long found = 0;
  out_len = 0;
  while (i < n) {
    size_t start = i, end = 0;
    int kind = -1;
    if (enabled[KIND_EMAIL] && (end = match_email(s, n, i, &start)) != 0) {
      kind = KIND_EMAIL;
    } else if (enabled[KIND_CARD] && (end = match_card(s, n, i)) != 0) {
      kind = KIND_CARD;
    } else if (enabled[KIND_IPV6] && (end = match_ipv6(s, n, i)) != 0) {
      kind = KIND_IPV6;
    } else if (enabled[KIND_IPV4] && (end = match_ipv4(s, n, i)) != 0) {
      kind = KIND_IPV4;
    }
    if (kind < 0) {
      /* No match starts right after a word character: skip the rest of a word at once. */
      for (i++; i < n && is_word(s[i - 1]); i++) {
      }
      continue;
    }
    if (!append(s + copied, start - copied) || !append_replacement(s + start, end - start)) {
      return -1;
    }
    counts[kind]++;
    found++;
    copied = i = end;
  }
  if (found && !append(s + copied, n - copied)) return -1;
  return found;
}

static int allowed(weft_bytes key) {
  for (size_t k = 0; k < allow_count; k++) {
    if (allow[k].len == key.len && memcmp(allow[k].key, key.data, key.len) == 0) return 1;
  }
  return 0;
}

/* 1 if an attribute before offset `before` of message m has this key: weft edits the first
 * attribute of a key, so a later duplicate cannot be edited on its own. */
static int earlier_duplicate(weft_bytes m, uint32_t field, size_t before, weft_bytes key) {
  size_t it = 0;
  weft_bytes k;
  weft_value v;
  while (weft_attr_next(m, field, &it, &k, &v) && it <= before) {
    if (k.len == key.len && memcmp(k.data, key.data, key.len) == 0) return 1;
  }
  return 0;
}

/* The key as a C string for the edit list; NULL without memory. */
static const char* key_string(weft_bytes key) {
  if (key.len + 1 > key_cap) {
    char* grown = (char*)realloc(key_buf, key.len + 1);
    if (!grown) return NULL;
    key_buf = grown;
    key_cap = key.len + 1;
  }
  if (key.len) memcpy(key_buf, key.data, key.len);
  key_buf[key.len] = 0;
  return key_buf;
}

/* Adds a set-string edit for every string attribute (field `field` of m) with a match.
 * Returns 0 when out of memory. */
static int redact_attributes(weft_edits* e, weft_bytes m, uint32_t field, int target, size_t index,
                             unsigned long counts[KIND_COUNT]) {
  size_t it = 0, before = 0;
  weft_bytes key;
  weft_value v;
  for (; weft_attr_next(m, field, &it, &key, &v); before = it) {
    if (v.type != WEFT_VALUE_STRING || v.str.len == 0 || v.str.len > MAX_VALUE) continue;
    if (allowed(key) || (key.len && memchr(key.data, 0, key.len))) continue;
    unsigned long found[KIND_COUNT] = {0};
    long n = redact(v.str.data, v.str.len, found);
    if (n < 0) return 0;
    if (n == 0 || earlier_duplicate(m, field, before, key)) continue;
    const char* k = key_string(key);
    if (!k) return 0;
    weft_edit_set_string(e, target, index, k, out, out_len);
    for (int x = 0; x < KIND_COUNT; x++) counts[x] += found[x];
  }
  return 1;
}

static int redact_body(weft_edits* e, const weft_item* item, unsigned long counts[KIND_COUNT]) {
  weft_value body = weft_value_read(weft_pb_bytes(item->item, WEFT_LOG_BODY));
  if (body.type != WEFT_VALUE_STRING || body.str.len == 0 || body.str.len > MAX_VALUE) return 1;
  long n = redact(body.str.data, body.str.len, counts);
  if (n < 0) return 0;
  if (n > 0) weft_edit_set_body(e, item->index, out, out_len);
  return 1;
}

static int process(const weft_batch* batch) {
  if (!any_enabled) return WEFT_OK;
  unsigned long counts[KIND_COUNT] = {0};
  int ok = 1;
  weft_edits e;
  weft_edits_init(&e);

  /* Resources once each (every item of a resource shares it), by their number in the batch. */
  weft_reader r;
  weft_field f;
  size_t resource_index = 0;
  weft_reader_init(&r, batch->request);
  while (ok && weft_reader_next(&r, &f)) {
    if (f.number != 1 || f.wire_type != 2) continue;
    weft_bytes resource = weft_pb_bytes(f.bytes, 1);
    ok = redact_attributes(&e, resource, WEFT_RESOURCE_ATTRIBUTES, WEFT_TARGET_RESOURCE,
                           resource_index++, counts);
  }

  const int bodies = redact_bodies && batch->signal == WEFT_LOGS;
  weft_items it;
  weft_items_init(&it, batch);
  while (ok && weft_items_next(&it)) {
    ok = redact_attributes(&e, it.current.item, it.current.attributes_field, WEFT_TARGET_ITEM,
                           it.current.index, counts);
    if (ok && bodies) ok = redact_body(&e, &it.current, counts);
  }

  if (!ok || e.failed) {
    weft_edits_free(&e);
    return fail("out of memory");
  }
  if (e.len == 0) { /* nothing found: the batch passes unchanged */
    weft_edits_free(&e);
    return WEFT_OK;
  }
  if (weft_edits_submit(&e) != 0) return fail("weft refused the edit list");
  for (int k = 0; k < KIND_COUNT; k++) {
    if (counts[k]) weft_counter_add("redact_redactions", (double)counts[k], kind_labels[k]);
  }
  return WEFT_OK;
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
