#!/usr/bin/env bash
# Packages, signs and pushes every example and bundled plugin (docs/packages.md):
#   REGISTRY=host[:port] [NAMESPACE=weft] [KEY=release.key] [VERSION=<weft's>] \
#   [CA_FILE=...] [PLUGINS_DIR=build/plugins] [WEFT=build/weft] scripts/publish-plugins.sh
# The C builds (and the bundled plugins) become NAMESPACE/<name>, the other SDK languages'
# builds NAMESPACE/<name>-<lang>. Credentials as for `weft plugin push` (the Docker config
# file or WEFT_REGISTRY_USERNAME/PASSWORD). Without KEY, a key pair publish.key/.pub is
# made in the current directory (and kept for the next run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${REGISTRY:?set REGISTRY=host[:port]}"
NAMESPACE="${NAMESPACE:-weft}"
WEFT="${WEFT:-$ROOT/build/weft}"
PLUGINS_DIR="${PLUGINS_DIR:-$(dirname "$WEFT")/plugins}"
VERSION="${VERSION:-$("$WEFT" --version | awk '{print $2}')}"
KEY="${KEY:-publish.key}"
flags=()
[[ -n "${CA_FILE:-}" ]] && flags+=(--ca-file "$CA_FILE")

if [[ ! -f "$KEY" ]]; then
  "$WEFT" plugin keygen "${KEY%.key}"
fi

# Test probes are not published.
skip='^(http_probe|pull_probe)$'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
count=0
publish() {  # publish MODULE NAME
  local module="$1" name="$2"
  local layout="$work/$name.oci"
  "$WEFT" plugin package --wasm "$module" --name "$name" --version "$VERSION" \
    --license Apache-2.0 --description "weft's $name plugin" --out "$layout" >/dev/null
  "$WEFT" plugin sign "$layout" --key "$KEY" >/dev/null
  "$WEFT" plugin push "$layout" "oci://$REGISTRY/$NAMESPACE/$name:$VERSION" "${flags[@]}"
  count=$((count + 1))
}
for module in "$PLUGINS_DIR"/*.wasm; do
  name="$(basename "$module" .wasm)"
  [[ "$name" =~ $skip ]] && continue
  publish "$module" "${name//_/-}"
done
for lang_dir in "$PLUGINS_DIR"/*/; do
  lang="$(basename "$lang_dir")"
  [[ "$lang" == native ]] && continue
  for module in "$lang_dir"*.wasm; do
    [[ -e "$module" ]] || continue
    publish "$module" "$(basename "$module" .wasm | tr _ -)-$lang"
  done
done
echo "published $count plugins to oci://$REGISTRY/$NAMESPACE/ as $VERSION, signed with $KEY"
