package policy

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestTmpCPUTime(t *testing.T) {
	s := newBench(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(name string, f func(i int)) {
		const n = 3_000_000
		for i := 0; i < 100000; i++ {
			f(i)
		}
		for r := 0; r < 3; r++ {
			start, wall := threadCPU(), time.Now()
			for i := 0; i < n; i++ {
				f(i)
			}
			cpu := threadCPU() - start
			t.Logf("%-16s cpu %6.1f ns/op   wall %6.1f ns/op", name, float64(cpu)/n, float64(time.Since(wall))/n)
		}
	}
	measure("allow", func(i int) {
		in := Input{Identity: alice, ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Evaluate(&in).Action != ActionAllow {
			t.Fatal("x")
		}
	})
	measure("allow-1app", func(i int) {
		in := Input{Identity: alice, ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[0]).Evaluate(&in).Action != ActionAllow {
			t.Fatal("x")
		}
	})
	measure("lookup-only", func(i int) {
		if s.engine.App(s.ids[i%len(s.ids)]) == nil {
			t.Fatal("x")
		}
	})
	measure("preflight", func(i int) {
		in := Input{ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Preflight(&in).Action != ActionLogin {
			t.Fatal("x")
		}
	})
	measure("deny", func(i int) {
		in := Input{Identity: aliceNoMFA, ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Evaluate(&in).Action != ActionDeny {
			t.Fatal("x")
		}
	})
}
