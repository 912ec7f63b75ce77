/* The host side of a plugin compiled natively (a shared library) instead of to Wasm.
 *
 * Used only for the benchmarks' baseline (bench/native): the same plugin source, built
 * with -DWEFT_NATIVE_PLUGIN, runs in weft's process with no sandbox. weft calls
 * weft_native_bind with its functions before anything else; the SDK's host calls go
 * through this table. The input of weft_configure and weft_process_* stays owned by
 * the host (a Wasm plugin frees it; a native one must not). */
#ifndef WEFT_NATIVE_H
#define WEFT_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_native_host {
  void (*log)(int32_t level, const void* ptr, int32_t len);
  void (*set_error)(const void* ptr, int32_t len);
  int64_t (*now_unix_nano)(void);
  int32_t (*metric)(int32_t kind, const void* name, int32_t name_len, double value,
                    const void* attrs, int32_t attrs_len);
  int32_t (*kv_get)(const void* key, int32_t key_len, void* out, int32_t cap);
  int32_t (*kv_set)(const void* key, int32_t key_len, const void* value, int32_t len);
  int32_t (*kv_delete)(const void* key, int32_t key_len);
  int32_t (*env_get)(const void* name, int32_t name_len, void* out, int32_t cap);
  int32_t (*result_drop_all)(void);
  int32_t (*result_keep)(const void* ptr, int32_t len);
  int32_t (*result_edits)(const void* ptr, int32_t len);
  int32_t (*result_replace)(const void* ptr, int32_t len);
  int32_t (*emit)(int32_t signal, const void* ptr, int32_t len);
  int32_t (*lookup)(const void* table, int32_t table_len, const void* key, int32_t key_len,
                    void* out, int32_t cap);
  int32_t (*client_info)(const void* key, int32_t key_len, void* out, int32_t cap);
} weft_native_host;

/* Exported by a native plugin; returns the ABI version it speaks. */
typedef int32_t (*weft_native_bind_fn)(const weft_native_host* host);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_NATIVE_H */
