//! The imports of docs/abi.md (module "weft"); on other targets (unit tests on the host)
//! they are stubs that record nothing and return "not found".

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "weft")]
extern "C" {
    pub fn log(level: i32, ptr: *const u8, len: i32);
    pub fn set_error(ptr: *const u8, len: i32);
    pub fn now_unix_nano() -> i64;
    pub fn metric(kind: i32, name: *const u8, name_len: i32, value: f64, attrs: *const u8, attrs_len: i32) -> i32;
    pub fn kv_get(key: *const u8, key_len: i32, out: *mut u8, cap: i32) -> i32;
    pub fn kv_set(key: *const u8, key_len: i32, value: *const u8, len: i32) -> i32;
    pub fn kv_delete(key: *const u8, key_len: i32) -> i32;
    pub fn env_get(name: *const u8, name_len: i32, out: *mut u8, cap: i32) -> i32;
    pub fn result_drop_all() -> i32;
    pub fn result_keep(ptr: *const u8, len: i32) -> i32;
    pub fn result_edits(ptr: *const u8, len: i32) -> i32;
    pub fn result_replace(ptr: *const u8, len: i32) -> i32;
    pub fn emit(signal: i32, ptr: *const u8, len: i32) -> i32;
    pub fn http_request(
        method: *const u8,
        method_len: i32,
        url: *const u8,
        url_len: i32,
        headers: *const u8,
        headers_len: i32,
        body: *const u8,
        body_len: i32,
    ) -> i32;
    pub fn http_response_header(name: *const u8, name_len: i32, out: *mut u8, cap: i32) -> i32;
    pub fn http_response_body(out: *mut u8, cap: i32) -> i32;
    pub fn set_retry_after(milliseconds: i64) -> i32;
    pub fn set_rejected(items: i64) -> i32;
    pub fn request_info(which: i32, out: *mut u8, cap: i32) -> i32;
    pub fn request_header(name: *const u8, name_len: i32, out: *mut u8, cap: i32) -> i32;
    pub fn respond(status: i32, ptr: *const u8, len: i32) -> i32;
}

#[cfg(not(target_arch = "wasm32"))]
mod stubs {
    pub unsafe fn log(_: i32, _: *const u8, _: i32) {}
    pub unsafe fn set_error(_: *const u8, _: i32) {}
    pub unsafe fn now_unix_nano() -> i64 {
        0
    }
    pub unsafe fn metric(_: i32, _: *const u8, _: i32, _: f64, _: *const u8, _: i32) -> i32 {
        0
    }
    pub unsafe fn kv_get(_: *const u8, _: i32, _: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn kv_set(_: *const u8, _: i32, _: *const u8, _: i32) -> i32 {
        0
    }
    pub unsafe fn kv_delete(_: *const u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn env_get(_: *const u8, _: i32, _: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn result_drop_all() -> i32 {
        0
    }
    pub unsafe fn result_keep(_: *const u8, _: i32) -> i32 {
        0
    }
    pub unsafe fn result_edits(_: *const u8, _: i32) -> i32 {
        0
    }
    pub unsafe fn result_replace(_: *const u8, _: i32) -> i32 {
        0
    }
    pub unsafe fn emit(_: i32, _: *const u8, _: i32) -> i32 {
        -2
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn http_request(
        _: *const u8,
        _: i32,
        _: *const u8,
        _: i32,
        _: *const u8,
        _: i32,
        _: *const u8,
        _: i32,
    ) -> i32 {
        -3
    }
    pub unsafe fn http_response_header(_: *const u8, _: i32, _: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn http_response_body(_: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn set_retry_after(_: i64) -> i32 {
        0
    }
    pub unsafe fn set_rejected(_: i64) -> i32 {
        0
    }
    pub unsafe fn request_info(_: i32, _: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn request_header(_: *const u8, _: i32, _: *mut u8, _: i32) -> i32 {
        -1
    }
    pub unsafe fn respond(_: i32, _: *const u8, _: i32) -> i32 {
        -2
    }
}
#[cfg(not(target_arch = "wasm32"))]
pub use stubs::*;
