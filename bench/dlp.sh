#!/usr/bin/env bash
# DLP throughput benchmark: whole-process runs of `gatehouse dlp scan` (profile "all", every
# predefined entry) and gitleaks (default rules, `gitleaks dir FILE`) on the same three generated
# 8 MiB inputs (clean prose, source code, dense PII), pinned to one core with taskset when
# available. Reports MB/s per input for both, on stdout and in the section between the dlp-bench
# markers of bench/RESULTS.md.
#
# Settings (environment): RUNS (3), KEEP_TMP (1: keep the inputs and reports).
set -euo pipefail

RUNS=${RUNS:-3}
KEEP_TMP=${KEEP_TMP:-0}
GITLEAKS_VERSION=v8.30.1

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/bin
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
(cd "$ROOT" && go test -count=1 ./internal/dlp -run '^TestWriteBenchInputs$' -args -dir "$TMP" >/dev/null)

# best_of CMD...: prints the fastest wall time in seconds over RUNS runs (exit status ignored).
best_of() {
	local best="" t0 t1 dt
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -i -r "$RUNS" --export-json "$TMP/hf.json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
		python3 -c 'import json,sys; print(min(json.load(open(sys.argv[1]))["results"][0]["times"]))' "$TMP/hf.json"
		return
	fi
	for _ in $(seq "$RUNS"); do
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
	tg=$(best_of "${PIN[@]}" "$TMP/gatehouse" dlp scan --profile all "$f")
	# dlp scan exits 1 when the profile matched; the count comes from its JSON.
	{ "$TMP/gatehouse" dlp scan --profile all "$f" 2>/dev/null || true; } >"$TMP/gh-$kind.json"
	ng=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("match_count", 0))' "$TMP/gh-$kind.json" 2>/dev/null || echo "?")
	log "$kind: gitleaks"
	tl=$(best_of "${PIN[@]}" "$BIN/gitleaks" dir --no-banner -l error --redact --report-format json --report-path "$TMP/gl-$kind.json" "$f")
	nl=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])) or []))' "$TMP/gl-$kind.json" 2>/dev/null || echo "?")
	ROWS+=("| $kind | $(mbps "$size" "$tg") MB/s ($ng counted findings) | $(mbps "$size" "$tl") MB/s ($nl findings) |")
done

SECTION=$TMP/section.md
{
	echo "<!-- dlp-bench:start -->"
	echo "## DLP scanner vs gitleaks (\`bench/dlp.sh\`, $(date -u +%Y-%m-%d))"
	echo
	echo "Whole-process wall time, best of $RUNS runs, 8 MiB generated input each (\`TestWriteBenchInputs\`),"
	echo "$( ((${#PIN[@]})) && echo "pinned to one core (taskset -c 0)" || echo "not pinned") on a $(nproc)-core machine. Gatehouse: \`gatehouse dlp scan --profile all\`"
	echo "(every predefined entry, decoding on); gitleaks $GITLEAKS_VERSION: \`gitleaks dir FILE\` with its default rules."
	echo "The two tools find different things (gitleaks: secrets only), so the counts are not comparable."
	echo
	echo "| input | gatehouse | gitleaks |"
	echo "|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
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
