#!/usr/bin/env bash
# Gateway (forward proxy) benchmark: Squid with SSL bump (Debian squid-openssl), mitmproxy
# (Debian, mitmdump) and Gatehouse's gateway, loaded in one run by one load generator
# (bench/proxyload: HTTPS through the proxy with CONNECT) against one local TLS origin
# (bench/upstream -tls-dir). Per proxy and mode: requests/s, errors, latency, and the proxy's CPU
# time per request read from /proc (the process and its helpers), for
#   inspected, kept-alive   the proxy decrypts; one TLS session per client connection, reused;
#   inspected, new conn.    a new proxy connection, CONNECT and TLS handshake per request;
#   peek + splice           (Squid) the proxy reads the ClientHello, then tunnels unread;
#   blind tunnel            CONNECT spliced without looking (kept-alive and new connections).
# Gatehouse is measured in the modes it supports: blind tunnels always; inspection when the build
# has it (`gatehouse gateway ca generate --activate` and `gateway.tls_decrypt` accepted by
# `gatehouse config validate`), detected at run time.
# The results go between the gateway-bench markers of bench/RESULTS.md. Everything listens on
# 127.0.0.1 only and is stopped on exit; every step is bounded in time (a run takes 3-4 minutes).
#
# Each inspecting proxy also meets SNI_BURST never-seen server names at once (one new connection
# each, n0.sni.bench.test …, all resolving to the origin, which has a certificate per name).
#
# Settings (environment): DURATION (5s per measurement), CONCURRENCY (16), WARMUP (1s),
# SNI_BURST (256; 0 skips it), KEEP_TMP (1: keep the temp dir with configs and logs),
# INSTALL (0: do not apt-get install).
set -euo pipefail

DURATION=${DURATION:-5s}
CONCURRENCY=${CONCURRENCY:-16}
WARMUP=${WARMUP:-1s}
KEEP_TMP=${KEEP_TMP:-0}
INSTALL=${INSTALL:-1}
SNI_BURST=${SNI_BURST:-256}
ORIGIN_HOST=localhost
SNI_SUFFIX=.sni.bench.test

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/bin
OUT=$BENCH/out
RESULTS=$BENCH/RESULTS.md
mkdir -p "$BIN" "$OUT"
rm -f "$OUT"/gw-*.json "$OUT"/gw-gatehouse-inspect.log # this run's results only
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-gw-bench.XXXXXX")
chmod 755 "$TMP" # Squid runs as the proxy user and reads its files here

