#!/usr/bin/env bash
# The C++ SDK needs clang with wasi-libc and libc++'s headers for wasm32 (Debian packages,
# installed by scripts/install-deps.sh with everything weft builds against).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/install-deps.sh"
