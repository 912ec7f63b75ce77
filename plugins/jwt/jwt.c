/* jwt: an authenticator plugin for bearer JSON Web Tokens (RFC 7519). The token in
 * "Authorization: Bearer <token>" is checked: its signature (HS256 with a secret weft keeps,
 * RS256 or ES256 with a public key from a JWK set weft loads as a table), its expiry and
 * not-before times, issuer and audience; a claim names the client's tenant.
 *
 * config: {"issuer": "https://issuer.example",   required match of "iss" (if given)
 *          "audience": "weft",                   "aud" must be it or contain it (if given)
 *          "keys_table": "jwks",                 a jwks table (service.tables) for RS256/ES256
 *          "hs256_secret": "jwt",                a secret (the extension's secrets) for HS256
 *          "tenant_claim": "tenant",             the claim that names the tenant
 *          "require_tenant": true,               a valid token without it gets 403
 *          "leeway": 30}                         seconds of clock skew allowed
 * The client's attributes: tenant, and subject (the "sub" claim). Missing, malformed, badly
 * signed, expired or not-yet-valid tokens and a wrong issuer or audience get 401. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weft.h"

#define MAX_TOKEN 8192
#define MAX_TEXT 256

static char issuer[MAX_TEXT], audience[MAX_TEXT], keys_table[MAX_TEXT], secret[MAX_TEXT];
static char tenant_claim[MAX_TEXT];
static int require_tenant;
static double leeway;
static weft_row row = WEFT_ROW_INIT;

static int bad_config(const char* message) {
  weft_set_error(message);
  return WEFT_ERROR;
}

static int optional_string(weft_json config, const char* name, char* out, size_t cap) {
  out[0] = 0;
  weft_json v = weft_json_get(config, name);
  return v.len == 0 || weft_json_string(v, out, cap) >= 0;
}

static int configure(const char* json, size_t len) {
  weft_json config = {json, len};
  if (!optional_string(config, "issuer", issuer, sizeof issuer) ||
      !optional_string(config, "audience", audience, sizeof audience) ||
      !optional_string(config, "keys_table", keys_table, sizeof keys_table) ||
      !optional_string(config, "hs256_secret", secret, sizeof secret) ||
      !optional_string(config, "tenant_claim", tenant_claim, sizeof tenant_claim)) {
    return bad_config(
        "jwt: issuer, audience, keys_table, hs256_secret and tenant_claim are strings");
  }
  if (keys_table[0] == 0 && secret[0] == 0) {
    return bad_config("jwt: give keys_table (RS256, ES256) or hs256_secret (HS256), or both");
  }
  if (tenant_claim[0] == 0) strcpy(tenant_claim, "tenant");
  require_tenant = 1;
  weft_json r = weft_json_get(config, "require_tenant");
  if (r.len != 0 && !weft_json_bool(r, &require_tenant)) {
    return bad_config("jwt: require_tenant must be true or false");
  }
  leeway = 30;
  weft_json l = weft_json_get(config, "leeway");
  if (l.len != 0 && (!weft_json_number(l, &leeway) || leeway < 0)) {
    return bad_config("jwt: leeway must be a number of seconds");
  }
  return WEFT_OK;
}

static int refuse(const char* why) {
  weft_set_error(why);
  return WEFT_AUTH_UNAUTHENTICATED;
}

/* Whether the claim (a string, or an array of strings) is or holds want. */
static int claim_matches(weft_json value, const char* want) {
  char text[MAX_TEXT];
  if (weft_json_is(value, '"'))
    return weft_json_string(value, text, sizeof text) >= 0 && !strcmp(text, want);
  size_t it = 0;
  weft_json element;
  while (weft_json_next(value, &it, &element)) {
    if (weft_json_string(element, text, sizeof text) >= 0 && !strcmp(text, want)) return 1;
  }
  return 0;
}

static uint8_t header_bytes[1024], payload_bytes[MAX_TOKEN], signature[1024];