log() { printf '[gw-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- process bookkeeping: every process started here is stopped on exit -----------------------
PIDS=()
POLICY_RC_ADDED=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	((POLICY_RC_ADDED)) && rm -f /usr/sbin/policy-rc.d
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

# stop PID: stops one process this script started.
stop() {
	local pid=$1
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# free_port: a port nothing listens on, below the ephemeral range: the thousands of connections a
# run opens take ephemeral ports, and a listener cannot bind one that a connection holds.
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# wait_port PORT PID NAME: waits up to 20 s for PORT to accept connections.
wait_port() {
	for _ in $(seq 200); do
		kill -0 "$2" 2>/dev/null || die "$3 exited; see $TMP/$3.log"
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	die "$3 did not listen on 127.0.0.1:$1 within 20 s"
}

# --- tools ---------------------------------------------------------------------------------------
if ! command -v squid >/dev/null || [[ ! -x /usr/lib/squid/security_file_certgen ]] || ! command -v mitmdump >/dev/null; then
	[[ $INSTALL == 1 ]] || die "squid-openssl and mitmproxy are missing (INSTALL=0)"
	log "installing squid-openssl and mitmproxy from Debian"
	# Keep the packages' init scripts from starting a system-wide Squid on :3128.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_ADDED=1
	fi
	timeout 120 apt-get update -qq
	DEBIAN_FRONTEND=noninteractive timeout 420 apt-get install -y -qq --no-install-recommends squid-openssl mitmproxy >"$TMP/apt.log" 2>&1 ||
		die "apt-get install failed; see $TMP/apt.log"
fi
SQUID_VER=$(squid -v | awk '/Version/ {print $4; exit}')
MITM_VER=$(mitmdump --version 2>/dev/null | awk '/^Mitmproxy:/ {print $2; exit}')

log "building gatehouse, bench/upstream and bench/proxyload"
(
	cd "$ROOT"
	timeout 600 go build -o "$BIN/gatehouse" ./cmd/gatehouse
	timeout 300 go build -o "$BIN/bench-upstream" ./bench/upstream
	timeout 300 go build -o "$BIN/bench-proxyload" ./bench/proxyload
)
CLK_TCK=$(getconf CLK_TCK)

# --- origin and the proxies' CA ------------------------------------------------------------------
ORIGIN_PORT=$(free_port)
start origin "$BIN/bench-upstream" -addr "127.0.0.1:$ORIGIN_PORT" -tls-dir "$TMP" -tls-names "$ORIGIN_HOST,127.0.0.1" -sni-suffix "$SNI_SUFFIX"
ORIGIN_PID=${PIDS[-1]}
wait_port "$ORIGIN_PORT" "$ORIGIN_PID" origin
ORIGIN_CA=$TMP/origin-ca.pem
URL=https://$ORIGIN_HOST:$ORIGIN_PORT/
curl -s --fail --max-time 5 --cacert "$ORIGIN_CA" -o /dev/null "$URL" || die "the origin does not answer at $URL"

# One inspection CA for Squid and mitmproxy (Gatehouse makes and keeps its own).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=Gatehouse bench proxy CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$TMP/proxy-ca.key" -out "$TMP/proxy-ca.pem" 2>/dev/null
chmod 644 "$TMP/proxy-ca.key" # read by Squid's proxy user; a throw-away key in a temp dir

DUR_S=${DURATION%s}
WARM_S=${WARMUP%s}
[[ $DUR_S =~ ^[0-9]+$ && $WARM_S =~ ^[0-9]+$ ]] || die "DURATION and WARMUP are whole seconds (e.g. 5s)"

# measure TOOL MODE PID PROXY_URL CA KEEPALIVE: a warm-up, then a measured proxyload run whose JSON
# goes to $OUT/gw-TOOL-MODE.json and whose summary goes into the RESULT table.
declare -A RESULT
measure() {
	local tool=$1 mode=$2 pid=$3 proxy=$4 ca=$5 ka=$6 out=$OUT/gw-$1-$2.json
	kill -0 "$pid" 2>/dev/null || die "$tool is not running"
	if ((WARM_S > 0)); then
		timeout $((WARM_S + 30)) "$BIN/bench-proxyload" -proxy "$proxy" -url "$URL" -ca "$ca" -c "$CONCURRENCY" -d "$WARMUP" -keepalive="$ka" >/dev/null ||
			die "$tool $mode warm-up failed"
	fi
	timeout $((DUR_S + 30)) "$BIN/bench-proxyload" -proxy "$proxy" -url "$URL" -ca "$ca" -c "$CONCURRENCY" -d "$DURATION" \
		-keepalive="$ka" -pid "$pid" -origin-pid "$ORIGIN_PID" -clk-tck "$CLK_TCK" >"$out" || die "$tool $mode: proxyload failed"
	RESULT[$tool/$mode]=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f|%.0f|%d|%d|%.2f|%.2f|%.0f|%.0f|%.0f" % (r["rps"], r.get("proxy_cpu_us_per_request", 0), r["requests"], r["errors"], r["p50_ms"], r["p99_ms"],
    r.get("load_cpu_us_per_request", 0), r.get("origin_cpu_us_per_request", 0), r.get("ceiling_rps", 0)))
' "$out")
	log "$tool $mode: ${RESULT[$tool/$mode]} (req/s|proxy CPU µs/req|requests|errors|p50|p99|load CPU µs/req|origin CPU µs/req|ceiling req/s)"
}

