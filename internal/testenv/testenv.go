// Package testenv owns the in-process test environment: a real Gatehouse (SQLite in a temp dir,
// real listeners on 127.0.0.1), a fake upstream that records what it received, a PIN sender that
// hands PINs to the test, and browser-like clients with cookie jars that resolve every
// *.localhost name to Gatehouse.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/keys"
)

// Env is one running Gatehouse with its upstream.
type Env struct {
	T        testing.TB
	G        *app.Gatehouse
	Addr     string // public listener host:port
	Internal string
	// Gateway is the forward proxy's host:port (StartGateway only).
	Gateway  string
	Port     string
	Upstream *Upstream
	PINs     *PINBox
	Dir      string
	Logs     *LogBuffer
	Clock    *Clock

	cluster *Cluster
	stop    func()
}

// Clock is the environment's adjustable clock; it starts at the real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Upstream records requests.
type Upstream struct {
	*httptest.Server
	mu   sync.Mutex
	Last *http.Request
	// Handler overrides the default echo handler.
	Handler http.Handler
}

// Seen returns the last request the upstream received.
func (u *Upstream) Seen() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.Last
}

// PINBox collects PINs sent by the onetimepin provider.
type PINBox struct {
	mu   sync.Mutex
	pins map[string][]string
	cond *sync.Cond
}

// SendPIN implements onetimepin.Sender.
func (b *PINBox) SendPIN(_ context.Context, to, pin string, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pins[to] = append(b.pins[to], pin)
	b.cond.Broadcast()
	return nil
}

// Wait returns the latest PIN sent to addr, waiting up to 5 s.
func (b *PINBox) Wait(t testing.TB, addr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pins[addr]) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no PIN was sent to %s", addr)
		}
		b.mu.Unlock()
		time.Sleep(5 * time.Millisecond) // polling a channel fed by a background send
		b.mu.Lock()
	}
	return b.pins[addr][len(b.pins[addr])-1]
}

// WaitNew returns the first PIN sent to addr after the first `before` ones, waiting up to 5 s:
// PINs are sent in the background, so a test must not pick up an older one.
func (b *PINBox) WaitNew(t testing.TB, addr string, before int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.Count(addr) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("no new PIN was sent to %s", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pins[addr][before]
}

// Count returns how many PINs were sent to addr.
func (b *PINBox) Count(addr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pins[addr])
}

// DefaultConfig is the configuration body (without listen, storage and secrets, which Start
// adds) used when a test passes "".
const DefaultConfig = `
organization:
  name: Test Org
  auth_domain: auth.localhost
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - id: app
    name: Test App
    destinations: [app.localhost]
    upstream: UPSTREAM
    policies: [{ref: example, precedence: 1}]
  - id: other
    name: Other App
    destinations: [other.localhost]
    upstream: UPSTREAM
    policies: [{ref: example, precedence: 1}]
policies:
  - {id: example, decision: allow, include: [{email_domain: {domain: example.com}}]}
`

// Start runs Gatehouse with body as configuration; UPSTREAM in body is replaced with the fake
// upstream's URL.
func Start(t testing.TB, body string) *Env {
	t.Helper()
	return StartCluster(t, 1, body, "").Replicas[0]
}

// StartGateway is Start with the forward proxy on (listen.gateway on 127.0.0.1, a free port);
// Env.Gateway is its address.
func StartGateway(t testing.TB, body string) *Env {
	t.Helper()
	return startCluster(t, 1, body, "", true).Replicas[0]
}

// Cluster is several replicas of one Gatehouse sharing a database, a master key, an upstream,
// a clock and a PIN box. Replica i listens on 127.0.0.(i+1) with the same port, so all of them
// have the same public URLs, as behind a load balancer.
type Cluster struct {
	Replicas []*Env
	next     atomic.Uint64
}

// StartCluster runs n replicas. storage is the YAML of the storage section ("" for SQLite in
// the shared temp directory).
func StartCluster(t testing.TB, n int, body, storage string) *Cluster {
	t.Helper()
	return startCluster(t, n, body, storage, false)
}

func startCluster(t testing.TB, n int, body, storage string, gateway bool) *Cluster {
	t.Helper()
	if body == "" {
		body = DefaultConfig
	}
	first := &Env{T: t, Dir: t.TempDir(), PINs: &PINBox{pins: map[string][]string{}}, Clock: &Clock{}}
	first.PINs.cond = sync.NewCond(&first.PINs.mu)
	first.Upstream = &Upstream{}
	up := first.Upstream
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.mu.Lock()
		up.Last = r.Clone(context.Background())
		h := up.Handler
		up.mu.Unlock()
		if h != nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "raw_path": r.URL.RawPath, "query": r.URL.RawQuery, "headers": r.Header, "host": r.Host})
	}))
	t.Cleanup(up.Close)
	first.Port = freePort(t)
	keyFile := filepath.Join(first.Dir, "master.key")
	if err := keys.GenerateMasterKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	if storage == "" {
		storage = fmt.Sprintf("storage: {driver: sqlite, dsn: \"file:%s\"}", filepath.Join(first.Dir, "gatehouse.db"))
	}
	c := &Cluster{}
	for i := range n {
		e := first
		if i > 0 {
			e = &Env{T: t, Dir: first.Dir, PINs: first.PINs, Clock: first.Clock, Upstream: up, Port: first.Port}
		}
		e.Logs = &LogBuffer{}
		e.cluster = c
		host := fmt.Sprintf("127.0.0.%d", i+1)
		gw := ""
		if gateway {
			gw = fmt.Sprintf(", gateway: \"%s:0\"", host)
		}
		full := fmt.Sprintf("version: 1\nlisten: {public: \"%s:%s\", internal: \"127.0.0.1:0\"%s}\n%s\nsecrets: {master_key_file: %q}\n",
			host, first.Port, gw, storage, keyFile) + strings.ReplaceAll(body, "UPSTREAM", up.URL)
		cfgFile := filepath.Join(first.Dir, fmt.Sprintf("gatehouse-%d.yaml", i))
		if i == 0 {
			cfgFile = filepath.Join(first.Dir, "gatehouse.yaml")
		}
		if err := os.WriteFile(cfgFile, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		e.start(cfgFile)
		c.Replicas = append(c.Replicas, e)
	}
	return c
}

