#!/usr/bin/env bash
# Installs what the end-to-end tests (test/e2e) need, into a cache outside the clone:
#   $WEFT_CACHE/venv           Python venv with test/e2e/requirements.txt
#   $WEFT_CACHE/bin/telemetrygen
#   $WEFT_CACHE/peers/<name>-<version>/  Jaeger and VictoriaLogs, built once per version
#   Debian prometheus, prometheus-node-exporter, docker-registry and chromium (apt-get, as root)
# WEFT_CACHE defaults to $HOME/.cache/weft. Idempotent: steps already done are skipped.
# Uses only package registries (PyPI, the Go module proxy, Debian).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEFT_CACHE="${WEFT_CACHE:-$HOME/.cache/weft}"
VENV="$WEFT_CACHE/venv"
REQS="$ROOT/test/e2e/requirements.txt"
TELEMETRYGEN_VERSION="${TELEMETRYGEN_VERSION:-v0.161.0}"

log() { echo "[setup-test-deps] $*" >&2; }

mkdir -p "$WEFT_CACHE/bin"

# --- Python venv -----------------------------------------------------------
make_venv() {
  python3 -m venv "$VENV"
}

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  log "creating venv at $VENV"
  rm -rf "$VENV"
  if ! make_venv; then
    rm -rf "$VENV"
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      log "python3 -m venv failed; installing python3-venv"
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
      make_venv
    else
      log "python3 -m venv failed and cannot install python3-venv (not root / no apt-get)"
      exit 1
    fi
  fi
fi

REQS_HASH="$( (cat "$REQS"; "$VENV/bin/python" --version 2>&1) | sha256sum | cut -d' ' -f1)"
STAMP="$VENV/.weft-requirements.sha256"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$REQS_HASH" ]]; then
  log "python requirements up to date"
else
  log "installing python requirements"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS"
  echo "$REQS_HASH" >"$STAMP"
fi

# --- telemetrygen ------------------------------------------------------------
TG="$WEFT_CACHE/bin/telemetrygen"
TG_STAMP="$WEFT_CACHE/bin/.telemetrygen.version"
if [[ -x "$TG" && -f "$TG_STAMP" && "$(cat "$TG_STAMP")" == "$TELEMETRYGEN_VERSION" ]]; then
  log "telemetrygen $TELEMETRYGEN_VERSION present"
else
  if ! command -v go >/dev/null; then
    if [[ -x /usr/local/go/bin/go ]]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      log "go not found; cannot build telemetrygen"
      exit 1
    fi
  fi
  log "building telemetrygen $TELEMETRYGEN_VERSION"
  GOBIN="$WEFT_CACHE/bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@${TELEMETRYGEN_VERSION}"
  echo "$TELEMETRYGEN_VERSION" >"$TG_STAMP"
fi

# --- peers: the real backends the tests talk to -----------------------------------------
# Debian packages (Prometheus, its node exporter); Go programs built once per version into
# $WEFT_CACHE/peers/<name>-<version>/<name> (test/e2e/peers.py finds them there).
need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v prometheus-node-exporter >/dev/null || need_apt+=(prometheus-node-exporter)
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v chromium >/dev/null || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    log "missing ${need_apt[*]} (Debian packages) and cannot install them (not root / no apt-get)"
    exit 1
  fi
fi

# build_peer NAME VERSION PACKAGE: `go build` of a program in a module of its own.
build_peer() {
  local name="$1" version="$2" package="$3"
  local dir="$WEFT_CACHE/peers/$name-$version"
  if [[ -x "$dir/$name" ]]; then
    log "$name $version present"
    return
  fi
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  log "building $name $version (once per version)"
  local src="$WEFT_CACHE/peers/src-$name-$version"
  rm -rf "$src" && mkdir -p "$src" "$dir"
  (cd "$src" && go mod init "weftpeers/$name" >/dev/null 2>&1 &&
    go get -tool "$package@$version" &&
    GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o "$dir/$name.tmp" "$package")
  mv "$dir/$name.tmp" "$dir/$name"
  rm -rf "$src"
}
build_peer jaeger v1.76.0 github.com/jaegertracing/jaeger/cmd/jaeger
build_peer victoria-logs v1.52.1 github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs

# --- data: a real IP-to-country MaxMind DB (from npm), for the geoip tests -------------------
GEO_DB_PACKAGE="@ip-location-db/geo-whois-asn-country-mmdb"
GEO_DB_VERSION="${GEO_DB_VERSION:-2.3.2026061719}"
geo_dir="$WEFT_CACHE/data/geo-whois-asn-country-$GEO_DB_VERSION"
if [[ -f "$geo_dir/geo-whois-asn-country.mmdb" ]]; then
  log "ip-location-db $GEO_DB_VERSION present"
else
  command -v npm >/dev/null || { log "npm not found; cannot fetch $GEO_DB_PACKAGE"; exit 1; }
  log "fetching $GEO_DB_PACKAGE $GEO_DB_VERSION"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$GEO_DB_PACKAGE@$GEO_DB_VERSION" >/dev/null &&
    tar xzf ./*.tgz)
  mkdir -p "$geo_dir"
  mv "$tmp/package/geo-whois-asn-country.mmdb" "$tmp/package/NRO_LICENSE" "$geo_dir/"
  rm -rf "$tmp"
fi

log "done: WEFT_BIN=... $VENV/bin/python -m pytest $ROOT/test/e2e"
