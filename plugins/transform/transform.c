/* transform: sets, renames, deletes and hashes attributes of spans, log records,
 * data points and their resources, with an edit list weft applies natively.
 *
 * config: {"actions": [action, ...]}, applied in order; an action is
 *   {"action": "set",    "key": "k", "value": "v" | 1 | 1.5 | true, "target": "item"|"resource"}
 *   {"action": "rename", "key": "old", "to": "new", "target": ...}
 *   {"action": "delete", "key": "k", "target": ...}
 *   {"action": "hash",   "key": "k", "target": ...}   string value -> its SHA-256 (hex)
 * target defaults to "item".
 */
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_ACTIONS 32
#define MAX_TEXT 256

typedef enum { ACT_SET, ACT_RENAME, ACT_DELETE, ACT_HASH } act_kind;

typedef struct {
  act_kind kind;
  int target;
  char key[MAX_TEXT];
  char to[MAX_TEXT];
  weft_value_type value_type;
  char str[MAX_TEXT];
  int64_t i;
  double d;
  int b;
} action;

static action actions[MAX_ACTIONS];
static int action_count;
static int has_resource_actions;

static int fail(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

static int parse_value(action* a, weft_json v) {
  if (weft_json_is(v, '"')) {
    a->value_type = WEFT_VALUE_STRING;
    return weft_json_string(v, a->str, MAX_TEXT) >= 0;
  }
  if (weft_json_bool(v, &a->b)) {
    a->value_type = WEFT_VALUE_BOOL;
    return 1;
  }
  if (weft_json_number(v, &a->d)) {
    int integral = memchr(v.p, '.', v.len) == NULL && memchr(v.p, 'e', v.len) == NULL &&
                   memchr(v.p, 'E', v.len) == NULL;
    a->value_type = integral ? WEFT_VALUE_INT : WEFT_VALUE_DOUBLE;
    a->i = (int64_t)a->d;
    return 1;
  }
  return 0;
}

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json list = weft_json_get(root, "actions");
  action_count = 0;
  has_resource_actions = 0;
  if (list.len == 0) return WEFT_OK;
  if (!weft_json_is(list, '[')) return fail("config.actions must be a list");
  size_t it = 0;
  weft_json entry;
  while (weft_json_next(list, &it, &entry)) {
    if (action_count == MAX_ACTIONS) return fail("config.actions has more than 32 actions");
    action* a = &actions[action_count++];
    memset(a, 0, sizeof *a);
    char kind[16] = "", target[16] = "item";
    weft_json v;
    if ((v = weft_json_get(entry, "action")).len == 0 ||
        weft_json_string(v, kind, sizeof kind) < 0) {
      return fail("every action needs \"action\": set, rename, delete or hash");
    }
    if ((v = weft_json_get(entry, "key")).len == 0 || weft_json_string(v, a->key, MAX_TEXT) <= 0) {
      return fail("every action needs a \"key\"");
    }
    if ((v = weft_json_get(entry, "target")).len != 0) weft_json_string(v, target, sizeof target);
    if (strcmp(target, "resource") == 0) {
      a->target = WEFT_TARGET_RESOURCE;
      has_resource_actions = 1;
    } else if (strcmp(target, "item") == 0) {
      a->target = WEFT_TARGET_ITEM;
    } else {
      return fail("target must be item or resource");
    }
    if (strcmp(kind, "set") == 0) {
      a->kind = ACT_SET;
      if (!parse_value(a, weft_json_get(entry, "value"))) {
        return fail("set needs a string, number or boolean \"value\"");
      }
    } else if (strcmp(kind, "rename") == 0) {
      a->kind = ACT_RENAME;
      if ((v = weft_json_get(entry, "to")).len == 0 || weft_json_string(v, a->to, MAX_TEXT) <= 0) {
        return fail("rename needs \"to\"");
      }
    } else if (strcmp(kind, "delete") == 0) {
      a->kind = ACT_DELETE;
    } else if (strcmp(kind, "hash") == 0) {
      a->kind = ACT_HASH;
    } else {
      return fail("action must be set, rename, delete or hash");
    }
  }
  return WEFT_OK;
}

/* Adds the edits of one action for one item or resource; `attrs` is the message holding
 * the attributes in field `field` (used to read values for hash). */
static void edit(weft_edits* e, const action* a, size_t index, weft_bytes attrs, uint32_t field) {
  switch (a->kind) {
    case ACT_SET:
      switch (a->value_type) {
        case WEFT_VALUE_STRING:
          weft_edit_set_string(e, a->target, index, a->key, a->str, strlen(a->str));
          break;
        case WEFT_VALUE_INT:
          weft_edit_set_int(e, a->target, index, a->key, a->i);
          break;
        case WEFT_VALUE_DOUBLE:
          weft_edit_set_double(e, a->target, index, a->key, a->d);
          break;
        default:
          weft_edit_set_bool(e, a->target, index, a->key, a->b);
      }
      break;
    case ACT_RENAME:
      weft_edit_rename(e, a->target, index, a->key, a->to);
      break;
    case ACT_DELETE:
      weft_edit_delete(e, a->target, index, a->key);
      break;
    case ACT_HASH: {
      weft_value v;
      if (!weft_attr_find(attrs, field, a->key, &v) || v.type != WEFT_VALUE_STRING) break;
      char digest[65];
      weft_sha256_hex(v.str.data, v.str.len, digest);
      weft_edit_set_string(e, a->target, index, a->key, digest, 64);
      break;
    }
  }
}

static int process(const weft_batch* batch) {
  if (action_count == 0 || batch->item_count == 0) return WEFT_OK;
  weft_edits e;
  weft_edits_init(&e);
  size_t next_resource = 0; /* resources are edited once, at their first item */
  weft_items it;
  weft_items_init(&it, batch);
  while (weft_items_next(&it)) {
    const weft_item* item = &it.current;
    int first_of_resource = has_resource_actions && item->resource_index + 1 > next_resource;
    for (int k = 0; k < action_count; k++) {
      const action* a = &actions[k];
      if (a->target == WEFT_TARGET_ITEM) {
        edit(&e, a, item->index, item->item, item->attributes_field);
      } else if (first_of_resource) {
        edit(&e, a, item->resource_index, item->resource, WEFT_RESOURCE_ATTRIBUTES);
      }
    }
    if (first_of_resource) next_resource = item->resource_index + 1;
  }
  int rc = weft_edits_submit(&e);
  if (rc != 0) return fail("weft refused the edit list");
  return WEFT_OK;
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_METRICS(process)
WEFT_PROCESS_LOGS(process)
