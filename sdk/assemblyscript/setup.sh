#!/usr/bin/env bash
# The AssemblyScript SDK needs Node.js and npm (Debian packages nodejs and npm when
# missing) and the pinned assemblyscript compiler from npm (package-lock.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v npm >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
[ -x node_modules/.bin/asc ] || npm ci --no-audit --no-fund --loglevel=error
