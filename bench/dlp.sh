#!/usr/bin/env bash
# DLP benchmark against gitleaks:
#  1. throughput: whole-process runs of `gatehouse dlp scan` (profile "all", every predefined entry)
#     and gitleaks (default rules, `gitleaks dir FILE`) on the same three generated inputs (clean
#     prose, source code, dense PII; SIZE_MIB each), pinned to one core with taskset when available;
#     plus the in-process Go benchmarks on one core;
#  2. secrets precision and recall of both on the labelled secrets corpus
#     (TestInteropGitleaksSecrets in internal/dlp).
# Prints the results and writes them between the dlp-bench markers of bench/RESULTS.md.
#
# Settings (environment): RUNS (3, gatehouse), GITLEAKS_RUNS (1; gitleaks runs take minutes),
# SIZE_MIB (64), KEEP_TMP (1: keep the inputs and reports).
set -euo pipefail

RUNS=${RUNS:-3}
GITLEAKS_RUNS=${GITLEAKS_RUNS:-1}
SIZE_MIB=${SIZE_MIB:-64}
KEEP_TMP=${KEEP_TMP:-0}
GITLEAKS_VERSION=v8.30.1

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$ROOT/.tools/bin # where `make deps` installs gitleaks for the tests too
RESULTS=$BENCH/RESULTS.md
mkdir -p "$BIN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-dlp-bench.XXXXXX")
cleanup() { [[ $KEEP_TMP == 1 ]] || rm -rf "$TMP"; }
trap cleanup EXIT

log() { printf '[dlp-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools ---------------------------------------------------------------------------------------
if [[ ! -x $BIN/gitleaks ]]; then
	log "installing gitleaks $GITLEAKS_VERSION into $BIN"
	GOBIN=$BIN go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
log "building gatehouse"
(cd "$ROOT" && go build -o "$TMP/gatehouse" ./cmd/gatehouse)

PIN=()
if command -v taskset >/dev/null 2>&1; then
	PIN=(taskset -c 0)
fi

# --- inputs --------------------------------------------------------------------------------------
log "generating inputs"
(cd "$ROOT" && go test -count=1 ./internal/dlp -run '^TestWriteBenchInputs$' -args -dir "$TMP" -size-mib "$SIZE_MIB" >/dev/null)

# best_of N CMD...: prints the fastest wall time in seconds over N runs (exit status ignored).
best_of() {
	local runs=$1 best="" t0 t1 dt
	shift
	for _ in $(seq "$runs"); do
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s.%N)
		dt=$(echo "$t1 - $t0" | bc -l)
		if [[ -z $best ]] || (($(echo "$dt < $best" | bc -l))); then best=$dt; fi
	done
	echo "$best"
}

mbps() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }

ROWS=()
for kind in prose code pii; do
	f=$TMP/$kind.txt
	size=$(stat -c %s "$f")
	log "$kind: gatehouse"
	tg=$(best_of "$RUNS" "${PIN[@]}" "$TMP/gatehouse" dlp scan --profile all "$f")
	# dlp scan exits 1 when the profile matched; the count comes from its JSON.
	{ "$TMP/gatehouse" dlp scan --profile all "$f" 2>/dev/null || true; } >"$TMP/gh-$kind.json"
	ng=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("match_count", 0))' "$TMP/gh-$kind.json" 2>/dev/null || echo "?")
	log "$kind: gitleaks"
	tl=$(best_of "$GITLEAKS_RUNS" "${PIN[@]}" "$BIN/gitleaks" dir --no-banner -l error --redact --report-format json --report-path "$TMP/gl-$kind.json" "$f")
	nl=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])) or []))' "$TMP/gl-$kind.json" 2>/dev/null || echo "?")
	ROWS+=("| $kind | $(mbps "$size" "$tg") MB/s ($ng counted findings) | $(mbps "$size" "$tl") MB/s ($nl findings) | $(echo "scale=0; $tl / $tg" | bc -l)x |")
done

log "startup: gatehouse on an empty file"
: >"$TMP/empty.txt"
t0=$(best_of "$RUNS" "${PIN[@]}" "$TMP/gatehouse" dlp scan --profile all "$TMP/empty.txt")

log "in-process Go benchmarks (one core)"
GOBENCH=$(cd "$ROOT" && go test -count=3 -cpu 1 -run '^$' -bench 'BenchmarkScan' -benchtime 2s ./internal/dlp |
	awk '/^BenchmarkScan/ {v[$1] = v[$1] (v[$1] ? ", " : "") $5} END {for (k in v) print "| " k " | " v[k] " MB/s |"}' | sort)

log "secrets corpus: gatehouse vs gitleaks"
(cd "$ROOT" && GATEHOUSE_GITLEAKS=$BIN/gitleaks GATEHOUSE_DLP_SECRETS_REPORT=$TMP/secrets.md \
	go test -count=1 -run '^TestInteropGitleaksSecrets$' ./internal/dlp >/dev/null)

SECTION=$TMP/section.md
{
	echo "<!-- dlp-bench:start -->"
	echo "## DLP scanner vs gitleaks (\`bench/dlp.sh\`, $(date -u +%Y-%m-%d))"
	echo
	echo "### Throughput"
	echo
	echo "Whole-process wall time (start-up included), best of $RUNS runs for gatehouse and $GITLEAKS_RUNS for gitleaks,"
	echo "$SIZE_MIB MiB generated input each (\`TestWriteBenchInputs\`), $( ((${#PIN[@]})) && echo "pinned to one core (taskset -c 0)" || echo "not pinned")"
	echo "on a $(nproc)-core machine. Gatehouse: \`gatehouse dlp scan --profile all\` (every predefined entry, decoding on);"
	echo "gitleaks $GITLEAKS_VERSION: \`gitleaks dir FILE\` with its default rules. The tools look for different things"
	echo "(gitleaks: secrets only), so the finding counts are not comparable. Gatehouse's start-up (an empty file): $(printf "%.1f" "$(echo "$t0 * 1000" | bc -l)") ms."
	echo
	echo "| input | gatehouse | gitleaks | gatehouse faster by |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "In-process (\`go test -cpu 1 -bench BenchmarkScan -benchtime 2s -count 3 ./internal/dlp\`, 8 MiB inputs):"
	echo
	echo "| benchmark | MB/s per core |"
	echo "|---|---|"
	echo "$GOBENCH"
	echo
	echo "### Secrets precision and recall"
	echo
	cat "$TMP/secrets.md"
	echo "<!-- dlp-bench:end -->"
} >"$SECTION"

if [[ -f $RESULTS ]] && grep -q '<!-- dlp-bench:start -->' "$RESULTS" && grep -q '<!-- dlp-bench:end -->' "$RESULTS"; then
	awk -v section="$SECTION" '
		/<!-- dlp-bench:start -->/ {while ((getline line < section) > 0) print line; skip = 1; next}
		/<!-- dlp-bench:end -->/ {skip = 0; next}
		!skip {print}
	' "$RESULTS" >"$TMP/RESULTS.md"
	cat "$TMP/RESULTS.md" >"$RESULTS"
elif [[ -f $RESULTS ]]; then
	{ echo; cat "$SECTION"; } >>"$RESULTS"
else
	{ echo "# Benchmark results"; echo; cat "$SECTION"; } >"$RESULTS"
fi
cat "$SECTION"