// start runs one replica from its configuration file.
func (e *Env) start(cfgFile string) {
	t := e.T
	t.Helper()
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := app.New(ctx, cfg, app.Options{Log: log, PINSender: e.PINs, ReloadInterval: time.Second, Now: e.Clock.Now})
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	e.G = g
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- g.Run(ctx, func(pub, internal net.Addr) {
			e.Addr = pub.String()
			e.Internal = internal.String()
			if a := g.GatewayAddr(); a != nil {
				e.Gateway = a.String()
			}
			close(ready)
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	e.stop = func() {
		cancel()
		<-done
		g.Close()
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("gatehouse log (%s):\n%s", e.Addr, e.Logs.String())
		}
	})
}

// Stop stops this replica (idempotent): tests kill replicas in the middle of a flow.
func (e *Env) Stop() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// NewBrowser returns a browser whose requests to *.localhost go to the replicas in turn.
func (c *Cluster) NewBrowser() *Browser {
	return c.Replicas[0].newBrowser(func() string {
		for range len(c.Replicas) {
			r := c.Replicas[int(c.next.Add(1))%len(c.Replicas)]
			if r.stop != nil {
				return r.Addr
			}
		}
		return c.Replicas[0].Addr
	})
}

// LogBuffer holds a replica's log. Gatehouse writes to it from its own goroutines while the test
// reads it (a request's log line can come after the client saw the answer), so both go through
// one lock.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends to the log.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the log so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// URL returns http://host:port+path.
func (e *Env) URL(host, path string) string { return "http://" + host + ":" + e.Port + path }

// Browser is a cookie-keeping client that sends every *.localhost name to Gatehouse and, like a
// browser, accepts HTML.
type Browser struct {
	*http.Client
	env *Env
}

// NewBrowser returns a browser with an empty cookie jar.
func (e *Env) NewBrowser() *Browser {
	addr := e.Addr
	return e.newBrowser(func() string { return addr })
}

func (e *Env) newBrowser(pick func() string) *Browser {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DisableKeepAlives: e.cluster != nil && len(e.cluster.Replicas) > 1, DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(target); err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			target = pick()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}}
	e.T.Cleanup(tr.CloseIdleConnections)
	return &Browser{Client: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}, env: e}
}

// Get performs a browser navigation.
func (b *Browser) Get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	return b.Do(t, req)
}

// Do sends req and returns the response with its body read.
func (b *Browser) Do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// PostForm posts a form like a browser.
func (b *Browser) PostForm(t testing.TB, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return b.Do(t, req)
}

var pinChoice = regexp.MustCompile(`<a class="button" href="([^"]*idp=pin)">`)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)

// Form extracts the action and hidden fields of the first form in an HTML page.
func Form(t testing.TB, page string) (action string, fields url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	fields = url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
		fields.Set(h[1], h[2])
	}
	return m[1], fields
}

// Login runs the whole PIN login for email starting at the app URL u and returns the final
// response (the upstream's answer when allowed).
func (b *Browser) Login(t testing.TB, u, email string) (*http.Response, string) {
	t.Helper()
	resp, page := b.Get(t, u)
	if m := pinChoice.FindStringSubmatch(page); m != nil {
		// The login page lists several methods: choose the e-mail PIN (IdP id "pin").
		resp, page = b.Get(t, resp.Request.URL.ResolveReference(&url.URL{Path: "/", RawQuery: ""}).String()+strings.TrimPrefix(html.UnescapeString(m[1]), "/"))
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="email"`) {
		t.Fatalf("expected the PIN e-mail form, got %d:\n%s", resp.StatusCode, page)
	}
	action, fields := Form(t, page)
	base := resp.Request.URL
	sentBefore := b.env.PINs.Count(strings.ToLower(email))
	fields.Set("email", email)
	resp, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) {
		t.Fatalf("expected the PIN code form, got %d:\n%s", resp.StatusCode, page)
	}
	action, fields = Form(t, page)
	fields.Set("code", b.env.PINs.WaitNew(t, strings.ToLower(email), sentBefore))
	return b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
}

var (
	anyForm  = regexp.MustCompile(`(?is)<form[^>]*action="([^"]*)"`)
	anyInput = regexp.MustCompile(`(?is)<input[^>]*>`)
	attrRe   = regexp.MustCompile(`(?is)\b(name|value)="([^"]*)"`)
)

// ParseForm extracts the action and every named input (with its value) of the first form of a
// page, whatever the attribute order or quoting style of the server that wrote it.
func ParseForm(t testing.TB, page string) (action string, fields url.Values) {
	t.Helper()
	m := anyForm.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	fields = url.Values{}
	for _, in := range anyInput.FindAllString(page, -1) {
		var name, value string
		for _, a := range attrRe.FindAllStringSubmatch(in, -1) {
			if strings.EqualFold(a[1], "name") {
				name = html.UnescapeString(a[2])
			} else {
				value = html.UnescapeString(a[2])
			}
		}
		if name != "" {
			fields.Set(name, value)
		}
	}
	return html.UnescapeString(m[1]), fields
}
