#!/usr/bin/env bash
# Builds the C++ SDK's examples: sdk/cpp/build.sh OUT_DIR -> OUT_DIR/<example>.wasm
set -euo pipefail
OUT="${1:?usage: sdk/cpp/build.sh OUT_DIR}"
SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v clang++ >/dev/null || { echo "sdk/cpp: clang++ is missing: run sdk/cpp/setup.sh" >&2; exit 1; }
mkdir -p "$OUT"
OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT
# The C SDK as C, then each example as C++17 (one clang++ command cannot mix -std values).
clang --target=wasm32-wasi -O2 -Wall -Werror -I"$SDK/c/include" -c "$SDK/c/src/weft.c" -o "$OBJ/weft.o"
for dir in "$SDK"/cpp/examples/*/; do
  name="$(basename "$dir")"
  clang++ --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-debug -Wall -Werror \
    -std=c++17 -fno-exceptions -fno-rtti -I"$SDK/c/include" -I"$SDK/cpp/include" \
    -o "$OUT/$name.wasm" "$dir"*.cc "$OBJ/weft.o"
done
