#!/usr/bin/env bash
# Interleaved kept-alive inspected comparison: Squid with SSL bump (configured as in
# bench/gateway.sh) and one or more Gatehouse binaries, measured in turn for ROUNDS rounds
# against one origin with one load generator (bench/proxyload, bench/upstream). On a shared
# machine whose speed drifts within minutes, rounds that alternate the proxies compare them
# more fairly than one measurement each; bench/gateway.sh remains the full benchmark.
#
# Usage: bash bench/gateway-ab.sh [GATEHOUSE_BINARY ...]   (default: a build of this checkout)
# Settings (environment): ROUNDS (4), DURATION (5s per measurement), CONCURRENCY (16),
# WARMUP (1s). Prints one line per proxy and round (req/s, proxy CPU µs per request, the load
# generator's and the origin's CPU µs per request) and the medians. Everything listens on
# 127.0.0.1 and is stopped on exit. Needs squid-openssl (bench/gateway.sh installs it).
set -euo pipefail

ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-5s}
CONCURRENCY=${CONCURRENCY:-16}
WARMUP=${WARMUP:-1s}

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/bin
mkdir -p "$BIN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-gw-ab.XXXXXX")
chmod 755 "$TMP" # Squid runs as the proxy user and reads its files here

log() { printf '[gw-ab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PIDS=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ $rc -ne 0 ]]; then log "failed (exit $rc); logs are in $TMP"; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
wait_port() { # wait_port PORT PID NAME
	for _ in $(seq 200); do
		kill -0 "$2" 2>/dev/null || die "$3 exited; see $TMP"
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	die "$3 did not listen on 127.0.0.1:$1 within 20 s"
}

command -v squid >/dev/null && [[ -x /usr/lib/squid/security_file_certgen ]] || die "squid-openssl is missing (bash bench/gateway.sh installs it)"
log "building bench/upstream and bench/proxyload"
(
	cd "$ROOT"
	timeout 300 go build -o "$BIN/bench-upstream" ./bench/upstream
	timeout 300 go build -o "$BIN/bench-proxyload" ./bench/proxyload
)
GATEHOUSES=("$@")
if ((${#GATEHOUSES[@]} == 0)); then
	log "building gatehouse"
	(cd "$ROOT" && timeout 600 go build -o "$BIN/gatehouse" ./cmd/gatehouse)
	GATEHOUSES=("$BIN/gatehouse")
fi
CLK_TCK=$(getconf CLK_TCK)

ORIGIN_PORT=$(free_port)
"$BIN/bench-upstream" -addr "127.0.0.1:$ORIGIN_PORT" -tls-dir "$TMP" -tls-names localhost,127.0.0.1 >"$TMP/origin.log" 2>&1 &
ORIGIN_PID=$!
PIDS+=("$ORIGIN_PID")
wait_port "$ORIGIN_PORT" "$ORIGIN_PID" origin
URL=https://localhost:$ORIGIN_PORT/

# Squid, as bench/gateway.sh configures its bump port.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=Gatehouse bench proxy CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$TMP/proxy-ca.key" -out "$TMP/proxy-ca.pem" 2>/dev/null
chmod 644 "$TMP/proxy-ca.key" # read by Squid's proxy user; a throw-away key in a temp dir
SQ_PORT=$(free_port)
mkdir -p "$TMP/squid"
printf '127.0.0.1 localhost\n' >"$TMP/squid/hosts"
/usr/lib/squid/security_file_certgen -c -s "$TMP/squid/ssl_db" -M 16MB >/dev/null
chown -R proxy:proxy "$TMP/squid"
cat >"$TMP/squid.conf" <<EOF
http_port 127.0.0.1:$SQ_PORT name=bump ssl-bump tls-cert=$TMP/proxy-ca.pem tls-key=$TMP/proxy-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
sslcrtd_program /usr/lib/squid/security_file_certgen -s $TMP/squid/ssl_db -M 16MB
sslcrtd_children 8 startup=2 idle=1
tls_outgoing_options cafile=$TMP/origin-ca.pem
hosts_file $TMP/squid/hosts
acl step1 at_step SslBump1
ssl_bump peek step1
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
squid -N -f "$TMP/squid.conf" >"$TMP/squid.log" 2>&1 &
SQ_PID=$!
PIDS+=("$SQ_PID")
wait_port "$SQ_PORT" "$SQ_PID" squid

# Gatehouse: one store and CA for every binary, a service token, the origin pinned and allowed.
GH_PORT=$(free_port)
GW_PORT=$(free_port)
SECRET=$(head -c 24 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
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
  gateway: "127.0.0.1:$GW_PORT"
storage:
  driver: sqlite
  dsn: "file:$TMP/gatehouse.db"
secrets:
  master_key_file: "$TMP/master.key"
log:
  format: json
service_tokens:
  - {id: bench, name: Gateway bench, client_id: bench.gateway, client_secret: "$SECRET"}
gateway:
  hosts: {localhost: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
  upstream_ca_files: ["$TMP/origin-ca.pem"]
  tls_decrypt: {enabled: true}
EOF
"${GATEHOUSES[0]}" gateway ca generate --activate --config "$TMP/gatehouse.yaml" >"$TMP/ca.log" 2>&1 || die "gateway ca generate: $(cat "$TMP/ca.log")"
CA_ID=$(awk '/^generated gateway CA/ {print $4; exit}' "$TMP/ca.log")
"${GATEHOUSES[0]}" gateway ca export "$CA_ID" --config "$TMP/gatehouse.yaml" --out "$TMP/gh-ca.pem" >>"$TMP/ca.log" 2>&1 ||
	die "gateway ca export: $(cat "$TMP/ca.log")"
GH_PROXY=http://bench.gateway:$SECRET@127.0.0.1:$GW_PORT

RESULTS=$TMP/results.txt
: >"$RESULTS"
measure() { # measure LABEL ROUND PID PROXY CA
	timeout 60 "$BIN/bench-proxyload" -proxy "$4" -url "$URL" -ca "$5" -c "$CONCURRENCY" -d "$WARMUP" >/dev/null || die "$1 warm-up failed"
	timeout 60 "$BIN/bench-proxyload" -proxy "$4" -url "$URL" -ca "$5" -c "$CONCURRENCY" -d "$DURATION" \
		-pid "$3" -origin-pid "$ORIGIN_PID" -clk-tck "$CLK_TCK" >"$TMP/run.json" || die "$1: proxyload failed"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
if r["errors"]:
    sys.exit("%s: %d failed requests" % (sys.argv[2], r["errors"]))
print("%s %s %.0f %.1f %.1f %.1f" % (sys.argv[2], sys.argv[3], r["rps"], r["proxy_cpu_us_per_request"], r["load_cpu_us_per_request"], r["origin_cpu_us_per_request"]))
' "$TMP/run.json" "$1" "$2" | tee -a "$RESULTS"
}
log "columns: proxy round req/s proxy-CPU-µs/req load-CPU-µs/req origin-CPU-µs/req"
for round in $(seq "$ROUNDS"); do
	measure squid "$round" "$SQ_PID" "http://127.0.0.1:$SQ_PORT" "$TMP/proxy-ca.pem"
	for i in "${!GATEHOUSES[@]}"; do
		"${GATEHOUSES[$i]}" serve --config "$TMP/gatehouse.yaml" >"$TMP/gatehouse.stdout.log" 2>"$TMP/gatehouse-$i.log" &
		pid=$!
		PIDS+=("$pid")
		wait_port "$GW_PORT" "$pid" "gatehouse-$i"
		measure "gatehouse-$i" "$round" "$pid" "$GH_PROXY" "$TMP/gh-ca.pem"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
done
for i in "${!GATEHOUSES[@]}"; do log "gatehouse-$i is ${GATEHOUSES[$i]}"; done
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, rnd, rps, cpu, load, origin in rows:
    by.setdefault(name, {})[rnd] = (float(rps), float(cpu))
squid = by.pop("squid")
print("proxy        median req/s  median CPU µs/req  median ratio to Squid in the same round: req/s  CPU")
s = list(squid.values())
print("squid        %12.0f  %17.1f" % (statistics.median(v[0] for v in s), statistics.median(v[1] for v in s)))
for name, runs in sorted(by.items()):
    v = list(runs.values())
    rps = statistics.median(r[0] / squid[k][0] for k, r in runs.items())
    cpu = statistics.median(r[1] / squid[k][1] for k, r in runs.items())
    print("%-12s %12.0f  %17.1f  %44.2f  %.2f" % (name, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v), rps, cpu))
EOF
