// Command testprogress turns the event stream of `go test -json` into progress a person can
// follow during long test runs: one line when a package's tests start, one line when they finish
// (ok, FAIL or skipped, with the time taken), a reminder of what is still running after a minute
// without news, the full output of every failing test and every failed build, and a summary.
// It exits 1 when any package failed, did not build, did not finish, or when the stream held no
// package at all (go test failed to start), so a Makefile can pipe into it:
//
//	set -o pipefail; go test -json -race ./... | go run ./internal/tools/testprogress
//
// Lines on standard input that are not JSON events are copied through unchanged.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	os.Exit(run(os.Stdin, os.Stdout, time.Minute))
}

// event is one line of `go test -json` (cmd/test2json), with the build events that go test adds
// since Go 1.24 (Action build-output and build-fail, keyed by ImportPath).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64
	ImportPath  string
	FailedBuild string
}

// pkgState is what testprogress remembers about one package until it finishes.
type pkgState struct {
	started time.Time
	// output of tests that have not finished yet, by test name; dropped when a test passes.
	tests map[string][]string
	// order in which tests started, to print leftovers (a panic, a timeout) in a stable order.
	testOrder []string
	// package-level output: the final ok/FAIL line, panics outside tests, "no test files".
	own        []string
	failedTest bool
	done       bool
}

type progress struct {
	mu      sync.Mutex
	out     io.Writer
	start   time.Time
	lastNew time.Time
	pkgs    map[string]*pkgState
	// build output by ImportPath ("pkg [pkg.test]"), printed when that build fails.
	builds map[string][]string

	passed, failed, noTests int
	failedNames             []string
	sawPackage              bool
}

// run reads `go test -json` from in, reports to out and returns the exit status. quiet is how long
// without any finished package before it reminds the reader what is still running.
func run(in io.Reader, out io.Writer, quiet time.Duration) int {
	p := &progress{out: out, start: time.Now(), pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
	p.lastNew = p.start

	stop := make(chan struct{})
	var wg sync.WaitGroup
	if quiet > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(quiet / 4)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case now := <-t.C:
					p.remind(now, quiet)
				}
			}
		}()
	}

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			p.mu.Lock()
			fmt.Fprintf(p.out, "%s\n", line)
			p.mu.Unlock()
			continue
		}
		p.handle(ev)
	}
	readErr := sc.Err()
	close(stop)
	wg.Wait()
	return p.finish(readErr)
}

func (p *progress) pkg(name string) *pkgState {
	s := p.pkgs[name]
	if s == nil {
		s = &pkgState{started: time.Now(), tests: map[string][]string{}}
		p.pkgs[name] = s
		p.sawPackage = true
	}
	return s
}

func (p *progress) handle(ev event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Action {
	case "build-output":
		p.builds[ev.ImportPath] = append(p.builds[ev.ImportPath], ev.Output)
		return
	case "build-fail":
		// Printed with the package's failure (FailedBuild names this ImportPath); a build that
		// fails for no package under test (a broken dependency of a tool) is printed at the end.
		return
	}
	if ev.Package == "" {
		if ev.Output != "" {
			fmt.Fprint(p.out, ev.Output)
		}
		return
	}
	s := p.pkg(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "start":
			s.started = time.Now()
			fmt.Fprintf(p.out, "start  %s\n", ev.Package)
		case "output":
			s.own = append(s.own, ev.Output)
		case "pass", "fail", "skip":
			p.finishPackage(ev, s)
		}
		return
	}
	switch ev.Action {
	case "run":
		if _, ok := s.tests[ev.Test]; !ok {
			s.testOrder = append(s.testOrder, ev.Test)
		}
		s.tests[ev.Test] = s.tests[ev.Test][:0:0]
	case "output":
		if _, ok := s.tests[ev.Test]; !ok {
			s.testOrder = append(s.testOrder, ev.Test)
		}
		s.tests[ev.Test] = append(s.tests[ev.Test], ev.Output)
	case "pass", "skip":
		delete(s.tests, ev.Test)
	case "fail":
		s.failedTest = true
		p.block(fmt.Sprintf("%s %s", ev.Package, ev.Test), s.tests[ev.Test])
		delete(s.tests, ev.Test)
	}
}

// block prints a failure's output in full between two rules.
func (p *progress) block(title string, lines []string) {
	fmt.Fprintf(p.out, "---- FAIL %s output:\n", title)
	for _, l := range lines {
		fmt.Fprint(p.out, l)
		if !strings.HasSuffix(l, "\n") {
			fmt.Fprintln(p.out)
		}
	}
	fmt.Fprintf(p.out, "---- end of %s\n", title)
}

