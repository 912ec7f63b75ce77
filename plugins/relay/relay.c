/* relay: an exporter plugin that sends each batch as OTLP/HTTP protobuf to the exporter's
 * endpoint (POST <endpoint>/v1/<signal>), the smallest complete example of a wasm exporter.
 * weft does the I/O (connections, TLS, compression, headers, auth, queue and retries); the
 * plugin decides what a response means:
 *   2xx          sent, or partially sent if the response's partial_success rejected items;
 *   429, 502-504 retryable, not before the response's Retry-After (seconds);
 *   other codes  permanent: the batch is dropped and counted;
 *   no response  retryable (the destination is down or slow); a cap or a denial: permanent.
 * Config: {"paths": {"traces": "/v1/traces", ...}} to send elsewhere than /v1/<signal>. */
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define MAX_PATH 256

static char paths[3][MAX_PATH] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
static const char* names[3] = {"traces", "metrics", "logs"};

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  weft_json configured = weft_json_get(root, "paths");
  for (int s = 0; s < 3; s++) {
    weft_json v = weft_json_get(configured, names[s]);
    if (v.len && weft_json_string(v, paths[s], MAX_PATH) < 0) {
      weft_set_error("relay: paths must map signals to strings");
      return WEFT_ERROR;
    }
  }
  return WEFT_OK;
}

/* ExportXServiceResponse { partial_success = 1 { rejected_* = 1; error_message = 2 } } */
static int64_t rejected_items(weft_bytes body, char* message, size_t cap) {
  weft_bytes partial = weft_pb_bytes(body, 1);
  weft_reader r;
  weft_field f;
  int64_t rejected = 0;
  message[0] = 0;
  weft_reader_init(&r, partial);
  while (weft_reader_next(&r, &f)) {
    if (f.number == 1 && f.wire_type == 0) rejected = (int64_t)f.u64;
    if (f.number == 2 && f.wire_type == 2) {
      size_t n = f.bytes.len < cap - 1 ? f.bytes.len : cap - 1;
      memcpy(message, f.bytes.data, n);
      message[n] = 0;
    }
  }
  return rejected;
}

static int send(const weft_batch* batch) {
  int status =
      weft_http_request("POST", paths[batch->signal], "Content-Type: application/x-protobuf",
                        batch->request.data, batch->request.len);
  if (status >= 200 && status < 300) {
    char text[512];
    weft_buf body;
    weft_buf_init(&body);
    weft_http_response_body(&body);
    weft_bytes bytes = {body.data, body.len};
    int64_t rejected = rejected_items(bytes, text, sizeof(text));
    weft_buf_free(&body);
    if (rejected > 0) {
      weft_export_rejected(rejected);
      weft_set_error(text);
      return WEFT_EXPORT_PARTIAL;
    }
    return WEFT_EXPORT_SENT;
  }
  return weft_export_status(status, "relay");
}

WEFT_PLUGIN(configure)
WEFT_EXPORT_TRACES(send)
WEFT_EXPORT_METRICS(send)
WEFT_EXPORT_LOGS(send)
