#!/usr/bin/env bash
# Runs every libFuzzer target of a `make fuzz-build` tree: first over the inputs kept in
# fuzz/regressions/<target> (each must pass), then for SECONDS from the seeds in
# fuzz/corpus/<target>, new inputs going to a corpus in the cache; SECONDS=smoke instead
# runs a fixed number of inputs with a fixed seed (what `make test` does). A crash stops the run; the
# crashing input is left in the cache directory printed, to be fixed and then kept as a
# regression case.
set -euo pipefail
FUZZ_DIR=${1:?usage: run-fuzzers.sh FUZZ_DIR SECONDS}
SECONDS_EACH=${2:-60}  # or smoke
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WEFT_CACHE:-$HOME/.cache/weft}/fuzz-work
mkdir -p "$WORK"
for bin in "$FUZZ_DIR"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  regressions="$ROOT/fuzz/regressions/$name"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    "$bin" -runs=0 "$regressions"/* >"$WORK/$name.regressions.log" 2>&1 || {
      cat "$WORK/$name.regressions.log"; echo "$name: a kept input fails again"; exit 1; }
  fi
  mkdir -p "$WORK/crashes-$name"
  if [ "$SECONDS_EACH" = smoke ]; then
    # Deterministic, for `make test`: a fixed seed and number of runs from the repo's seeds
    # only, so that the same commit always fuzzes the same inputs.
    corpus=$(mktemp -d)
    limit=(-runs=20000 -seed=1)
    echo "fuzzing $name: 20000 runs from the seeds"
  else
    corpus="$WORK/corpus-$name"  # grows from run to run
    mkdir -p "$corpus"
    limit=(-max_total_time="$SECONDS_EACH")
    echo "fuzzing $name for ${SECONDS_EACH}s"
  fi
  if ! "$bin" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$WORK/crashes-$name/" "$corpus" "$ROOT/fuzz/corpus/$name" \
      >"$WORK/$name.log" 2>&1; then
    tail -40 "$WORK/$name.log"
    echo "$name found a failing input: $(ls -t "$WORK/crashes-$name" | head -1) in $WORK/crashes-$name"
    exit 1
  fi
  [ "$SECONDS_EACH" = smoke ] && rm -rf "$corpus"
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$WORK/$name.log" | tr '\n' ' '
  echo
done
