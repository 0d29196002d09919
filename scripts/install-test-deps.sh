#!/usr/bin/env bash
# Installs what the interoperability and browser tests need beyond Go, idempotently:
# Debian's Chromium and xmlsec1, gitleaks (go install, into .tools/bin) and the npm peers under
# interop/ (each has its own installer; interop/README.md lists them). `make deps` runs it, and
# `make test` runs it first, so that a missing tool stops the run before the long targets rather
# than after them.
#
# What is already installed is skipped (a second run takes a second or two). Debian packages are
# installed with apt-get, as root or through sudo; without apt-get (another distribution, macOS)
# the script names what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "install-test-deps: $*"; }
die() {
  echo "install-test-deps: $*" >&2
  exit 1
}

# Node.js runs the npm peers; the installers under interop/ need node 20 or newer and npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "node and npm are required (Node.js 20 or newer) for the npm interoperability peers.
  Install them first: on Debian 13 or Ubuntu 24.04, apt-get install nodejs npm; elsewhere see
  https://nodejs.org/en/download. Then run make deps again."
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  die "Node.js $node_major found, Node.js 20 or newer is required by the npm interoperability peers."
fi

# Debian packages, by the command the tests run: chromium (browser tests, DLP PDF interop),
# xmlsec1 (verifies the SAML IdP's signatures) and certutil from libnss3-tools (installs the
# gateway's CA in a test browser profile's NSS database, as an administrator would).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing: ${missing[*]} (the tests run the commands chromium, xmlsec1 and certutil from PATH).
  This script installs them with apt-get (Debian, Ubuntu), which is not available here.
  Install them with your system's package manager (for example: dnf install chromium xmlsec1 nss-tools;
  brew install chromium libxmlsec1 nss) so that these commands are on PATH, then run make deps again."
  fi
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
    say "not root: using sudo to install ${missing[*]}"
  else
    die "missing: ${missing[*]}; installing them needs root, and this user is not root and has no sudo.
  Run as root: apt-get install ${missing[*]}; then run make deps again."
  fi
  say "installing ${missing[*]} (Debian packages)"
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  for pkg in "${missing[@]}"; do
    cmd="$pkg"
    [ "$pkg" = libnss3-tools ] && cmd=certutil
    command -v "$cmd" >/dev/null 2>&1 || die "apt-get installed $pkg but the command $cmd is not on PATH"
  done
else
  say "chromium, xmlsec1 and certutil are installed"
fi

GITLEAKS_VERSION=v8.30.1
if ! go version -m .tools/bin/gitleaks 2>/dev/null | grep -q "gitleaks/v8[[:space:]]*$GITLEAKS_VERSION"; then
  say "installing gitleaks $GITLEAKS_VERSION into .tools/bin (the DLP secrets comparison runs it)"
  GOBIN="$PWD/.tools/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi

for installer in interop/install*.sh; do
  [ -e "$installer" ] || continue
  bash "$installer"
done
