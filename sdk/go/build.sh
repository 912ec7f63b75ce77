#!/usr/bin/env bash
# Builds the Go SDK's examples: sdk/go/build.sh OUT_DIR -> OUT_DIR/<example>.wasm
# (Go's build cache lives outside the repository, in Go's default place.)
set -euo pipefail
OUT="${1:?usage: sdk/go/build.sh OUT_DIR}"
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v go >/dev/null || { echo "sdk/go: go is missing: run sdk/go/setup.sh" >&2; exit 1; }
mkdir -p "$OUT"
for dir in examples/*/; do
  name="$(basename "$dir")"
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$OUT/$name.wasm" "./$dir"
done
