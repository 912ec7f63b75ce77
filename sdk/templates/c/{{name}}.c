/* {{name}}: a weft plugin. It drops every span and log record whose attribute named by
 * config "attribute" (default "debug") has the string value config "equals" (default
 * "true"), and counts what it dropped in the counter "dropped".
 *
 * Build it with `weft plugin build`, test it with `weft plugin test`; the guide to the C SDK
 * is docs/plugin-guide.md in the weft repository. */
#include <stdlib.h>

#include "weft.h"

static char attribute[128] = "debug";
static char equals[128] = "true";

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json v;
  if ((v = weft_json_get(root, "attribute")).len &&
      weft_json_string(v, attribute, sizeof attribute) < 0) {
    weft_set_error("config.attribute must be a string");
    return WEFT_ERROR;
  }
  if ((v = weft_json_get(root, "equals")).len && weft_json_string(v, equals, sizeof equals) < 0) {
    weft_set_error("config.equals must be a string");
    return WEFT_ERROR;
  }
  return WEFT_OK;
}

static int process(const weft_batch* batch) {
  uint8_t* keep = malloc(batch->item_count ? batch->item_count : 1);
  if (!keep) {
    weft_set_error("out of memory");
    return WEFT_ERROR;
  }
  size_t dropped = 0;
  weft_items it;
  weft_items_init(&it, batch);
  while (weft_items_next(&it)) {
    weft_value v;
    int match = weft_attr_find(it.current.item, it.current.attributes_field, attribute, &v) &&
                v.type == WEFT_VALUE_STRING && weft_bytes_eq(v.str, equals);
    keep[it.current.index] = !match;
    dropped += match;
  }
  int rc = WEFT_OK;
  if (dropped) {
    weft_counter_add("dropped", (double)dropped, "");
    rc = weft_keep(keep, batch->item_count) == 0 ? WEFT_OK : WEFT_ERROR;
  }
  free(keep);
  return rc;
}

WEFT_PLUGIN(configure)
WEFT_PROCESS_TRACES(process)
WEFT_PROCESS_LOGS(process)
