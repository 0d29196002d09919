#!/usr/bin/env bash
# Proxy overhead benchmark: the same load generator (hey), concurrency and duration against
#   (a) a small upstream directly,
#   (b) Caddy reverse_proxy to that upstream,
#   (c) Gatehouse proxying to that upstream with a valid session cookie,
# then a summary on stdout and the section between the proxy-bench markers of bench/RESULTS.md.
# Everything listens on 127.0.0.1 only and is stopped on exit. See bench/README.md.
#
# Settings (environment): DURATION (10s), CONCURRENCY (32), WARMUP (2s), PROFILE (1: capture a
# Gatehouse CPU profile under load after the measured runs; 0: skip), PROFILE_SECONDS (10),
# KEEP_TMP (1: keep the temp dir with configs and logs).
set -euo pipefail

DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
WARMUP=${WARMUP:-2s}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
KEEP_TMP=${KEEP_TMP:-0}
CADDY_VERSION=v2.11.9
HEY_VERSION=v0.1.5
APP_HOST=app.localhost
EMAIL=bench@example.com

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/bin
OUT=$BENCH/out
RESULTS=$BENCH/RESULTS.md
mkdir -p "$BIN" "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- process bookkeeping: every process started here is stopped on exit -----------------------
PIDS=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		# Give each process up to 5 s to stop, then kill it.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 ]]; then
		log "failed (exit $rc); logs are in $TMP"
		for f in "$TMP"/*.log; do
			[[ -f $f ]] || continue
			log "--- last lines of $(basename "$f")"
			tail -n 15 "$f" >&2 || true
		done
	elif [[ $KEEP_TMP == 1 ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: runs CMD in the background with stdout+stderr in $TMP/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	log "started $name (pid $!)"
}

# alive PID NAME: fails if the process has exited.
alive() { kill -0 "$1" 2>/dev/null || die "$2 exited; see $TMP/$2.log"; }

# --- helpers -----------------------------------------------------------------------------------

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# wait_http URL WANT_CODE [curl args...]: polls for up to 20 s until URL answers WANT_CODE.
wait_http() {
	local url=$1 want=$2 code=""
	shift 2
	for _ in $(seq 100); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" || true)
		[[ $code == "$want" ]] && return 0
		sleep 0.2
	done
	die "$url did not answer $want within 20 s (last: ${code:-none})"
}

# seconds DURATION: a hey/Go duration (e.g. 10s, 1m, 1m30s) in whole seconds, rounded up.
seconds() {
	local d=$1 total=0 n unit
	while [[ $d =~ ^([0-9]+)(ms|s|m|h)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $unit in
		ms) total=$((total + (n + 999) / 1000)) ;;
		s) total=$((total + n)) ;;
		m) total=$((total + n * 60)) ;;
		h) total=$((total + n * 3600)) ;;
		esac
	done
	[[ -z $d ]] || die "cannot parse duration '$1' (use e.g. 10s, 1m, 1m30s)"
	echo "$total"
}
DUR_S=$(seconds "$DURATION")
WARM_S=$(seconds "$WARMUP")
((DUR_S > 0)) || die "DURATION must be positive"

# --- tools: caddy and hey with GOBIN, only if missing; gatehouse and the helpers every run -------
mod_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $3; exit}'; }
install_tool() {
	local bin=$1 pkg=$2 version=$3
	if [[ -x $BIN/$bin && $(mod_version "$BIN/$bin") == "$version" ]]; then
		log "$bin $version already in bench/bin"
		return
	fi
	log "installing $pkg@$version into bench/bin (Caddy takes a minute or two)"
	GOBIN=$BIN timeout 1200 go install "$pkg@$version"
}
install_tool caddy github.com/caddyserver/caddy/v2/cmd/caddy "$CADDY_VERSION"
install_tool hey github.com/rakyll/hey "$HEY_VERSION"

log "building gatehouse and the bench helpers"
(
	cd "$ROOT"
	timeout 600 go build -o "$BIN/gatehouse" ./cmd/gatehouse
	timeout 300 go build -o "$BIN/bench-upstream" ./bench/upstream
	timeout 300 go build -o "$BIN/bench-login" ./bench/login
)

# --- upstream ------------------------------------------------------------------------------------
UP_PORT=$(free_port)
start upstream "$BIN/bench-upstream" -addr "127.0.0.1:$UP_PORT"
UP_PID=${PIDS[-1]}
UP_URL=http://127.0.0.1:$UP_PORT/
wait_http "$UP_URL" 200
UP_BODY=$(curl -s --max-time 2 "$UP_URL")
UP_BYTES=$(curl -s -o /dev/null -w '%{size_download}' --max-time 2 "$UP_URL")

# --- Caddy ---------------------------------------------------------------------------------------
CADDY_PORT=$(free_port)
mkdir -p "$TMP/caddy-home"
cat >"$TMP/Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
	default_bind 127.0.0.1
}

http://127.0.0.1:$CADDY_PORT {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$UP_PORT
}
EOF
start caddy env HOME="$TMP/caddy-home" XDG_DATA_HOME="$TMP/caddy-home/data" XDG_CONFIG_HOME="$TMP/caddy-home/config" \
	"$BIN/caddy" run --config "$TMP/Caddyfile" --adapter caddyfile
CADDY_PID=${PIDS[-1]}
CADDY_URL=http://127.0.0.1:$CADDY_PORT/
wait_http "$CADDY_URL" 200
alive "$CADDY_PID" caddy

# --- Gatehouse -----------------------------------------------------------------------------------
GH_PORT=$(free_port)
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$TMP/master.key"
chmod 600 "$TMP/master.key"
cat >"$TMP/gatehouse.yaml" <<EOF
version: 1
organization:
  name: Gatehouse bench
  auth_domain: auth.localhost
listen:
  public: "127.0.0.1:$GH_PORT"
  internal: "127.0.0.1:0"
storage:
  driver: sqlite
  dsn: "file:$TMP/gatehouse.db"
secrets:
  master_key_file: "$TMP/master.key"
log:
  format: json
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - id: app
    name: Bench app
    type: self_hosted
    destinations: [$APP_HOST]
    upstream: "http://127.0.0.1:$UP_PORT"
    policies: [{ref: example-com, precedence: 1}]
policies:
  - id: example-com
    name: Anyone at example.com
    decision: allow
    include: [{email_domain: {domain: example.com}}]
EOF
"$BIN/gatehouse" config validate "$TMP/gatehouse.yaml" >/dev/null
# The JSON log (access log included) goes to stderr: that file is also where the PIN is read.
"$BIN/gatehouse" serve --config "$TMP/gatehouse.yaml" >"$TMP/gatehouse.stdout.log" 2>"$TMP/gatehouse.log" &
PIDS+=($!)
GH_PID=$!
log "started gatehouse (pid $GH_PID)"
GH_INTERNAL=""
for _ in $(seq 100); do
	alive "$GH_PID" gatehouse
	GH_INTERNAL=$(sed -n 's/.*"msg":"gatehouse listening".*"internal":"\([^"]*\)".*/\1/p' "$TMP/gatehouse.log" | head -n1)
	[[ -n $GH_INTERNAL ]] && break
	sleep 0.2
