#!/usr/bin/env bash
# Installs what the build needs on a fresh Debian machine; quiet and quick when it is
# already there. Called by `make setup`, which every other make target depends on.
set -euo pipefail

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$(dirname "$0")/../rust-toolchain.toml")

# apt: cmake and libclang for unicorn-engine-sys (cmake build of its QEMU, bindgen).
apt_pkgs=(cmake libclang-dev pkg-config)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The pinned nightly with rust-src (for -Zbuild-std), clippy and rustfmt (make lint).
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 \
   || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src' \
   || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^clippy' \
   || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rustfmt'; then
  echo "setup: installing toolchain $toolchain"
  rustup toolchain install "$toolchain" --profile minimal -c rust-src -c clippy -c rustfmt >/dev/null
fi
