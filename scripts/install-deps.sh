#!/usr/bin/env bash
# Installs the Debian packages weft builds against, if any is missing.
# Idempotent and quiet when everything is there already.
set -euo pipefail

packages=(
  cmake ninja-build pkg-config ccache g++ clang lld clang-format clang-tidy
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libyaml-cpp-dev libsimdjson-dev libcli11-dev libspdlog-dev libfmt-dev
  zlib1g-dev libzstd-dev libsodium-dev libssl-dev openssl libcrypt-dev libcpp-httplib-dev
  libmaxminddb-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libclang-rt-14-dev
  wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 binaryen
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
