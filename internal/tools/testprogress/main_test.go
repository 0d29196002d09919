package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// goTestJSON runs `go test -json` on packages of the fixture module under testdata/fixture and
// returns its standard output.
func goTestJSON(t *testing.T, pkgs ...string) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(gobin, append([]string{"test", "-json", "-count=1"}, pkgs...)...)
	cmd.Dir = filepath.Join("testdata", "fixture")
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("go test: %v", err)
		}
	}
	return out
}

// TestFixtureModule runs the real `go test -json` over a module with a passing package, a failing
// test with a failing subtest, a panicking test, a package that does not compile and one without
// tests.
func TestFixtureModule(t *testing.T) {
	stream := goTestJSON(t, "./...")
	var out bytes.Buffer
	status := run(bytes.NewReader(stream), &out, 0)
	got := out.String()
	if status != 1 {
		t.Errorf("status %d, want 1; output:\n%s", status, got)
	}
	for _, want := range []string{
		// one line per package as it starts and as it finishes
		"start  example.com/fixture/pass\n",
		"ok     example.com/fixture/pass ",
		"start  example.com/fixture/fail\n",
		"FAIL   example.com/fixture/fail ",
		"FAIL   example.com/fixture/panics ",
		"FAIL   example.com/fixture/broken [build failed]\n",
		"skip   example.com/fixture/notests (no test files)\n",
		// failing tests' output in full
		"first line of the failure's output",
		"subtest says: wanted 3, got 4",
		"last line of the failure's output",
		"before the panic",
		"panic: assignment to entry in nil map",
		// the compiler's message for the package that does not build
		`broken.go:5:28: cannot use "not an int"`,
		"FAIL   3 of 5 packages failed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"passing output", "fine output"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output shows a passing test's output (%q):\n%s", unwanted, got)
		}
	}
}

func TestFixturePassingPackage(t *testing.T) {
	stream := goTestJSON(t, "./pass", "./notests")
	var out bytes.Buffer
	if status := run(bytes.NewReader(stream), &out, 0); status != 0 {
		t.Fatalf("status %d, want 0; output:\n%s", status, out.String())
	}
	if !strings.Contains(out.String(), "PASS   1 packages ok, 1 without test files") {
		t.Errorf("no summary:\n%s", out.String())
	}
}

func TestBuildFailureAloneFails(t *testing.T) {
	stream := goTestJSON(t, "./broken")
	var out bytes.Buffer
	if status := run(bytes.NewReader(stream), &out, 0); status != 1 {
		t.Fatalf("status %d, want 1; output:\n%s", status, out.String())
	}
	if !strings.Contains(out.String(), "cannot use") {
		t.Errorf("the compiler's error is missing:\n%s", out.String())
	}
}

func TestStreamProblems(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty stream: go test did not start", "", []string{"no test results read"}},
		{"only go's own errors", "go: unknown flag -rase\n", []string{"go: unknown flag -rase", "no test results read"}},
		{
			"package never finished",
			`{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestSlow"}
{"Action":"output","Package":"p","Test":"TestSlow","Output":"waiting for the upstream\n"}
`,
			[]string{"start  p", "waiting for the upstream", "FAIL   p (no result"},
		},
		{
			"package fails outside any test",
			`{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"TestMain: cannot open the database\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p","Elapsed":0.1}
`,
			[]string{"TestMain: cannot open the database", "FAIL   p 100ms"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if status := run(strings.NewReader(tc.in), &out, 0); status != 1 {
				t.Errorf("status %d, want 1", status)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the reminder goroutine and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReminderNamesRunningPackages: a long package is not silent.
func TestReminderNamesRunningPackages(t *testing.T) {
	r, w := io.Pipe()
	out := &syncBuffer{}
	done := make(chan int)
	go func() { done <- run(r, out, 40*time.Millisecond) }()
	io.WriteString(w, `{"Action":"start","Package":"example.com/slow"}`+"\n")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "still running: example.com/slow (") {
		if time.Now().After(deadline) {
			t.Fatalf("no reminder after 5s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(w, `{"Action":"pass","Package":"example.com/slow","Elapsed":1.5}`+"\n")
	w.Close()
	if status := <-done; status != 0 {
		t.Errorf("status %d, want 0:\n%s", status, out.String())
	}
	if !strings.Contains(out.String(), "ok     example.com/slow 1.5s") {
		t.Errorf("no ok line:\n%s", out.String())
	}
}

// FuzzRun: any stream is reported without panicking, and a zero status means some package
// passed and none failed.
func FuzzRun(f *testing.F) {
	f.Add([]byte(`{"Action":"start","Package":"p"}` + "\n" + `{"Action":"pass","Package":"p"}` + "\n"))
	f.Add([]byte(`{"Action":"fail","Package":"p","FailedBuild":"p [p.test]"}` + "\n"))
	f.Add([]byte(`{"Action":"output","Package":"p","Test":"T","Output":"x"}` + "\n"))
	f.Add([]byte(`{"ImportPath":"p","Action":"build-output","Output":"x"}` + "\nnot json\n{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		status := run(bytes.NewReader(in), &out, 0)
		switch status {
		case 0:
			if !strings.Contains(out.String(), "PASS   ") || strings.Contains(out.String(), "FAIL   ") {
				t.Fatalf("status 0 with output:\n%s", out.String())
			}
		case 1:
			if !strings.Contains(out.String(), "FAIL   ") {
				t.Fatalf("status 1 without a FAIL line:\n%s", out.String())
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}
