#!/usr/bin/env bash
# Installs undici (the HTTP client under Node's own fetch, with its ProxyAgent) under
# interop/node-fetch-proxy, for TestInteropNodeFetchThroughGateway (internal/app). Idempotent: it
# does nothing when node_modules was installed from the current package-lock.json. Needs npm and
# Node.js 20.18 or newer. scripts/install-test-deps.sh runs it; the Go test skips (loudly) when
# the peer is missing, and fails instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-fetch-proxy"
stamp="$dir/node_modules/.gatehouse-install-stamp"

if ! command -v npm >/dev/null; then
  echo "install-node-fetch-proxy: npm is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -f $dir/node_modules/undici/package.json ]]; then
  echo "install-node-fetch-proxy: $dir is up to date"
  exit 0
fi

echo "install-node-fetch-proxy: installing $dir (npm ci)"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