# measure_burst TOOL PID PROXY_URL CA: SNI_BURST requests at once, each to a name of its own.
BURST_URL="https://n%d$SNI_SUFFIX:$ORIGIN_PORT/"
measure_burst() {
	local tool=$1 pid=$2 proxy=$3 ca=$4 out=$OUT/gw-$1-sni-burst.json
	((SNI_BURST > 0)) || return 0
	kill -0 "$pid" 2>/dev/null || die "$tool is not running"
	timeout 60 "$BIN/bench-proxyload" -proxy "$proxy" -url "$BURST_URL" -ca "$ca" -burst "$SNI_BURST" -timeout 30s \
		-pid "$pid" -clk-tck "$CLK_TCK" >"$out" || die "$tool SNI burst: proxyload failed"
	RESULT[$tool/sni-burst]=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%d|%d|%.2f|%.0f|%.0f" % (r["requests"], r["errors"], r["seconds"], r.get("proxy_cpu_us_per_request", 0), r["p99_ms"]))
' "$out")
	log "$tool SNI burst: ${RESULT[$tool/sni-burst]} (ok|failed|seconds|proxy CPU µs/conn|p99 ms)"
}
SNI_NAMES=()
for ((i = 0; i < SNI_BURST; i++)); do SNI_NAMES+=("n$i$SNI_SUFFIX"); done

# --- Squid: one instance, three ports (bump all, peek then splice, plain CONNECT) ---------------
SQ_BUMP=$(free_port)
SQ_SPLICE=$(free_port)
SQ_PLAIN=$(free_port)
mkdir -p "$TMP/squid"
printf '127.0.0.1 %s\n' "$ORIGIN_HOST" "${SNI_NAMES[@]}" >"$TMP/squid/hosts" # the origin listens on IPv4 only
/usr/lib/squid/security_file_certgen -c -s "$TMP/squid/ssl_db" -M 16MB >/dev/null
chown -R proxy:proxy "$TMP/squid"
cat >"$TMP/squid.conf" <<EOF
http_port 127.0.0.1:$SQ_BUMP name=bump ssl-bump tls-cert=$TMP/proxy-ca.pem tls-key=$TMP/proxy-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
http_port 127.0.0.1:$SQ_SPLICE name=splice ssl-bump tls-cert=$TMP/proxy-ca.pem tls-key=$TMP/proxy-ca.key generate-host-certificates=on
http_port 127.0.0.1:$SQ_PLAIN name=plain
sslcrtd_program /usr/lib/squid/security_file_certgen -s $TMP/squid/ssl_db -M 16MB
sslcrtd_children 8 startup=2 idle=1
tls_outgoing_options cafile=$ORIGIN_CA
hosts_file $TMP/squid/hosts
acl step1 at_step SslBump1
acl splice_port myportname splice
ssl_bump peek step1
ssl_bump splice splice_port
ssl_bump bump all
acl localnet src 127.0.0.1/32
http_access allow localnet
http_access deny all
cache deny all
pid_filename $TMP/squid/squid.pid
cache_log $TMP/squid/cache.log
access_log stdio:$TMP/squid/access.log
coredump_dir $TMP/squid
shutdown_lifetime 1 seconds
EOF
chown proxy:proxy "$TMP/squid"
squid -k parse -f "$TMP/squid.conf" >"$TMP/squid-parse.log" 2>&1 || die "squid rejected its configuration; see $TMP/squid-parse.log"
start squid squid -N -f "$TMP/squid.conf"
SQ_PID=${PIDS[-1]}
wait_port "$SQ_BUMP" "$SQ_PID" squid
wait_port "$SQ_PLAIN" "$SQ_PID" squid
curl -s --fail --max-time 10 -x "http://127.0.0.1:$SQ_BUMP" --cacert "$TMP/proxy-ca.pem" -o /dev/null "$URL" ||
	die "Squid's bumped request failed; see $TMP/squid/cache.log"
