/* pull_probe: a test receiver plugin that turns each request or fetched target into one
 * log record: the body as the record's body, and what weft.request_info says (method, path,
 * query, target, peer, status) and the X-Probe header as attributes. A body of "bad" is
 * refused as a bad request; "trap" traps. */
#include <string.h>
#include <weft.h>

static int configure(const char* json, size_t len) {
  (void)json, (void)len;
  return WEFT_OK;
}

static int receive(weft_bytes body) {
  if (body.len == 3 && memcmp(body.data, "bad", 3) == 0) {
    weft_set_error("pull_probe: a bad body");
    return WEFT_RECEIVE_BAD_REQUEST;
  }
  if (body.len == 4 && memcmp(body.data, "trap", 4) == 0) __builtin_trap();
  static const char* names[] = {"method", "path", "query", "target", "peer", "status"};
  weft_buf record, any, scope_logs, resource_logs, request;
  weft_buf_init(&record);
  weft_pb_fixed64(&record, 1, (uint64_t)weft_now_unix_nano());
  weft_buf_init(&any);
  weft_pb_bytes_field(&any, 1, body.data, body.len);
  weft_pb_message(&record, 5, &any);
  char value[1024];
  for (int i = 0; i < 6; i++) {
    if (weft_request_info(i, value, sizeof(value)) > 0) {
      weft_pb_string_attribute(&record, 6, names[i], value, strlen(value));
    }
  }
  if (weft_request_header("X-Probe", value, sizeof(value)) > 0) {
    weft_pb_string_attribute(&record, 6, "x-probe", value, strlen(value));
  }
  weft_buf_init(&scope_logs);
  weft_pb_message(&scope_logs, 2, &record);
  weft_buf_init(&resource_logs);
  weft_pb_message(&resource_logs, 2, &scope_logs);
  weft_buf_init(&request);
  weft_pb_message(&request, 1, &resource_logs);
  int rc = weft_emit(WEFT_LOGS, &request);
  weft_buf_free(&record);
  weft_buf_free(&any);
  weft_buf_free(&scope_logs);
  weft_buf_free(&resource_logs);
  weft_buf_free(&request);
  if (rc != 0) {
    weft_set_error("pull_probe: emit refused");
    return 2;
  }
  weft_respond(201, "probed", 6);
  return WEFT_RECEIVE_OK;
}

WEFT_PLUGIN(configure)
WEFT_RECEIVE(receive)
