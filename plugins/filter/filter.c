/* filter: drops spans, log records or data points that match any rule.
 *
 * config: {"drop": [rule, ...]}; a rule holds when all its conditions hold:
 *   "name": "x"                 span name / metric name equals x
 *   "attribute": "k"            the item's attribute k ...
 *   "resource_attribute": "k"   ... or the resource's attribute k
 *     with one of: "equals": "v" | "not_equals": "v" | "prefix": "p" | "exists": true|false
 *                  "gt": n | "lt": n   (int or double attributes)
 *   "severity_below": n         log records with severity_number < n (and > 0)
 */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_RULES 32
#define MAX_TEXT 128

typedef enum { OP_NONE, OP_EQUALS, OP_NOT_EQUALS, OP_PREFIX, OP_EXISTS, OP_GT, OP_LT } op_kind;

typedef struct {
  char name[MAX_TEXT];
  char key[MAX_TEXT];
  int on_resource;
  op_kind op;
  char text[MAX_TEXT];
  double number;
  int exists;
  int severity_below;
} rule;

static rule rules[MAX_RULES];
static int rule_count;

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json drop = weft_json_get(root, "drop");
  rule_count = 0;
  if (drop.len == 0) return WEFT_OK; /* nothing to drop */
  if (!weft_json_is(drop, '[')) {
    weft_set_error("config.drop must be a list of rules");
    return WEFT_ERROR;
  }
  size_t it = 0;
  weft_json r;
  while (weft_json_next(drop, &it, &r)) {
    if (rule_count == MAX_RULES) {
      weft_set_error("config.drop has more than 32 rules");
      return WEFT_ERROR;
    }
    rule* x = &rules[rule_count++];
    memset(x, 0, sizeof *x);
    weft_json v;
    if ((v = weft_json_get(r, "name")).len) weft_json_string(v, x->name, MAX_TEXT);
    if ((v = weft_json_get(r, "attribute")).len) weft_json_string(v, x->key, MAX_TEXT);
    if ((v = weft_json_get(r, "resource_attribute")).len) {
      weft_json_string(v, x->key, MAX_TEXT);
      x->on_resource = 1;
    }
    if ((v = weft_json_get(r, "equals")).len) {
      x->op = OP_EQUALS;
      weft_json_string(v, x->text, MAX_TEXT);
    } else if ((v = weft_json_get(r, "not_equals")).len) {
      x->op = OP_NOT_EQUALS;
      weft_json_string(v, x->text, MAX_TEXT);
    } else if ((v = weft_json_get(r, "prefix")).len) {
      x->op = OP_PREFIX;
      weft_json_string(v, x->text, MAX_TEXT);
    } else if ((v = weft_json_get(r, "exists")).len) {
      x->op = OP_EXISTS;
      weft_json_bool(v, &x->exists);
    } else if ((v = weft_json_get(r, "gt")).len) {
      x->op = OP_GT;
      weft_json_number(v, &x->number);
    } else if ((v = weft_json_get(r, "lt")).len) {
      x->op = OP_LT;
      weft_json_number(v, &x->number);
    }
    double sev = 0;
    if ((v = weft_json_get(r, "severity_below")).len && weft_json_number(v, &sev)) {
      x->severity_below = (int)sev;
    }
    if (x->key[0] && x->op == OP_NONE) {
      weft_set_error("a rule with an attribute needs equals, not_equals, prefix, exists, gt or lt");
      return WEFT_ERROR;
    }
    if (!x->key[0] && !x->name[0] && !x->severity_below) {
      weft_set_error("a rule needs name, attribute, resource_attribute or severity_below");
      return WEFT_ERROR;
    }
  }
  return WEFT_OK;
}

static int value_matches(const rule* x, int found, const weft_value* v) {
  if (x->op == OP_EXISTS) return found == x->exists;
  if (!found) return x->op == OP_NOT_EQUALS;
  switch (x->op) {
    case OP_EQUALS:
    case OP_NOT_EQUALS: {
      int eq = v->type == WEFT_VALUE_STRING && weft_bytes_eq(v->str, x->text);
      return x->op == OP_EQUALS ? eq : !eq;
    }
    case OP_PREFIX: {
      size_t n = strlen(x->text);
      return v->type == WEFT_VALUE_STRING && v->str.len >= n &&
             memcmp(v->str.data, x->text, n) == 0;
    }
    case OP_GT:
    case OP_LT: {
      double d;
      if (v->type == WEFT_VALUE_INT)
        d = (double)v->i;
      else if (v->type == WEFT_VALUE_DOUBLE)
        d = v->d;
      else
        return 0;
      return x->op == OP_GT ? d > x->number : d < x->number;
    }
    default:
      return 0;
  }
}

static int rule_matches(const rule* x, weft_signal signal, const weft_item* item) {
  if (x->name[0]) {
    weft_bytes name = signal == WEFT_TRACES    ? weft_pb_bytes(item->item, WEFT_SPAN_NAME)
                      : signal == WEFT_METRICS ? weft_pb_bytes(item->metric, WEFT_METRIC_NAME)
                                               : (weft_bytes){NULL, 0};
    if (!weft_bytes_eq(name, x->name)) return 0;
  }
  if (x->severity_below) {
    if (signal != WEFT_LOGS) return 0;
    uint64_t sev = weft_pb_u64(item->item, WEFT_LOG_SEVERITY_NUMBER);
    if (sev == 0 || sev >= (uint64_t)x->severity_below) return 0;
  }
  if (x->key[0]) {
    weft_value v;
    int found = x->on_resource
                    ? weft_attr_find(item->resource, WEFT_RESOURCE_ATTRIBUTES, x->key, &v)
                    : weft_attr_find(item->item, item->attributes_field, x->key, &v);
    if (!value_matches(x, found, &v)) return 0;
  }
  return 1;
}

static int process(const weft_batch* batch) {
  if (rule_count == 0 || batch->item_count == 0) return WEFT_OK;
  static uint8_t* mask;
  static size_t mask_cap;
  if (mask_cap < batch->item_count) {
    free(mask);
    mask_cap = batch->item_count * 2;
    mask = (uint8_t*)malloc(mask_cap);
    if (!mask) {
      mask_cap = 0;
      weft_set_error("out of memory for the keep-mask");
      return WEFT_ERROR;
    }
  }
  size_t dropped = 0;
  weft_items it;
  weft_items_init(&it, batch);
  while (weft_items_next(&it)) {
    int drop = 0;
    for (int r = 0; r < rule_count && !drop; r++)
      drop = rule_matches(&rules[r], batch->signal, &it.current);
    mask[it.current.index] = (uint8_t)!drop;
    dropped += (size_t)drop;
  }
  if (dropped == 0) return WEFT_OK; /* unchanged: nothing is re-encoded */
  weft_counter_add("filter_dropped_items", (double)dropped, NULL);
  if (dropped == batch->item_count) return weft_drop_all() == 0 ? WEFT_OK : WEFT_ERROR;
  return weft_keep(mask, batch->item_count) == 0 ? WEFT_OK : WEFT_ERROR;
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