measure squid inspect-keepalive "$SQ_PID" "http://127.0.0.1:$SQ_BUMP" "$TMP/proxy-ca.pem" true
measure squid inspect-newconn "$SQ_PID" "http://127.0.0.1:$SQ_BUMP" "$TMP/proxy-ca.pem" false
measure squid splice-keepalive "$SQ_PID" "http://127.0.0.1:$SQ_SPLICE" "$ORIGIN_CA" true
measure squid splice-newconn "$SQ_PID" "http://127.0.0.1:$SQ_SPLICE" "$ORIGIN_CA" false
measure squid blind-keepalive "$SQ_PID" "http://127.0.0.1:$SQ_PLAIN" "$ORIGIN_CA" true
measure squid blind-newconn "$SQ_PID" "http://127.0.0.1:$SQ_PLAIN" "$ORIGIN_CA" false
measure_burst squid "$SQ_PID" "http://127.0.0.1:$SQ_BUMP" "$TMP/proxy-ca.pem"
stop "$SQ_PID"

# --- mitmproxy: mitmdump intercepting, then with every host ignored (a blind tunnel) -------------
mkdir -p "$TMP/mitm"
cat "$TMP/proxy-ca.key" "$TMP/proxy-ca.pem" >"$TMP/mitm/mitmproxy-ca.pem"
# mitmproxy resolves with the system resolver: this addon sends the burst's names to the origin.
cat >"$TMP/mitm/pin.py" <<EOF
class Pin:
    def server_connect(self, data):
        host, port = data.server.address
        if host.endswith("$SNI_SUFFIX"):
            data.server.address = ("127.0.0.1", port)


addons = [Pin()]
EOF
mitm() {
	local port=$1
	shift
	start "mitmdump-$port" mitmdump --listen-host 127.0.0.1 --listen-port "$port" --set confdir="$TMP/mitm" \
		--set ssl_verify_upstream_trusted_ca="$ORIGIN_CA" --set http2=false -s "$TMP/mitm/pin.py" "$@"
	wait_port "$port" "${PIDS[-1]}" "mitmdump-$port"
}
MITM_PORT=$(free_port)
mitm "$MITM_PORT"
MITM_PID=${PIDS[-1]}
curl -s --fail --max-time 10 -x "http://127.0.0.1:$MITM_PORT" --cacert "$TMP/proxy-ca.pem" -o /dev/null "$URL" ||
	die "mitmproxy's intercepted request failed; see $TMP/mitmdump-$MITM_PORT.log"
measure mitmproxy inspect-keepalive "$MITM_PID" "http://127.0.0.1:$MITM_PORT" "$TMP/proxy-ca.pem" true
measure mitmproxy inspect-newconn "$MITM_PID" "http://127.0.0.1:$MITM_PORT" "$TMP/proxy-ca.pem" false
measure_burst mitmproxy "$MITM_PID" "http://127.0.0.1:$MITM_PORT" "$TMP/proxy-ca.pem"
stop "$MITM_PID"
MITM_PORT=$(free_port)
mitm "$MITM_PORT" --ignore-hosts '.*'
MITM_PID=${PIDS[-1]}
measure mitmproxy blind-keepalive "$MITM_PID" "http://127.0.0.1:$MITM_PORT" "$ORIGIN_CA" true
measure mitmproxy blind-newconn "$MITM_PID" "http://127.0.0.1:$MITM_PORT" "$ORIGIN_CA" false
stop "$MITM_PID"

