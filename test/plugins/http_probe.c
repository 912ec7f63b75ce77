/* http_probe: a test exporter plugin that tries what a hostile or careless exporter might
 * and logs every answer weft gives it, as "probe: <what> -> <code> <detail>" lines.
 * Config: {"requests": [{"method": "GET", "url": "..."}], "env": ["NAME", ...]}.
 * For each batch: every request in order (then the response's Authorization header and body
 * size), every environment variable, and the whole config; the batch counts as sent. */
#include <stdio.h>
#include <string.h>
#include <weft.h>

#define MAX 16
#define TEXT 512

static char methods[MAX][16], urls[MAX][TEXT], envs[MAX][TEXT];
static int request_count, env_count;
static char config_copy[4096];

static int configure(const char* json, size_t len) {
  weft_json root = {json, len};
  size_t it = 0;
  weft_json r;
  request_count = env_count = 0;
  weft_json requests = weft_json_get(root, "requests");
  while (request_count < MAX && requests.len && weft_json_next(requests, &it, &r)) {
    weft_json_string(weft_json_get(r, "method"), methods[request_count], sizeof(methods[0]));
    weft_json_string(weft_json_get(r, "url"), urls[request_count], TEXT);
    request_count++;
  }
  it = 0;
  weft_json names = weft_json_get(root, "env");
  while (env_count < MAX && names.len && weft_json_next(names, &it, &r)) {
    weft_json_string(r, envs[env_count++], TEXT);
  }
  size_t n = len < sizeof(config_copy) - 1 ? len : sizeof(config_copy) - 1;
  memcpy(config_copy, json, n);
  config_copy[n] = 0;
  return WEFT_OK;
}

static int probe(const weft_batch* batch) {
  char line[2 * TEXT + 64];
  for (int i = 0; i < request_count; i++) {
    int code = weft_http_request(methods[i], urls[i], "X-Probe: 1", batch->request.data,
                                 batch->request.len);
    char auth[TEXT] = "";
    int auth_code = weft_http_response_header("Authorization", auth, sizeof(auth));
    weft_buf body;
    weft_buf_init(&body);
    int body_size = weft_http_response_body(&body);
    weft_buf_free(&body);
    snprintf(line, sizeof(line), "probe: %s %s -> %d authorization=%d:%s body=%d", methods[i],
             urls[i], code, auth_code, auth, body_size);
    weft_log(WEFT_INFO, line);
  }
  for (int i = 0; i < env_count; i++) {
    char value[TEXT] = "";
    int code = weft_env_get(envs[i], value, sizeof(value));
    snprintf(line, sizeof(line), "probe: env %s -> %d %s", envs[i], code, value);
    weft_log(WEFT_INFO, line);
  }
  snprintf(line, sizeof(line), "probe: config %s", config_copy);
  weft_log(WEFT_INFO, line);
  return WEFT_EXPORT_SENT;
}

WEFT_PLUGIN(configure)
WEFT_EXPORT_TRACES(probe)
WEFT_EXPORT_LOGS(probe)
