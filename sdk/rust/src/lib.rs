//! The weft plugin SDK for Rust: the ABI of docs/abi.md for `wasm32-wasip1`, with
//! zero-copy readers over each batch.
//!
//! ```ignore
//! use weft::{Batch, Json, KeepMask, Result};
//!
//! fn configure(config: &Json) -> Result { Ok(()) }
//!
//! fn process(batch: &Batch) -> Result {
//!     let mut mask = KeepMask::new(batch.len());
//!     for item in batch.items() {
//!         if item.attributes().find("debug").and_then(|v| v.str()) == Some(b"true") {
//!             mask.drop_item(item.index);
//!         }
//!     }
//!     mask.submit()
//! }
//!
//! weft::plugin!(configure: configure, traces: process, logs: process);
//! ```
//!
//! Build: `cargo build --release --target wasm32-wasip1` (crate-type `cdylib`).

mod batch;
pub mod host;
mod io;
mod json;
mod reader;
mod results;
mod services;
mod writer;

pub use batch::{Batch, Item, Items, Signal};
pub use io::{emit, http_request, request_header, request_info, respond, Export, HttpError, RequestInfo, Response};
pub use json::Json;
pub use reader::{fields, pb_bytes, pb_repeated, pb_u64, Attributes, Field, Reader, Value};
pub use results::{drop_all, replace, Edits, KeepMask, Target};
pub use services::{
    counter_add, env_get, gauge_set, histogram_record, kv_delete, kv_get, kv_set, log, now_unix_nano, set_error,
    sha256, sha256_hex, Level,
};
pub use writer::Proto;

/// A plugin's error: its text goes to weft's log, and the batch gets `on_error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T = ()> = core::result::Result<T, Error>;

fn status(r: Result) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            set_error(&e.0);
            1
        }
    }
}

// ---- what the exports of `plugin!` call -------------------------------------------------

/// weft_alloc: `size` bytes (at least one) that belong to the plugin once weft has written
/// them; `__take` gives them back.
#[doc(hidden)]
pub fn __alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    let buf = vec![0u8; (size as usize).max(1)].into_boxed_slice();
    Box::into_raw(buf) as *mut u8 as usize as i32
}

/// The buffer weft_alloc made for a call's input; freed when dropped.
#[doc(hidden)]
pub unsafe fn __take(ptr: i32, len: i32) -> Box<[u8]> {
    let slice = core::ptr::slice_from_raw_parts_mut(ptr as usize as *mut u8, (len as usize).max(1));
    Box::from_raw(slice)
}

#[doc(hidden)]
pub fn __configure(ptr: i32, len: i32, configure: fn(&Json) -> Result) -> i32 {
    let buf = unsafe { __take(ptr, len) };
    let text = &buf[..len as usize];
    let config = if text.iter().all(|c| c.is_ascii_whitespace()) {
        Ok(Json::Object(Vec::new()))
    } else {
        Json::parse(text)
    };
    status(
        config
            .map_err(|e| Error::new(format!("config is not JSON: {e}")))
            .and_then(|c| configure(&c)),
    )
}

#[doc(hidden)]
pub fn __process(signal: Signal, ptr: i32, len: i32, process: fn(&Batch) -> Result) -> i32 {
    let buf = unsafe { __take(ptr, len) };
    let batch = Batch::new(signal, &buf[..len as usize]);
    status(process(&batch))
}

#[doc(hidden)]
pub fn __export(signal: Signal, ptr: i32, len: i32, export: fn(&Batch) -> Export) -> i32 {
    let buf = unsafe { __take(ptr, len) };
    let batch = Batch::new(signal, &buf[..len as usize]);
    export(&batch).code()
}

#[doc(hidden)]
pub fn __receive(ptr: i32, len: i32, receive: fn(&[u8]) -> Result) -> i32 {
    let buf = unsafe { __take(ptr, len) };
    status(receive(&buf[..len as usize]))
}

/// Declares the plugin's exports: configure, then what it does — process functions per
/// signal (processors, connectors), export functions per signal (exporters), or receive
/// (receivers); each part is optional, in this order.
///
/// `weft::plugin!(configure: my_configure, traces: my_process, logs: my_process);`
/// `weft::plugin!(configure: my_configure, export_metrics: my_send);`  (fn(&Batch) -> Export)
/// `weft::plugin!(configure: my_configure, receive: my_receive);`  (fn(&[u8]) -> Result)
#[macro_export]
macro_rules! plugin {
    (configure: $configure:path $(, traces: $traces:path)? $(, metrics: $metrics:path)? $(, logs: $logs:path)?
     $(, export_traces: $etraces:path)? $(, export_metrics: $emetrics:path)? $(, export_logs: $elogs:path)?
     $(, receive: $receive:path)? $(,)?) => {
        #[no_mangle]
        pub extern "C" fn weft_abi_version() -> i32 {
            1
        }
        #[no_mangle]
        pub extern "C" fn weft_alloc(size: i32) -> i32 {
            $crate::__alloc(size)
        }
        #[no_mangle]
        pub extern "C" fn weft_configure(ptr: i32, len: i32) -> i32 {
            $crate::__configure(ptr, len, $configure)
        }
        $(
            #[no_mangle]
            pub extern "C" fn weft_process_traces(ptr: i32, len: i32) -> i32 {
                $crate::__process($crate::Signal::Traces, ptr, len, $traces)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_process_metrics(ptr: i32, len: i32) -> i32 {
                $crate::__process($crate::Signal::Metrics, ptr, len, $metrics)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_process_logs(ptr: i32, len: i32) -> i32 {
                $crate::__process($crate::Signal::Logs, ptr, len, $logs)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_export_traces(ptr: i32, len: i32) -> i32 {
                $crate::__export($crate::Signal::Traces, ptr, len, $etraces)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_export_metrics(ptr: i32, len: i32) -> i32 {
                $crate::__export($crate::Signal::Metrics, ptr, len, $emetrics)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_export_logs(ptr: i32, len: i32) -> i32 {
                $crate::__export($crate::Signal::Logs, ptr, len, $elogs)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn weft_receive(ptr: i32, len: i32) -> i32 {
                $crate::__receive(ptr, len, $receive)
            }
        )?
    };
}
