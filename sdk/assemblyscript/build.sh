#!/usr/bin/env bash
# Builds the AssemblyScript SDK's examples: sdk/assemblyscript/build.sh OUT_DIR
# -> OUT_DIR/<example>.wasm (runs npm ci first when node_modules is missing; npm's cache
# is outside the repository).
set -euo pipefail
OUT="${1:?usage: sdk/assemblyscript/build.sh OUT_DIR}"
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null || { echo "sdk/assemblyscript: npm is missing: run sdk/assemblyscript/setup.sh" >&2; exit 1; }
[ -x node_modules/.bin/asc ] || npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$OUT"
for dir in examples/*/; do
  name="$(basename "$dir")"
  # --use abort=: aborts trap instead of importing env.abort (weft refuses other imports).
  node_modules/.bin/asc "$dir/index.ts" -o "$OUT/$name.wasm" -O3 --runtime incremental --use abort=
done
