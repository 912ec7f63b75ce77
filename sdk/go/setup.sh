#!/usr/bin/env bash
# The Go SDK needs Go 1.24 or later (go:wasmexport for GOOS=wasip1); Debian's golang is
# older, so an older or missing go is an error that says what to install.
set -euo pipefail
if ! command -v go >/dev/null; then
  echo "sdk/go: Go 1.24 or later is needed (https://go.dev/dl/); none is installed" >&2
  exit 1
fi
minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [ "${minor:-0}" -lt 24 ]; then
  echo "sdk/go: Go 1.24 or later is needed for go:wasmexport; found $(go env GOVERSION)" >&2
  exit 1
fi