# --- Gatehouse's gateway: a service token, the origin pinned and allowed -------------------------
GH_PORT=$(free_port)
GW_PORT=$(free_port)
GH_SECRET=$(head -c 24 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$TMP/master.key"
chmod 600 "$TMP/master.key"
gh_config() { # gh_config FILE [extra gateway YAML lines]
	local f=$1
	shift
	cat >"$f" <<EOF
version: 1
organization:
  name: Gatehouse bench
  auth_domain: auth.localhost
listen:
  public: "127.0.0.1:$GH_PORT"
  internal: "127.0.0.1:0"
  gateway: "127.0.0.1:$GW_PORT"
storage:
  driver: sqlite
  dsn: "file:$TMP/gatehouse.db"
secrets:
  master_key_file: "$TMP/master.key"
log:
  format: json
service_tokens:
  - {id: bench, name: Gateway bench, client_id: bench.gateway, client_secret: "$GH_SECRET"}
gateway:
  hosts: {$ORIGIN_HOST: 127.0.0.1$(printf ', %s: 127.0.0.1' "${SNI_NAMES[@]}")}
  allowed_private_networks: [127.0.0.0/8]
  upstream_ca_files: ["$ORIGIN_CA"]
EOF
	for line in "$@"; do echo "  $line" >>"$f"; done
}
# Inspection support: the CA commands and the gateway.tls_decrypt setting. Settings this build
# does not know (upstream_ca_files before inspection) are left out rather than failing the run.
GH_INSPECT=0
gh_config "$TMP/gatehouse.yaml"
if ! "$BIN/gatehouse" config validate "$TMP/gatehouse.yaml" >"$TMP/gh-validate.log" 2>&1; then
	sed -i '/upstream_ca_files/d' "$TMP/gatehouse.yaml"
	"$BIN/gatehouse" config validate "$TMP/gatehouse.yaml" >"$TMP/gh-validate.log" 2>&1 || die "gatehouse config: $(cat "$TMP/gh-validate.log")"
fi
# grep reads the whole help: with -q it could exit first, and the help's SIGPIPE would fail the pipe.
if "$BIN/gatehouse" gateway ca generate --help 2>/dev/null | grep -- '--activate' >/dev/null; then
	# Cloudflare's shape (tls_decrypt.enabled) first, then a plain boolean.
	for shape in "{enabled: true}" "true"; do
		cp "$TMP/gatehouse.yaml" "$TMP/gatehouse-inspect.yaml"
		echo "  tls_decrypt: $shape" >>"$TMP/gatehouse-inspect.yaml"
		if "$BIN/gatehouse" config validate "$TMP/gatehouse-inspect.yaml" >"$TMP/gh-validate-inspect.log" 2>&1; then
			GH_INSPECT=1
			break
		fi
	done
fi
log "gatehouse: inspection supported by this build: $([[ $GH_INSPECT == 1 ]] && echo yes || echo no)"

gh_start() { # gh_start CONFIG
	"$BIN/gatehouse" serve --config "$1" >"$TMP/gatehouse.stdout.log" 2>"$TMP/gatehouse.log" &
	PIDS+=($!)
	GH_PID=$!
	log "started gatehouse (pid $GH_PID)"
	wait_port "$GW_PORT" "$GH_PID" gatehouse
}
GH_PROXY=http://bench.gateway:$GH_SECRET@127.0.0.1:$GW_PORT
gh_start "$TMP/gatehouse.yaml"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$GW_PORT" --cacert "$ORIGIN_CA" "$URL" || true)
[[ $code == 000 || $code == 407 ]] || die "gatehouse let a request without credentials through ($code)"
curl -s --fail --max-time 10 -x "$GH_PROXY" --cacert "$ORIGIN_CA" -o /dev/null "$URL" ||
	die "a tunnel through Gatehouse's gateway failed; see $TMP/gatehouse.log"
measure gatehouse blind-keepalive "$GH_PID" "$GH_PROXY" "$ORIGIN_CA" true
measure gatehouse blind-newconn "$GH_PID" "$GH_PROXY" "$ORIGIN_CA" false
stop "$GH_PID"
if [[ $GH_INSPECT == 1 ]]; then
	"$BIN/gatehouse" gateway ca generate --activate --config "$TMP/gatehouse-inspect.yaml" >"$TMP/gh-ca.log" 2>&1 || die "gateway ca generate: $(cat "$TMP/gh-ca.log")"
	GH_CA_ID=$(awk '/^generated gateway CA/ {print $4; exit}' "$TMP/gh-ca.log")
	[[ -n $GH_CA_ID ]] || die "gateway ca generate printed no ID: $(cat "$TMP/gh-ca.log")"
	"$BIN/gatehouse" gateway ca export "$GH_CA_ID" --config "$TMP/gatehouse-inspect.yaml" --out "$TMP/gh-ca.pem" >>"$TMP/gh-ca.log" 2>&1 ||
		die "gateway ca export: $(cat "$TMP/gh-ca.log")"
	gh_start "$TMP/gatehouse-inspect.yaml"
	# The client trusts only Gatehouse's CA: a 200 means the gateway decrypted the request.
	if curl -s --fail --max-time 10 -x "$GH_PROXY" --cacert "$TMP/gh-ca.pem" -o /dev/null "$URL" 2>"$TMP/gh-inspect-check.log"; then
		measure gatehouse inspect-keepalive "$GH_PID" "$GH_PROXY" "$TMP/gh-ca.pem" true
		measure gatehouse inspect-newconn "$GH_PID" "$GH_PROXY" "$TMP/gh-ca.pem" false
		measure_burst gatehouse "$GH_PID" "$GH_PROXY" "$TMP/gh-ca.pem"
		stop "$GH_PID"
		# Peek + splice: an `off` (Do Not Inspect) rule for the origin: the gateway reads the
		# ClientHello, checks the SNI against the CONNECT authority, then tunnels unread.
		cp "$TMP/gatehouse-inspect.yaml" "$TMP/gatehouse-splice.yaml"
		cat >>"$TMP/gatehouse-splice.yaml" <<EOF2
  rules:
    - {id: dni-origin, name: Do not inspect the origin, precedence: 1, enabled: true, action: "off", traffic: 'http.request.host == "$ORIGIN_HOST"'}
EOF2
		gh_start "$TMP/gatehouse-splice.yaml"
		# The client trusts only the origin's CA: a 200 means the tunnel was spliced, not decrypted.
		curl -s --fail --max-time 10 -x "$GH_PROXY" --cacert "$ORIGIN_CA" -o /dev/null "$URL" ||
			die "a Do Not Inspect tunnel through Gatehouse failed; see $TMP/gatehouse.log"
		measure gatehouse splice-keepalive "$GH_PID" "$GH_PROXY" "$ORIGIN_CA" true
		measure gatehouse splice-newconn "$GH_PID" "$GH_PROXY" "$ORIGIN_CA" false
	else
		GH_INSPECT=2
		cp "$TMP/gatehouse.log" "$OUT/gw-gatehouse-inspect.log"
		log "warning: the build accepts tls_decrypt but an inspected request failed; see bench/out/gw-gatehouse-inspect.log"
	fi
	stop "$GH_PID"
fi

# --- summary -------------------------------------------------------------------------------------
for k in "${!RESULT[@]}"; do
	[[ $k == */sni-burst ]] && continue
	IFS='|' read -r _ _ n e _ _ <<<"${RESULT[$k]}"
	((n > 0)) || die "$k: no successful requests"
done
cell() { # cell TOOL/MODE FIELD(1 req/s, 2 µs/req, 4 errors)
	local v=${RESULT[$1]:-}
	[[ -n $v ]] || { echo "n/a"; return; }
	echo "$v" | cut -d'|' -f"$2"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "n/a") printf "%.2f", a / b; else print "n/a"}'; }