static int authenticate(weft_bytes headers) {
  (void)headers;
  char authorization[MAX_TOKEN];
  int n = weft_request_header("authorization", authorization, sizeof authorization);
  if (n <= 0) return refuse("no bearer token");
  if (n >= (int)sizeof authorization) return refuse("token too long");
  if (n < 7 || strncasecmp(authorization, "Bearer ", 7) != 0) return refuse("not a bearer token");
  const char* token = authorization + 7;
  const char* dot1 = strchr(token, '.');
  const char* dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
    return refuse("malformed token");
  int header_len =
      weft_base64url_decode(token, (size_t)(dot1 - token), header_bytes, sizeof header_bytes);
  int payload_len = weft_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload_bytes,
                                          sizeof payload_bytes);
  int signature_len =
      weft_base64url_decode(dot2 + 1, strlen(dot2 + 1), signature, sizeof signature);
  if (header_len <= 0 || payload_len <= 0 || signature_len <= 0) return refuse("malformed token");
  weft_json header = {(const char*)header_bytes, (size_t)header_len};
  weft_json payload = {(const char*)payload_bytes, (size_t)payload_len};
  if (!weft_json_valid(header) || !weft_json_valid(payload)) return refuse("malformed token");

  /* The signature over "<header>.<payload>" as they came. */
  char alg[16], kid[MAX_TEXT];
  if (weft_json_string(weft_json_get(header, "alg"), alg, sizeof alg) <= 0) return refuse("no alg");
  const size_t signed_len = (size_t)(dot2 - token);
  int verified;
  if (strcmp(alg, "HS256") == 0) {
    if (secret[0] == 0) return refuse("HS256 tokens are not accepted");
    verified = weft_verify_signature("HS256", secret, strlen(secret), token, signed_len, signature,
                                     (size_t)signature_len);
  } else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
    if (keys_table[0] == 0) return refuse("RS256 and ES256 tokens are not accepted");
    if (weft_json_string(weft_json_get(header, "kid"), kid, sizeof kid) <= 0)
      return refuse("no kid");
    if (weft_lookup(keys_table, kid, strlen(kid), &row) != 0) return refuse("unknown kid");
    weft_bytes pem, key_alg;
    if (!weft_row_get(&row, "pem", &pem)) return refuse("unknown kid");
    if (weft_row_get(&row, "alg", &key_alg) && key_alg.len > 0 && !weft_bytes_eq(key_alg, alg)) {
      return refuse("the key is not for this alg");
    }
    verified = weft_verify_signature(alg, pem.data, pem.len, token, signed_len, signature,
                                     (size_t)signature_len);
  } else {
    return refuse("unsupported alg");
  }
  if (verified != 0) return refuse("bad signature");

  const double now = (double)(weft_now_unix_nano() / 1000000000);
  double exp = 0, nbf = 0;
  if (!weft_json_number(weft_json_get(payload, "exp"), &exp)) return refuse("no exp");
  if (now > exp + leeway) return refuse("token expired");
  if (weft_json_number(weft_json_get(payload, "nbf"), &nbf) && now + leeway < nbf) {
    return refuse("token not yet valid");
  }
  if (issuer[0] && !claim_matches(weft_json_get(payload, "iss"), issuer))
    return refuse("wrong issuer");
  if (audience[0] && !claim_matches(weft_json_get(payload, "aud"), audience)) {
    return refuse("wrong audience");
  }
  char value[MAX_TEXT];
  int tenant = weft_json_string(weft_json_get(payload, tenant_claim), value, sizeof value);
  if (tenant > 0) {
    weft_set_client_attribute("tenant", value, (size_t)tenant);
  } else if (require_tenant) {
    weft_set_error("the token names no tenant");
    return WEFT_AUTH_FORBIDDEN;
  }
  int subject = weft_json_string(weft_json_get(payload, "sub"), value, sizeof value);
  if (subject > 0) weft_set_client_attribute("subject", value, (size_t)subject);
  return WEFT_AUTH_ALLOW;
}

WEFT_PLUGIN(configure)
WEFT_AUTHENTICATE(authenticate)