done
[[ -n $GH_INTERNAL ]] || die "gatehouse did not log its listeners within 20 s"
wait_http "http://$GH_INTERNAL/readyz" 200
GH_URL=http://127.0.0.1:$GH_PORT/
GH_HOST=$APP_HOST:$GH_PORT

log "logging in as $EMAIL through the PIN flow"
COOKIE=$(timeout 60 "$BIN/bench-login" -addr "127.0.0.1:$GH_PORT" -app "$APP_HOST" -email "$EMAIL" -log "$TMP/gatehouse.log")
[[ -n $COOKIE ]] || die "login printed no cookie"

# Without the cookie a non-browser request must be refused, with it the upstream must answer.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $GH_HOST" "$GH_URL")
[[ $code == 401 || $code == 302 ]] || die "Gatehouse answered $code without a cookie (want 401 or 302)"
code=$(curl -s -o "$TMP/gh-check.body" -w '%{http_code}' --max-time 5 -H "Host: $GH_HOST" \
	-H "Cookie: Gatehouse_Authorization=$COOKIE" "$GH_URL")
[[ $code == 200 ]] || die "Gatehouse answered $code with the session cookie (want 200 from the upstream)"
[[ $(cat "$TMP/gh-check.body") == "$UP_BODY" ]] || die "Gatehouse's 200 is not the upstream's body"
log "cookie check: 401/302 without it, the upstream's 200 with it"

