#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs for keyline: system tools from apt (real peers
# for the tests: openssl, socat, stm32flash, chromium, gnutls, softhsm2) and npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in openssl socat stm32flash chromium gnutls-bin softhsm2 opensc; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
