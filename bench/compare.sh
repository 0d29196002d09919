#!/usr/bin/env bash
# Before/after comparison of two Gatehouse builds on the same machine in the same run, for changes
# that must not cost speed (refactors, hot-path work):
#   (1) BenchmarkAuthorize (the authorization step on 10,000 apps and policies), ROUNDS runs of each
#       build interleaved, compared with benchstat;
#   (2) whole-process proxy throughput: both builds serve the same upstream with a valid session
#       cookie and hey loads them in turn, ROUNDS rounds of DURATION each, alternating which goes
#       first; the median requests/s of each and their ratio are printed.
# BASE is a git revision (default: the first parent of HEAD); the other build is the working tree.
# Everything listens on 127.0.0.1 only and is stopped on exit. Needs hey, which bench/run.sh
# installs into bench/bin (or this script does).
#
#   bench/compare.sh [BASE]        e.g. bench/compare.sh main~3
#
# Settings (environment): ROUNDS (5), DURATION (8s), CONCURRENCY (32), BENCHTIME (2s).
set -euo pipefail

BASE=${1:-HEAD~1}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
CONCURRENCY=${CONCURRENCY:-32}
BENCHTIME=${BENCHTIME:-2s}
HEY_VERSION=v0.1.5
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
APP_HOST=app.localhost

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/bin
mkdir -p "$BIN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-compare.XXXXXX")
log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PIDS=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	git -C "$ROOT" worktree remove --force "$TMP/base-src" >/dev/null 2>&1 || true
	if [[ $rc -ne 0 ]]; then log "failed (exit $rc); logs are in $TMP"; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x $BIN/hey ]] || GOBIN=$BIN timeout 600 go install "github.com/rakyll/hey@$HEY_VERSION"
[[ -x $BIN/benchstat ]] || GOBIN=$BIN timeout 600 go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" ||
	log "benchstat not installed; raw benchmark lines only"

BASE_REV=$(git -C "$ROOT" rev-parse --short "$BASE")
HEAD_DESC=$(git -C "$ROOT" rev-parse --short HEAD)
[[ -z $(git -C "$ROOT" status --porcelain -- internal cmd) ]] || HEAD_DESC+="+changes"
log "base $BASE_REV, new $HEAD_DESC"
git -C "$ROOT" worktree add --detach "$TMP/base-src" "$BASE_REV" >/dev/null 2>&1 || die "cannot check out $BASE"

# --- (1) the authorization step --------------------------------------------------------------------
log "BenchmarkAuthorize: $ROUNDS runs of each build, interleaved"
(cd "$TMP/base-src" && go test -c -o "$TMP/proxy-base.test" ./internal/proxy) || die "build base proxy test"
(cd "$ROOT" && go test -c -o "$TMP/proxy-new.test" ./internal/proxy) || die "build new proxy test"
for _ in $(seq "$ROUNDS"); do
	for which in base new; do
		(cd "$TMP" && "$TMP/proxy-$which.test" -test.run '^$' -test.bench '^BenchmarkAuthorize$' \
			-test.benchmem -test.benchtime "$BENCHTIME") | grep '^Benchmark' >>"$TMP/authorize-$which.txt"
	done
done
if [[ -x $BIN/benchstat ]]; then
	"$BIN/benchstat" "base=$TMP/authorize-base.txt" "new=$TMP/authorize-new.txt"
else
	cat "$TMP/authorize-base.txt" "$TMP/authorize-new.txt"
fi

# --- (2) whole-process throughput ------------------------------------------------------------------
log "building both binaries and the bench helpers"
(cd "$TMP/base-src" && go build -o "$TMP/gatehouse-base" ./cmd/gatehouse) || die "build base"
(cd "$ROOT" && go build -o "$TMP/gatehouse-new" ./cmd/gatehouse && go build -o "$TMP/upstream" ./bench/upstream &&
	go build -o "$TMP/login" ./bench/login) || die "build new"

free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	die "no free port"
}
wait_http() {
	for _ in $(seq 100); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true) == 200 ]] && return 0
		sleep 0.2
	done
	die "$1 did not answer 200"
}

UP_PORT=$(free_port)
"$TMP/upstream" -addr "127.0.0.1:$UP_PORT" >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$UP_PORT/"

declare -A PORT COOKIE
for which in base new; do
	dir=$TMP/$which
	mkdir -p "$dir"
	head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$dir/master.key"
	chmod 600 "$dir/master.key"
	PORT[$which]=$(free_port)
	cat >"$dir/gatehouse.yaml" <<EOF
version: 1
organization: {name: Compare, auth_domain: auth.localhost}
listen: {public: "127.0.0.1:${PORT[$which]}", internal: "127.0.0.1:0"}
storage: {driver: sqlite, dsn: "file:$dir/gatehouse.db"}
secrets: {master_key_file: "$dir/master.key"}
log: {format: json}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - {id: app, name: App, destinations: [$APP_HOST], upstream: "http://127.0.0.1:$UP_PORT", policies: [{ref: p, precedence: 1}]}
policies:
  - {id: p, decision: allow, include: [{email_domain: {domain: example.com}}]}
EOF
	"$TMP/gatehouse-$which" serve --config "$dir/gatehouse.yaml" >/dev/null 2>"$dir/gatehouse.log" &
	PIDS+=($!)
	for _ in $(seq 100); do grep -q '"gatehouse listening"' "$dir/gatehouse.log" && break; sleep 0.2; done
	COOKIE[$which]=$(timeout 60 "$TMP/login" -addr "127.0.0.1:${PORT[$which]}" -app "$APP_HOST" -email bench@example.com -log "$dir/gatehouse.log")
	[[ -n ${COOKIE[$which]} ]] || die "$which: no session cookie"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $APP_HOST:${PORT[$which]}" \
		-H "Cookie: Gatehouse_Authorization=${COOKIE[$which]}" "http://127.0.0.1:${PORT[$which]}/")
	[[ $code == 200 ]] || die "$which answered $code with its session cookie"
done

run_hey() {
	local which=$1 secs=$2
	timeout $((${secs%s} + 60)) "$BIN/hey" -z "$secs" -c "$CONCURRENCY" -host "$APP_HOST:${PORT[$which]}" \
		-H "Cookie: Gatehouse_Authorization=${COOKIE[$which]}" "http://127.0.0.1:${PORT[$which]}/"
}
for which in base new; do run_hey "$which" 2s >/dev/null; done # warm-up
declare -A RPS
for round in $(seq "$ROUNDS"); do
	order="base new"
	((round % 2 == 0)) && order="new base"
	for which in $order; do
		out=$(run_hey "$which" "$DURATION")
		non200=$(awk '/^ *\[[0-9]+\]/ && $1 != "[200]" {n += $2} END {print n + 0}' <<<"$out")
		((non200 == 0)) || die "$which: $non200 non-200 responses"
		rps=$(awk '/Requests\/sec:/ {print $2; exit}' <<<"$out")
		RPS[$which]+="$rps "
		log "round $round $which: $rps req/s"
	done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
MB=$(median "${RPS[base]}")
MN=$(median "${RPS[new]}")
echo
echo "whole-process throughput (hey -z $DURATION -c $CONCURRENCY, $ROUNDS rounds, $(nproc) cores shared by load, proxy and upstream)"
echo "  base $BASE_REV: median $MB req/s  (${RPS[base]% })"
echo "  new  $HEAD_DESC: median $MN req/s  (${RPS[new]% })"
echo "  new / base: $(awk -v a="$MN" -v b="$MB" 'BEGIN {printf "%.3f", a / b}')"
