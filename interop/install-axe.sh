#!/usr/bin/env bash
# Installs axe-core (npm), the accessibility engine TestBrowserPages (internal/app) injects into
# every end-user page, into interop/axe-core/node_modules. Idempotent: does nothing when
# node_modules was installed from the current package-lock.json. The Go test skips without
# axe.min.js, and fails instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/axe-core"
stamp="$dir/node_modules/.gatehouse-lock.sha256"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-axe: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/axe-core/axe.min.js" ]; then
  echo "install-axe: axe-core is up to date"
  exit 0
fi

echo "install-axe: installing axe-core into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
