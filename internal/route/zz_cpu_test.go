package route

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	tbl, reqs := benchTable(t, 10000)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sets := map[string][]benchReq{"mix": reqs}
	for _, r := range reqs {
		switch {
		case strings.HasPrefix(r.path, "/api/"):
			sets["exact-path"] = append(sets["exact-path"], r)
		case strings.HasSuffix(r.host, ".corp.example.com"):
			sets["exact"] = append(sets["exact"], r)
		case strings.Contains(r.host, ".team"):
			sets["wild-label"] = append(sets["wild-label"], r)
		case strings.HasSuffix(r.host, ".example.net"):
			sets["wild-partial"] = append(sets["wild-partial"], r)
		case strings.HasSuffix(r.host, ".example.io"):
			sets["wild-path"] = append(sets["wild-path"], r)
		}
	}
	sets["hot1"] = reqs[:1]
	for name, rs := range sets {
		best := time.Duration(1 << 62)
		const n = 2_000_000
		for rep := 0; rep < 5; rep++ {
			runtime.GC()
			c0 := threadCPU()
			for i := 0; i < n; i++ {
				r := rs[i%len(rs)]
				tbl.Match(r.host, r.path)
			}
			if d := threadCPU() - c0; d < best {
				best = d
			}
		}
		t.Logf("%-14s %4d reqs  %6.1f ns/op (thread CPU, best of 5)", name, len(rs), float64(best.Nanoseconds())/n)
	}
}
