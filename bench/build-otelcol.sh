#!/usr/bin/env bash
# Build the reference Go collector used by the benchmark harness:
#   ${WEFT_CACHE:-$HOME/.cache/weft}/bin/otelcol-bench
# from the hand-written distribution in bench/otelcol (contrib v0.161.0,
# core collector v1.67.0 / v0.161.0), with modules from the Go module proxy.
# No binary is committed.
#
# The build is skipped when the binary exists and the stamp next to it holds
# the sha256 of the current go.mod + go.sum + main.go.
# Go's module and build caches stay at their default locations (or wherever
# GOMODCACHE / GOCACHE point).
#
# Logs go to stderr; the last line on stdout is the binary's path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/otelcol"
cache="${WEFT_CACHE:-$HOME/.cache/weft}"
bin_dir="$cache/bin"
bin="$bin_dir/otelcol-bench"
stamp="$bin_dir/.otelcol-bench.sha256"

log() { echo "build-otelcol: $*" >&2; }

for f in go.mod go.sum main.go; do
  if [[ ! -f "$src/$f" ]]; then
    log "missing $src/$f"
    exit 1
  fi
done

want="$(cd "$src" && cat go.mod go.sum main.go | sha256sum | cut -d' ' -f1)"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "otelcol-bench up to date ($bin)"
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do
    if [[ -x "$d/go" ]]; then
      export PATH="$d:$PATH"
      break
    fi
  done
fi
if ! command -v go >/dev/null 2>&1; then
  log "go not found (not on PATH, /usr/local/go/bin or /usr/lib/go/bin)"
  exit 1
fi
log "using $(go version)"

mkdir -p "$bin_dir"
rm -f "$stamp"
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT

log "building otelcol-bench (first build downloads modules and takes a few minutes)"
start=$SECONDS
(
  cd "$src"
  # -mod=readonly: go.mod/go.sum are the pin; never rewrite them while building.
  # Symbols are kept so that perf/pprof can attribute time in the collector.
  go build -mod=readonly -trimpath -buildvcs=false -o "$tmp" . >&2
)
mv -f "$tmp" "$bin"
trap - EXIT
echo "$want" >"$stamp"
log "built $bin in $((SECONDS - start))s"
log "$("$bin" --version 2>&1 || true)"

echo "$bin"
