#!/usr/bin/env bash
# Installs the independent SCIM implementations (npm: scim2-parse-filter, scim-patch, scimmy)
# that TestInteropSCIMCrossCheck (internal/scim/patch) runs against Gatehouse's filter parser and
# PATCH engine, into interop/scim-crosscheck/node_modules. Idempotent: does nothing when
# node_modules was installed from the current package-lock.json. The Go test skips without
# node_modules, and fails instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/scim-crosscheck"
stamp="$dir/node_modules/.gatehouse-lock.sha256"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-scim: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "install-scim: Node $major found, Node 20 or newer is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
  && [ -d "$dir/node_modules/scim2-parse-filter" ] && [ -d "$dir/node_modules/scim-patch" ] \
  && [ -d "$dir/node_modules/scimmy" ]; then
  echo "install-scim: SCIM peers are up to date"
  exit 0
fi

echo "install-scim: installing scim2-parse-filter, scim-patch and scimmy into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
