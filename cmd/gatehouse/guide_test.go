package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// asBinaryEnv makes the test binary act as the gatehouse command (see TestMain), so that tests
// can run it as a program without building it.
const asBinaryEnv = "GATEHOUSE_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinaryEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// guideSection returns the shell commands of a section of a Markdown file: the lines of every
// ```sh block in it, without the block's indentation, in order.
func guideSection(t *testing.T, file, heading string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", file, heading)
	}
	text = text[start+len(heading)+2:]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
	}
	var lines []string
	in, indent := false, ""
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case !in && trimmed == "```sh":
			in, indent = true, line[:len(line)-len(trimmed)]
		case in && trimmed == "```":
			in = false
		case in:
			lines = append(lines, strings.TrimPrefix(line, indent))
		}
	}
	if in {
		t.Fatalf("%s: unterminated code block in %q", file, heading)
	}
	return lines
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var serveConfigArg = regexp.MustCompile(`--config[ =](\S+)`)

// TestGettingStartedGuide follows "A real deployment" in docs/getting-started.md on a clean
// directory: it runs the guide's shell commands as written (with `gatehouse` on the PATH being
// this binary, and the listen addresses 127.0.0.1:8080 and 127.0.0.1:9090 replaced by free
// ports), starts the `gatehouse serve` command they end with, and checks that Gatehouse becomes
// ready and sends a browser on the configured application to the login page.
func TestGettingStartedGuide(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	lines := guideSection(t, "../../docs/getting-started.md", "## A real deployment")
	serveAt := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "gatehouse serve ") {
			serveAt = i
		}
	}
	if serveAt < 0 {
		t.Fatalf("the guide's commands have no `gatehouse serve` line:\n%s", strings.Join(lines, "\n"))
	}
	public, internal := freeAddr(t), freeAddr(t)
	ports := strings.NewReplacer("127.0.0.1:8080", public, "127.0.0.1:9090", internal)
	setup := ports.Replace(strings.Join(lines[:serveAt], "\n"))
	serve := ports.Replace(lines[serveAt])
	after := ports.Replace(strings.Join(lines[serveAt+1:], "\n"))

	// A clean machine: an empty directory, a PATH with gatehouse and the system tools, no
	// Gatehouse variables.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, bin := t.TempDir(), t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "gatehouse")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + "/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, asBinaryEnv + "=1"}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sh := func(script string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "sh", "-e", "-c", script)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}

	if out, err := sh(setup).CombinedOutput(); err != nil {
		t.Fatalf("the guide's commands before serve failed: %v\n--- commands\n%s\n--- output\n%s", err, setup, out)
	}

	var output lockedBuffer
	server := sh("exec " + serve)
	server.Stdout, server.Stderr = &output, &output
	server.Cancel = func() error { return server.Process.Signal(os.Interrupt) }
	server.WaitDelay = 5 * time.Second
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = server.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = server.Process.Kill()
			<-exited
			t.Error("gatehouse serve did not stop on SIGINT within 10s")
		}
	}
	defer stop()
	defer func() {
		if t.Failed() {
			t.Logf("--- %s\n%s", serve, output.String())
		}
	}()

	client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + internal + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited before it was ready: %v", serve, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready within 15s (last: %v)", serve, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The application in the guide's configuration sends a browser to the login page.
	m := serveConfigArg.FindStringSubmatch(serve)
	if m == nil {
		t.Fatalf("no --config in %q", serve)
	}
	cfg, err := config.Load(filepath.Join(dir, m[1]))
	if err != nil {
		t.Fatal(err)
	}
	var host string
	for _, a := range cfg.Applications {
		if len(a.Destinations) > 0 {
			host, _, _ = strings.Cut(a.Destinations[0].URI, "/")
			break
		}
	}
	if host == "" {
		t.Fatal("the guide's configuration has no application with a destination")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+public+"/", nil)
	req.Host = host + portOf(public)
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "://"+cfg.Organization.AuthDomain+portOf(public)+"/") {
		t.Errorf("GET http://%s/: %d Location %q, want a redirect to the login page on %s", req.Host, resp.StatusCode, loc, cfg.Organization.AuthDomain)
	}

	if strings.TrimSpace(after) != "" {
		if out, err := sh(after).CombinedOutput(); err != nil {
			t.Errorf("the guide's commands after serve failed: %v\n%s", err, out)
		}
	}
	stop()
	if strings.Contains(output.String(), "level=ERROR") || strings.Contains(output.String(), `"level":"ERROR"`) {
		t.Errorf("gatehouse serve logged an error")
	}
}

// portOf returns ":port" of a host:port address.
func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("address %q: %v", addr, err))
	}
	return ":" + port
}
