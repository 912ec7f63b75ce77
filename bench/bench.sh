#!/usr/bin/env bash
# `make bench`: measures weft against the Go OpenTelemetry Collector and against its own
# plugins built natively, then regenerates docs/performance.md from the results.
#   1. builds the Go collector (bench/build-otelcol.sh; cached in $WEFT_CACHE/bin);
#   2. the Wasm boundary micro-benchmarks  -> bench/results/wasm_boundary.json;
#   3. the collector benchmark (bench/run.py) -> bench/results/collector.json, and perf
#      profiles of the runs named in run.py's PROFILES -> bench/results/profiles/ (if perf
#      works here; `apt-get install linux-perf`);
#   4. the edges benchmark (bench/edges.py: the bundled zipkin, prometheus and
#      prometheusremotewrite components against the Go collector's) -> bench/results/edges.json;
#   5. start-up with plugin packages (bench/packages.py) -> bench/results/packages.json;
#   6. the report (bench/report.py)         -> docs/performance.md, docs/img/perf-*.png.
# Usage: bench/bench.sh BUILD_DIR. BENCH_ARGS passes extra arguments to bench/run.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:?usage: bench/bench.sh BUILD_DIR}"
WEFT_CACHE="${WEFT_CACHE:-$HOME/.cache/weft}"
VENV="$WEFT_CACHE/bench-venv"
log() { echo "[bench] $*" >&2; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -r "$ROOT/bench/requirements.txt"

if ! command -v perf >/dev/null && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  log "installing linux-perf for the profiles"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null || true
fi

OTELCOL="$("$ROOT/bench/build-otelcol.sh" | tail -n 1)"
mkdir -p "$ROOT/bench/results"

log "Wasm boundary micro-benchmarks"
# Pinned like the collector runs (where there is a second CPU); the median of 5 repetitions.
PIN=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=(taskset -c 1); fi
"${PIN[@]}" "$BUILD_DIR/weft_bench" --benchmark_min_time=0.3 --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$ROOT/bench/results/wasm_boundary.json" --benchmark_out_format=json

log "collector benchmark (weft, weft-native, otelcol)"
# shellcheck disable=SC2086
"$VENV/bin/python" "$ROOT/bench/run.py" --build "$BUILD_DIR" --otelcol "$OTELCOL" \
  --profiles "$ROOT/bench/results/profiles" ${BENCH_ARGS:-}

log "edges benchmark (bundled plugin-backed components against the Go collector's)"
"$VENV/bin/python" "$ROOT/bench/edges.py" --build "$BUILD_DIR" --otelcol "$OTELCOL"

log "plugin packages: start-up from the package cache against files"
"$VENV/bin/python" "$ROOT/bench/packages.py" --build "$BUILD_DIR"

"$VENV/bin/python" "$ROOT/bench/report.py"
log "wrote docs/performance.md"
