#!/usr/bin/env bash
# Installs @node-saml/node-saml (npm) for interop/node-saml-sp, the independent SAML service
# provider that the interoperability tests of Gatehouse's SAML IdP (internal/saas/samlidp) log
# into. Idempotent: does nothing when node_modules was installed from the current
# package-lock.json. The Go tests skip the peer when it is not installed (and fail instead when
# CI=true).
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-saml-sp"
stamp="$dir/node_modules/.gatehouse-lock.sha256"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-node-saml: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "install-node-saml: Node $major found, Node 20 or newer is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/@node-saml/node-saml/package.json" ]; then
  echo "install-node-saml: @node-saml/node-saml is up to date"
  exit 0
fi

echo "install-node-saml: installing @node-saml/node-saml into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