# --- load ----------------------------------------------------------------------------------------
# bench NAME URL [hey args...]: a warm-up, then the measured run, whose numbers go to
# RPS/P50/P99/TOTAL/NON200[NAME]. hey_run SECONDS [hey args...] URL: a bounded hey run.
declare -A RPS P50 P99 TOTAL NON200
hey_run() {
	local secs=$1
	shift
	timeout $((secs + 60)) "$BIN/hey" -z "${secs}s" -c "$CONCURRENCY" "$@"
}
bench() {
	local name=$1 url=$2
	shift 2
	local out=$OUT/hey-$name.txt
	if ((WARM_S > 0)); then
		log "$name: warm-up $WARMUP"
		hey_run "$WARM_S" "$@" "$url" >/dev/null
	fi
	log "$name: hey -z $DURATION -c $CONCURRENCY"
	timeout $((DUR_S + 60)) "$BIN/hey" -z "$DURATION" -c "$CONCURRENCY" "$@" "$url" >"$out"
	RPS[$name]=$(awk '/Requests\/sec:/ {print $2; exit}' "$out")
	# hey prints latencies in seconds ("  50%% in 0.0012 secs": v0.1.5 doubles the %); keep milliseconds.
	P50[$name]=$(awk '$1 ~ /^50%+$/ && $2 == "in" {printf "%.2f", $3 * 1000; exit}' "$out")
	P99[$name]=$(awk '$1 ~ /^99%+$/ && $2 == "in" {printf "%.2f", $3 * 1000; exit}' "$out")
	TOTAL[$name]=$(awk '/^ *\[[0-9]+\]/ {n += $2} END {print n + 0}' "$out")
	NON200[$name]=$(awk '/^ *\[[0-9]+\]/ && $1 != "[200]" {n += $2} END {print n + 0}' "$out")
	if grep -q '^Error distribution:' "$out"; then
		NON200[$name]=$((NON200[$name] + $(awk '/^Error distribution:/ {e = 1; next} e && /\[[0-9]+\]/ {gsub(/[][]/, "", $1); n += $1} END {print n + 0}' "$out")))
	fi
	[[ -n ${RPS[$name]} && -n ${P50[$name]} && -n ${P99[$name]} ]] || die "could not parse $out"
	((TOTAL[$name] > 0)) || die "$name: no responses (see $out)"
	log "$name: ${RPS[$name]} req/s, p50 ${P50[$name]} ms, p99 ${P99[$name]} ms, ${NON200[$name]} non-200/errors of ${TOTAL[$name]}"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
bench direct "$UP_URL"
alive "$UP_PID" upstream
bench caddy "$CADDY_URL"
alive "$CADDY_PID" caddy
bench gatehouse "$GH_URL" -host "$GH_HOST" -H "Cookie: Gatehouse_Authorization=$COOKIE"
alive "$GH_PID" gatehouse
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
GH_LOG_LINES=$(wc -l <"$TMP/gatehouse.log")

for name in direct caddy gatehouse; do
	((NON200[$name] == 0)) || die "$name had ${NON200[$name]} non-200 responses or errors; see $OUT/hey-$name.txt"
done

# --- optional CPU profile of Gatehouse under the same load (after, so it does not skew the runs) ----
PROFILE_TOP=""
if [[ $PROFILE == 1 ]]; then
	log "profiling gatehouse for ${PROFILE_SECONDS}s under the same load"
	hey_run $((PROFILE_SECONDS + 3)) -host "$GH_HOST" -H "Cookie: Gatehouse_Authorization=$COOKIE" "$GH_URL" >"$OUT/hey-gatehouse-profile.txt" &
	HEY_PROF_PID=$!
	PIDS+=("$HEY_PROF_PID")
	sleep 1
	prof_ok=0
	curl -s --fail --max-time $((PROFILE_SECONDS + 30)) -o "$OUT/gatehouse-cpu.pprof" \
		"http://$GH_INTERNAL/debug/pprof/profile?seconds=$PROFILE_SECONDS" && prof_ok=1
	wait "$HEY_PROF_PID" || true
	if [[ $prof_ok != 1 ]]; then
		log "warning: could not fetch the CPU profile"
	elif go tool pprof -top -nodecount=40 "$BIN/gatehouse" "$OUT/gatehouse-cpu.pprof" >"$OUT/gatehouse-cpu-top.txt" 2>"$TMP/pprof.log" &&
		go tool pprof -top -cum -nodecount=40 "$BIN/gatehouse" "$OUT/gatehouse-cpu.pprof" >"$OUT/gatehouse-cpu-top-cum.txt" 2>>"$TMP/pprof.log"; then
		PROFILE_TOP=$(awk '/^ *flat / {p = 1; print; next} p && n < 15 {print; n++}' "$OUT/gatehouse-cpu-top.txt")
	else
		log "warning: go tool pprof failed: $(cat "$TMP/pprof.log")"
	fi
fi

# --- summary -------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f", a - b}'; }
GH_CADDY=$(ratio "${RPS[gatehouse]}" "${RPS[caddy]}")
GH_DIRECT=$(ratio "${RPS[gatehouse]}" "${RPS[direct]}")
CADDY_DIRECT=$(ratio "${RPS[caddy]}" "${RPS[direct]}")
GH_P99_OVER=$(diff_ms "${P99[gatehouse]}" "${P99[direct]}")
CADDY_P99_OVER=$(diff_ms "${P99[caddy]}" "${P99[direct]}")
GH_P50_OVER=$(diff_ms "${P50[gatehouse]}" "${P50[direct]}")
CADDY_P50_OVER=$(diff_ms "${P50[caddy]}" "${P50[direct]}")

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
GO_VERSION=$(go env GOVERSION)
CADDY_VER=$("$BIN/caddy" version 2>/dev/null | awk '{print $1; exit}')
[[ -n $CADDY_VER && $CADDY_VER != unknown ]] || CADDY_VER=$(mod_version "$BIN/caddy") # go install builds say "unknown"
HEY_VER=$(mod_version "$BIN/hey")
GH_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- . ':(exclude)bench' 2>/dev/null) ]]; then
	GH_COMMIT="$GH_COMMIT (with uncommitted changes outside bench/)"