func (p *progress) finishPackage(ev event, s *pkgState) {
	s.done = true
	p.lastNew = time.Now()
	elapsed := time.Duration(ev.Elapsed * float64(time.Second)).Round(100 * time.Millisecond)
	switch {
	case ev.Action == "fail":
		p.failed++
		p.failedNames = append(p.failedNames, ev.Package)
		if ev.FailedBuild != "" {
			out := p.builds[ev.FailedBuild]
			if len(out) == 0 {
				out = s.own
			}
			p.block("build of "+ev.FailedBuild, out)
			delete(p.builds, ev.FailedBuild)
			fmt.Fprintf(p.out, "FAIL   %s [build failed]\n", ev.Package)
			break
		}
		// Tests that never finished (a panic, a timeout, a crash): their output is the
		// explanation. Without any failed test the package's own output is (TestMain, init).
		for _, name := range s.testOrder {
			if lines, ok := s.tests[name]; ok && len(lines) > 0 {
				p.block(fmt.Sprintf("%s %s (did not finish)", ev.Package, name), lines)
			}
		}
		if own := explanation(s.own); len(own) > 0 {
			p.block(ev.Package, own)
		}
		fmt.Fprintf(p.out, "FAIL   %s %s\n", ev.Package, elapsed)
	case ev.Action == "skip" || noTestFiles(s.own):
		p.noTests++
		fmt.Fprintf(p.out, "skip   %s (no test files)\n", ev.Package)
	default:
		p.passed++
		note := ""
		if noTestsRun(s.own) {
			note = " (no tests matched)"
		}
		fmt.Fprintf(p.out, "ok     %s %s%s\n", ev.Package, elapsed, note)
	}
	s.tests, s.own, s.testOrder = nil, nil, nil
}

// explanation is a failed package's own output without go test's FAIL lines, which say nothing
// the summary does not.
func explanation(own []string) []string {
	var out []string
	for _, l := range own {
		t := strings.TrimSpace(l)
		if t == "FAIL" || strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "exit status ") || t == "" {
			continue
		}
		out = append(out, l)
	}
	return out
}

func noTestFiles(own []string) bool {
	for _, l := range own {
		if strings.Contains(l, "[no test files]") {
			return true
		}
	}
	return false
}

func noTestsRun(own []string) bool {
	for _, l := range own {
		if strings.Contains(l, "[no tests to run]") {
			return true
		}
	}
	return false
}

// remind prints which packages are running when nothing has finished for quiet.
func (p *progress) remind(now time.Time, quiet time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.lastNew) < quiet {
		return
	}
	p.lastNew = now
	var running []string
	for name, s := range p.pkgs {
		if !s.done {
			running = append(running, fmt.Sprintf("%s (%s)", name, now.Sub(s.started).Round(time.Second)))
		}
	}
	sort.Strings(running)
	what := "building and waiting for the next package"
	if len(running) > 0 {
		what = "still running: " + strings.Join(running, ", ")
	}
	fmt.Fprintf(p.out, "...    %s elapsed; %d packages done; %s\n", now.Sub(p.start).Round(time.Second), p.passed+p.failed+p.noTests, what)
}

// finish reports packages that never finished, prints the summary and returns the exit status.
func (p *progress) finish(readErr error) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var unfinished []string
	for name, s := range p.pkgs {
		if !s.done {
			unfinished = append(unfinished, name)
		}
	}
	sort.Strings(unfinished)
	for _, name := range unfinished {
		s := p.pkgs[name]
		for _, tn := range s.testOrder {
			if lines, ok := s.tests[tn]; ok && len(lines) > 0 {
				p.block(fmt.Sprintf("%s %s (did not finish)", name, tn), lines)
			}
		}
		if len(s.own) > 0 {
			p.block(name, s.own)
		}
		fmt.Fprintf(p.out, "FAIL   %s (no result: the test stream ended first)\n", name)
		p.failed++
		p.failedNames = append(p.failedNames, name)
	}
	// Builds that failed without a package to report them (go vet or a dependency of no test).
	var orphans []string
	for ip := range p.builds {
		orphans = append(orphans, ip)
	}
	sort.Strings(orphans)
	for _, ip := range orphans {
		p.block("build of "+ip, p.builds[ip])
	}

	total := time.Since(p.start).Round(time.Second)
	status := 0
	switch {
	case readErr != nil:
		fmt.Fprintf(p.out, "FAIL   reading the test stream: %v\n", readErr)
		status = 1
	case !p.sawPackage:
		fmt.Fprintf(p.out, "FAIL   no test results read: go test did not start (see its errors above)\n")
		status = 1
	}
	if p.failed > 0 {
		status = 1
		fmt.Fprintf(p.out, "FAIL   %d of %d packages failed in %s: %s\n", p.failed, p.passed+p.failed+p.noTests, total, strings.Join(p.failedNames, " "))
	} else if status == 0 {
		fmt.Fprintf(p.out, "PASS   %d packages ok, %d without test files, in %s\n", p.passed, p.noTests, total)
	}
	return status
}
