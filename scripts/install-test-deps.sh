#!/usr/bin/env bash
# Installs what the interoperability and browser tests need beyond Go, idempotently:
# Debian's Chromium and xmlsec1, and the npm peers under interop/ (each has its own installer).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

if ! command -v xmlsec1 >/dev/null 2>&1; then
  echo "installing xmlsec1 (Debian package; verifies the SAML IdP's signatures)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq xmlsec1 >/dev/null
fi

for installer in interop/install*.sh; do
  [ -e "$installer" ] || continue
  echo "running $installer"
  bash "$installer"
done