fi

SECTION=$TMP/section.md
{
	echo "<!-- proxy-bench:start -->"
	echo "## Proxy overhead: direct vs Caddy vs Gatehouse"
	echo
	echo "Written by \`bench/run.sh\`; rerun it to replace this section."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| date | $STARTED_AT |"
	echo "| machine | $(nproc) cores (nproc), $CPU_MODEL, $(uname -sr) |"
	echo "| load average (1/5/15 min) before / after the runs | $LOAD_BEFORE / $LOAD_AFTER |"
	echo "| Go | $GO_VERSION (GOMAXPROCS default) |"
	echo "| Caddy | $CADDY_VER, \`reverse_proxy\`, no access log |"
	echo "| Gatehouse | $GH_COMMIT, SQLite, JSON access log to a file (one line per request) |"
	echo "| tool | hey $HEY_VER: \`hey -z $DURATION -c $CONCURRENCY\` per target after a $WARMUP warm-up, HTTP/1.1 keep-alive, GET / |"
	echo "| upstream | bench/upstream: 200 with a $UP_BYTES-byte body |"
	echo
	echo "| target | requests/s | p50 (ms) | p99 (ms) | responses |"
	echo "|---|---:|---:|---:|---:|"
	for name in direct caddy gatehouse; do
		case $name in
		direct) label="(a) upstream directly" ;;
		caddy) label="(b) Caddy reverse_proxy" ;;
		gatehouse) label="(c) Gatehouse, valid session cookie" ;;
		esac
		echo "| $label | ${RPS[$name]} | ${P50[$name]} | ${P99[$name]} | ${TOTAL[$name]} × 200 |"
	done
	echo
	echo "| ratio | value |"
	echo "|---|---:|"
	echo "| **Gatehouse / Caddy throughput** | **$GH_CADDY** |"
	echo "| Gatehouse / direct throughput | $GH_DIRECT |"
	echo "| Caddy / direct throughput | $CADDY_DIRECT |"
	echo "| **Gatehouse p99 overhead over direct** | **$GH_P99_OVER ms** |"
	echo "| Caddy p99 overhead over direct | $CADDY_P99_OVER ms |"
	echo "| Gatehouse p50 overhead over direct | $GH_P50_OVER ms |"
	echo "| Caddy p50 overhead over direct | $CADDY_P50_OVER ms |"
	echo
	echo "The load generator, the upstream and the proxy share the machine's $(nproc) cores (and, on a"
	echo "shared machine, whatever else runs: see the load average), so the numbers compare the"
	echo "targets with each other in one run; they are not the capacity of a dedicated server."
	echo "Each target was measured once, one after the other. Gatehouse wrote $GH_LOG_LINES log"
	echo "lines in the run (its per-request access log), which Caddy (no access log) does not pay for."
	if [[ -n $PROFILE_TOP ]]; then
		echo
		echo "Gatehouse CPU profile (${PROFILE_SECONDS} s from the internal listener's /debug/pprof/profile under the"
		echo "same load, taken after the measured runs; full output in bench/out/, top by flat time):"
		echo
		echo '```'
		echo "$PROFILE_TOP"
		echo '```'
	fi
	echo "<!-- proxy-bench:end -->"
} >"$SECTION"