TLS_SEEN=$(cat "$OUT"/gw-*.json | python3 -c 'import json, sys; print(", ".join(sorted({json.loads(l).get("tls", "?") for l in sys.stdin if l.strip()})))')
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
GH_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION=$TMP/section.md
{
	echo "<!-- gateway-bench:start -->"
	echo "## Gateway: Squid (SSL bump) vs mitmproxy vs Gatehouse (\`bench/gateway.sh\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "Command: \`DURATION=$DURATION CONCURRENCY=$CONCURRENCY bash bench/gateway.sh\`. Machine: $(nproc) cores, $CPU_MODEL,"
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (shared machine: other work competes for the cores)."
	echo "Squid $SQUID_VER (Debian squid-openssl; \`-N\`, one worker, access log on, \`ssl_bump bump all\` after peeking at"
	echo "step 1, leaf certificates from \`security_file_certgen\`), mitmproxy $MITM_VER (Debian, \`mitmdump\`, default flow log"
	echo "to a file, \`http2=false\`), Gatehouse $GH_COMMIT (SQLite, JSON request log; service-token credentials, origin"
	echo "pinned with \`gateway.hosts\` and \`allowed_private_networks: [127.0.0.0/8]\`). Every proxy verifies the origin's"
	echo "certificate against the origin's CA. Load: \`bench/proxyload\` (Go net/http through the proxy with CONNECT,"
	echo "HTTP/1.1 inside TLS), $CONCURRENCY workers for $DURATION after a $WARMUP warm-up, \`GET\` of a 100-byte"
	echo "body from \`bench/upstream -tls-dir\` on 127.0.0.1. Proxy CPU is the user+system time of the proxy process and"
	echo "its helpers (/proc/PID/stat) over the measured run, divided by the requests completed: for new connections"
	echo "it is the CPU per connection (one request each)."
	echo
	echo "| mode | Squid req/s | Squid CPU µs/req | mitmproxy req/s | mitmproxy CPU µs/req | Gatehouse req/s | Gatehouse CPU µs/req |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for mode in inspect-keepalive inspect-newconn splice-keepalive splice-newconn blind-keepalive blind-newconn; do
		case $mode in
		inspect-keepalive) label="inspected, kept-alive" ;;
		inspect-newconn) label="inspected, new connection per request" ;;
		splice-keepalive) label="peek + splice, kept-alive" ;;
		splice-newconn) label="peek + splice, new connection" ;;
		blind-keepalive) label="blind CONNECT tunnel, kept-alive" ;;
		blind-newconn) label="blind CONNECT tunnel, new connection" ;;
		esac
		echo "| $label | $(cell squid/$mode 1) | $(cell squid/$mode 2) | $(cell mitmproxy/$mode 1) | $(cell mitmproxy/$mode 2) | $(cell gatehouse/$mode 1) | $(cell gatehouse/$mode 2) |"
	done
	echo
	if ((SNI_BURST > 0)); then
		echo "$SNI_BURST never-seen server names at once (\`proxyload -burst $SNI_BURST\`: one new connection and request per"
		echo "name, all started together; the proxy mints a certificate per name, the origin presents one per name):"
		echo
		echo "| proxy | completed | failed | time to finish all (s) | proxy CPU µs per connection | p99 (ms) |"
		echo "|---|---:|---:|---:|---:|---:|"
		for tool in squid mitmproxy gatehouse; do
			v=${RESULT[$tool/sni-burst]:-}
			if [[ -z $v ]]; then
				echo "| $tool | n/a | n/a | n/a | n/a | n/a |"
				continue
			fi
			IFS='|' read -r ok failed secs cpu p99 <<<"$v"
			echo "| $tool | $ok | $failed | $secs | $cpu | $p99 |"
		done
		echo
	fi
	errs=0
	for k in "${!RESULT[@]}"; do
		[[ $k == */sni-burst ]] && continue
		errs=$((errs + $(cell "$k" 4)))
	done
	echo "Failed requests over all runs: $errs. TLS inside the tunnels: $TLS_SEEN."
	echo "Squid peek + splice / blind tunnel req/s: kept-alive $(ratio "$(cell squid/splice-keepalive 1)" "$(cell squid/blind-keepalive 1)"),"
	echo "new connections $(ratio "$(cell squid/splice-newconn 1)" "$(cell squid/blind-newconn 1)")."
	echo "Gatehouse peek + splice / blind tunnel req/s: kept-alive $(ratio "$(cell gatehouse/splice-keepalive 1)" "$(cell gatehouse/blind-keepalive 1)"),"
	echo "new connections $(ratio "$(cell gatehouse/splice-newconn 1)" "$(cell gatehouse/blind-newconn 1)")."
	echo "Gatehouse / Squid blind tunnel req/s: kept-alive $(ratio "$(cell gatehouse/blind-keepalive 1)" "$(cell squid/blind-keepalive 1)"),"
	echo "new connections $(ratio "$(cell gatehouse/blind-newconn 1)" "$(cell squid/blind-newconn 1)")."
	if [[ $GH_INSPECT == 2 ]]; then
		echo "This Gatehouse build accepts \`gateway.tls_decrypt\` but a request through it with only its CA trusted failed"
		echo "(\`bench/out/gw-gatehouse-inspect.log\`), so its inspected modes are not measured."
	elif [[ $GH_INSPECT == 1 ]]; then
		echo "Gatehouse / Squid inspected req/s: kept-alive $(ratio "$(cell gatehouse/inspect-keepalive 1)" "$(cell squid/inspect-keepalive 1)"),"
		echo "new connections $(ratio "$(cell gatehouse/inspect-newconn 1)" "$(cell squid/inspect-newconn 1)")."
		echo "Gatehouse / Squid proxy CPU per inspected request: kept-alive $(ratio "$(cell gatehouse/inspect-keepalive 2)" "$(cell squid/inspect-keepalive 2)"),"
		echo "new connections $(ratio "$(cell gatehouse/inspect-newconn 2)" "$(cell squid/inspect-newconn 2)")."
		local_need=$(awk -v c="$(nproc)" -v r="$(cell squid/inspect-keepalive 1)" -v l="$(cell gatehouse/inspect-keepalive 7)" -v o="$(cell gatehouse/inspect-keepalive 8)" \
			'BEGIN {if (r > 0) printf "%.0f", c * 1e6 / (2 * r) - l - o; else print "n/a"}')
		echo "The load generator and the origin share the $(nproc) cores with the proxy: through Gatehouse they spent"
		echo "$(cell gatehouse/inspect-keepalive 7) and $(cell gatehouse/inspect-keepalive 8) µs of CPU per kept-alive inspected request (through Squid"
		echo "$(cell squid/inspect-keepalive 7) and $(cell squid/inspect-keepalive 8)); a proxy costing nothing would reach $(cell gatehouse/inspect-keepalive 9) req/s here."
		echo "Squid runs one worker (one core); to reach twice its kept-alive rate on these $(nproc) cores beside the load"
		echo "generator and the origin, a proxy would have to spend at most $local_need µs of CPU per request."
	else
		echo "This Gatehouse build has no TLS inspection (no \`gateway.tls_decrypt\`): only its blind tunnel is measured;"
		echo "the script measures inspection as soon as the build supports it."
	fi
	echo "Load generator, origin and proxy share the cores, so compare the proxies within one run; raw JSON per run is"
	echo "in \`bench/out/gw-*.json\`."
	echo "<!-- gateway-bench:end -->"
} >"$SECTION"

if [[ -f $RESULTS ]] && grep -q '<!-- gateway-bench:start -->' "$RESULTS" && grep -q '<!-- gateway-bench:end -->' "$RESULTS"; then
	awk -v section="$SECTION" '
		/<!-- gateway-bench:start -->/ {while ((getline line < section) > 0) print line; skip = 1; next}
		/<!-- gateway-bench:end -->/ {skip = 0; next}
		!skip {print}
	' "$RESULTS" >"$TMP/RESULTS.md"
	cat "$TMP/RESULTS.md" >"$RESULTS"
elif [[ -f $RESULTS ]]; then
	{ echo; cat "$SECTION"; } >>"$RESULTS"
else
	{ echo "# Benchmark results"; echo; cat "$SECTION"; } >"$RESULTS"
fi
cat "$SECTION"
