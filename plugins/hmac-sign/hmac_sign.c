/* hmac-sign: a signing plugin for exporters (auth.authenticator: wasm/sign). Every outbound
 * request gets an HMAC-SHA256 signature over its method, path, a timestamp and its body's
 * SHA-256, keyed with a secret weft keeps (the extension's `secrets`; the plugin never sees it):
 *
 *   X-Weft-Date:      <unix seconds>
 *   X-Content-SHA256: <hex SHA-256 of the body as sent>
 *   X-Weft-Signature: keyId=<key_id>,signature=<hex HMAC of the string below>
 *
 *   string to sign = METHOD "\n" PATH "\n" DATE "\n" BODY-SHA256
 *
 * config: {"secret": "signing",   the secret's name in the extension's secrets
 *          "key_id": "weft"}      tells the destination which key signed */
#include <stdio.h>
#include <string.h>

#include "weft.h"

static char secret[128];
static char key_id[128];

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  if (weft_json_string(weft_json_get(config, "secret"), secret, sizeof secret) <= 0) {
    weft_set_error("hmac-sign: config.secret must name a secret of the extension's secrets");
    return WEFT_ERROR;
  }
  strcpy(key_id, "weft");
  weft_json k = weft_json_get(config, "key_id");
  if (k.len != 0 && weft_json_string(k, key_id, sizeof key_id) <= 0) {
    weft_set_error("hmac-sign: config.key_id must be a string");
    return WEFT_ERROR;
  }
  return WEFT_OK;
}

static int sign(weft_bytes body_digest) {
  char method[16], path[2048], date[32];
  if (weft_request_info(WEFT_REQUEST_METHOD, method, sizeof method) <= 0 ||
      weft_request_info(WEFT_REQUEST_PATH, path, sizeof path) <= 0) {
    weft_set_error("hmac-sign: no method or path");
    return WEFT_ERROR;
  }
  snprintf(date, sizeof date, "%lld", (long long)(weft_now_unix_nano() / 1000000000));
  char text[2200];
  int n = snprintf(text, sizeof text, "%s\n%s\n%s\n%.*s", method, path, date, (int)body_digest.len,
                   (const char*)body_digest.data);
  if (n < 0 || n >= (int)sizeof text) {
    weft_set_error("hmac-sign: path too long");
    return WEFT_ERROR;
  }
  uint8_t mac[32];
  if (weft_hmac_sha256(secret, text, (size_t)n, mac) != 0) {
    weft_set_error("hmac-sign: the secret is not declared in the extension's secrets");
    return WEFT_ERROR;
  }
  char mac_hex[65], header[256];
  weft_hex(mac, sizeof mac, mac_hex);
  int h = snprintf(header, sizeof header, "keyId=%s,signature=%s", key_id, mac_hex);
  weft_add_header("X-Weft-Date", date, strlen(date));
  weft_add_header("X-Content-SHA256", (const char*)body_digest.data, body_digest.len);
  weft_add_header("X-Weft-Signature", header, (size_t)h);
  return WEFT_OK;
}

WEFT_PLUGIN(configure)
WEFT_SIGN(sign)
