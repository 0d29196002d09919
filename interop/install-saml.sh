#!/usr/bin/env bash
# Installs the SAML interoperability peers that are not Go modules: samlify (npm) for
# interop/samlify-idp. Idempotent: does nothing when node_modules matches package-lock.json.
# Used by `make test-interop`; the Go tests skip the samlify IdP when it is not installed
# (and fail instead when CI=true).
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/samlify-idp"
stamp="$dir/node_modules/.gatehouse-lock.sha256"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-saml: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "install-saml: Node $major found, Node 20 or newer is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dir/node_modules/samlify" ]; then
  echo "install-saml: samlify is up to date"
  exit 0
fi

echo "install-saml: installing samlify into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
