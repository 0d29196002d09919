#!/usr/bin/env bash
# Installs what the interoperability and browser tests need beyond Go, idempotently:
# Debian's Chromium and xmlsec1, gitleaks (go install, into .tools/bin) and the npm peers under
# interop/ (each has its own installer).
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

GITLEAKS_VERSION=v8.30.1
if ! go version -m .tools/bin/gitleaks 2>/dev/null | grep -q "gitleaks/v8[[:space:]]*$GITLEAKS_VERSION"; then
  echo "installing gitleaks $GITLEAKS_VERSION into .tools/bin (the DLP secrets comparison runs it)"
  GOBIN="$PWD/.tools/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi

for installer in interop/install*.sh; do
  [ -e "$installer" ] || continue
  echo "running $installer"
  bash "$installer"
done
