// Re-export every symbol of the wasmtime C API so the static library carries them.
pub use wasmtime_c_api::*;
