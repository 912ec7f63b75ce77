// Copies the headers exported by wasmtime-c-api-impl (DEP_WASMTIME_C_API_INCLUDE)
// to the directory named by WEFT_WASMTIME_INCLUDE_DIR, where CMake looks for them.
use std::{env, fs, path::Path};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create include dir");
    for entry in fs::read_dir(from).expect("read include dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy header");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=WEFT_WASMTIME_INCLUDE_DIR");
    let from = env::var("DEP_WASMTIME_C_API_INCLUDE").expect("wasmtime-c-api-impl exports its headers");
    if let Ok(to) = env::var("WEFT_WASMTIME_INCLUDE_DIR") {
        copy_dir(Path::new(&from), Path::new(&to));
    }
}