# Replace only our section; keep everything else (other benchmarks) as it is.
if [[ -f $RESULTS ]] && grep -q '<!-- proxy-bench:start -->' "$RESULTS" && grep -q '<!-- proxy-bench:end -->' "$RESULTS"; then
	awk -v section="$SECTION" '
		/<!-- proxy-bench:start -->/ {while ((getline line < section) > 0) print line; skip = 1; next}
		/<!-- proxy-bench:end -->/ {skip = 0; next}
		!skip {print}
	' "$RESULTS" >"$TMP/RESULTS.md"
	cat "$TMP/RESULTS.md" >"$RESULTS"
elif [[ -f $RESULTS ]]; then
	{ echo; cat "$SECTION"; } >>"$RESULTS"
else
	{ echo "# Benchmark results"; echo; cat "$SECTION"; } >"$RESULTS"
fi

# --- stdout summary ------------------------------------------------------------------------------
printf '\n%-30s %12s %10s %10s\n' target "requests/s" "p50 ms" "p99 ms"
for name in direct caddy gatehouse; do
	printf '%-30s %12s %10s %10s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}"
done
printf '\nGatehouse/Caddy throughput: %s   Gatehouse/direct: %s   Caddy/direct: %s\n' "$GH_CADDY" "$GH_DIRECT" "$CADDY_DIRECT"
printf 'p99 overhead over direct: Gatehouse %s ms, Caddy %s ms\n' "$GH_P99_OVER" "$CADDY_P99_OVER"
printf 'settings: hey %s -z %s -c %s (warm-up %s), %s cores, load average %s -> %s\n' \
	"$HEY_VER" "$DURATION" "$CONCURRENCY" "$WARMUP" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER"
if [[ -n $PROFILE_TOP ]]; then
	printf '\nGatehouse CPU profile, top by flat time (bench/out/gatehouse-cpu-top*.txt):\n%s\n' "$PROFILE_TOP"
fi
printf '\nwrote %s\n' "$RESULTS"
