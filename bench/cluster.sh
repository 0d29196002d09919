#!/usr/bin/env bash
# Scale-out figures: proxy throughput with one SQLite replica against two PostgreSQL replicas
# under the same load, and revocation propagation between replicas (p50/p99 over 100
# revocations). Both are Go benchmarks in internal/app; this script runs them and prints the
# lines to copy into bench/RESULTS.md. Needs PostgreSQL (GATEHOUSE_TEST_POSTGRES_DSN, default the
# local test database).
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEHOUSE_TEST_POSTGRES_DSN="${GATEHOUSE_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
echo "== proxy throughput (go test -bench ProxyThroughput -benchtime 20000x -count 3)"
timeout 600 go test -run '^$' -bench ProxyThroughput -benchtime 20000x -count 3 ./internal/app | grep -E '^Benchmark'
echo "== revocation propagation (go test -bench RevocationPropagation -benchtime 1x)"
timeout 600 go test -run '^$' -bench RevocationPropagation -benchtime 1x ./internal/app | grep -E '^Benchmark'
