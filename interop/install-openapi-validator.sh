#!/usr/bin/env bash
# Installs two independent OpenAPI validators from npm under interop/openapi-validator, for
# TestInteropOpenAPIValidators in internal/admin: @seriousme/openapi-schema-validator (the
# official OpenAPI 3.1 JSON Schema) and @readme/openapi-parser (schema plus semantic rules),
# driven by validate.mjs on the system's Node (20 or newer). Idempotent: it does nothing when
# node_modules was installed from the current package-lock.json. Needs npm.
# scripts/install-test-deps.sh runs it; the Go test skips (loudly) when the peer is missing, and
# fails instead when CI=true.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/openapi-validator"
stamp="$dir/node_modules/.gatehouse-install-stamp"

if ! command -v npm >/dev/null; then
  echo "install-openapi-validator: npm is required" >&2
  exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" &&
  -f $dir/node_modules/@seriousme/openapi-schema-validator/package.json &&
  -f $dir/node_modules/@readme/openapi-parser/package.json ]]; then
  echo "install-openapi-validator: $dir is up to date"
  exit 0
fi

echo "install-openapi-validator: installing $dir (npm ci)"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo '{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{}}' >"$dir/node_modules/.selftest.json"
if ! node "$dir/validate.mjs" "$dir/node_modules/.selftest.json" | grep -q '"valid":true'; then
  echo "install-openapi-validator: validate.mjs does not run" >&2
  exit 1
fi
echo "$want" >"$stamp"
