#!/usr/bin/env bash
# The Rust SDK needs cargo and the wasm32-wasip1 standard library (from rustup).
set -euo pipefail
if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
  echo "sdk/rust: rustup and cargo are needed (https://rustup.rs)" >&2
  exit 1
fi
if ! rustup target list --installed | grep -qx wasm32-wasip1; then
  echo "sdk/rust: installing the wasm32-wasip1 target" >&2
  rustup target add wasm32-wasip1
fi
