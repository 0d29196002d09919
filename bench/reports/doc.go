// Package reports holds the benchmark of the admin console's report pages (Shadow IT, the AI
// security report and the Access report) on a store with millions of generated log rows:
// BenchmarkReportPages in reports_bench_test.go. It is not part of `make test`; see
// bench/RESULTS.md and docs/console.md for how to run it.
package reports
