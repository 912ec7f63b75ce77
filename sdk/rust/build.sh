#!/usr/bin/env bash
# Builds the Rust SDK's examples: sdk/rust/build.sh OUT_DIR -> OUT_DIR/<example>.wasm
# The cargo target dir is outside the repository: $WEFT_CACHE/cargo-target-sdk.
set -euo pipefail
OUT="${1:?usage: sdk/rust/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${WEFT_CACHE:-$HOME/.cache/weft}/cargo-target-sdk"
command -v cargo >/dev/null || { echo "sdk/rust: cargo is missing: run sdk/rust/setup.sh" >&2; exit 1; }
mkdir -p "$OUT"
for dir in "$HERE"/examples/*/; do
  name="$(basename "$dir")"
  cargo build -q --release --target wasm32-wasip1 --manifest-path "$dir/Cargo.toml"
  cp "$CARGO_TARGET_DIR/wasm32-wasip1/release/$name.wasm" "$OUT/$name.wasm"
done
