package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// TestIdentifyApp: the log entry's application comes from the library when the policies left
// it unset, never overrides what they set, and the status defaults to unreviewed.
func TestIdentifyApp(t *testing.T) {
	g := &Gateway{apps: applib.MustDefault()}
	chatgpt := g.apps.Lookup("chatgpt.com")
	if len(chatgpt) == 0 {
		t.Fatal("the catalogue does not know chatgpt.com")
	}
	cases := []struct {
		name       string
		in         entry
		wantID     int
		wantName   string
		wantStatus string
	}{
		{"catalogue host", entry{dest: Destination{Host: "chatgpt.com", Port: 443}}, chatgpt[0].App.ID, chatgpt[0].App.Name, "unreviewed"},
		{"subdomain", entry{dest: Destination{Host: "files.chatgpt.com", Port: 443}}, chatgpt[0].App.ID, chatgpt[0].App.Name, "unreviewed"},
		{"unknown host", entry{dest: Destination{Host: "example.org", Port: 443}}, 0, "", "unreviewed"},
		{"no destination", entry{}, 0, "", "unreviewed"},
		{"set by policy", entry{dest: Destination{Host: "chatgpt.com"}, appID: 7, appName: "Seven", appStatus: "approved"}, 7, "Seven", "approved"},
	}
	for _, c := range cases {
		e := c.in
		g.identifyApp(&e)
		if e.appID != c.wantID || e.appName != c.wantName || e.appStatus != c.wantStatus {
			t.Errorf("%s: got %d %q %q, want %d %q %q", c.name, e.appID, e.appName, e.appStatus, c.wantID, c.wantName, c.wantStatus)
		}
	}
	e := entry{dest: Destination{Host: "chatgpt.com", Port: 443}}
	if n := testing.AllocsPerRun(100, func() { e.appID, e.appStatus = 0, ""; g.identifyApp(&e) }); n != 0 {
		t.Errorf("identifyApp allocates %v times per call; want 0", n)
	}
}

// eventLog is an EventSink that keeps the events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) Record(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// wait returns the events once there are n (the event follows the response by a moment).
func (l *eventLog) wait(t *testing.T, n int) []Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		got := append([]Event(nil), l.events...)
		l.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("got %d events, want %d: %+v", len(got), n, got)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEvents: every request and tunnel reaches the sink once, with identity, application,
// status, outcome and byte counts.
func TestEvents(t *testing.T) {
	echo := echoServer(t)
	_, port, _ := net.SplitHostPort(echo)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(origin.Close)
	_, oport, _ := net.SplitHostPort(origin.Listener.Addr().String())
	loopback := netip.MustParseAddr("127.0.0.1")
	log := &eventLog{}
	gw := newTestGateway(t, Options{Events: log, Egress: &Egress{
		Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Pins:    map[string]netip.Addr{"chatgpt.com": loopback, "example.org": loopback},
	}})

	c, br, status := connect(t, gw, "chatgpt.com:"+port, "ping")
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	buf := make([]byte, 4)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got := log.wait(t, 1)[0]
	chatgpt := applib.MustDefault().Lookup("chatgpt.com")[0].App
	if got.ServiceTokenID != "ci" || got.Host != "chatgpt.com" || got.Method != http.MethodConnect ||
		got.AppID != chatgpt.ID || got.AppName != chatgpt.Name || got.AppStatus != "unreviewed" ||
		got.Status != http.StatusOK || got.Outcome != "tunnel" || got.BytesUp != 4 || got.BytesDown != 4 || got.Time.IsZero() {
		t.Errorf("tunnel event: %+v", got)
	}

	proxyURL, _ := url.Parse("http://ci:" + testSecret + "@" + gw)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: 5 * time.Second}
	resp, err := client.Post("http://example.org:"+oport+"/upload", "text/plain", strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	got = log.wait(t, 2)[1]
	if got.Host != "example.org" || got.AppID != 0 || got.AppStatus != "unreviewed" || got.Method != http.MethodPost ||
		got.Status != http.StatusOK || got.Outcome != "forwarded" || got.BytesUp != 10 || got.BytesDown != 5 {
		t.Errorf("forward event: %+v", got)
	}

	resp, err = http.Get("http://" + gw + "/nope") // origin form without credentials
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	noAuth, _ := url.Parse("http://" + gw)
	client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(noAuth)}, Timeout: 5 * time.Second}
	resp, err = client.Get("http://example.org:" + oport + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	evs := log.wait(t, 4)
	if evs[3].Status != http.StatusProxyAuthRequired || evs[3].Outcome != "refused" || evs[3].UserID != "" || evs[3].ServiceTokenID != "" {
		t.Errorf("refused event: %+v", evs[3])
	}
}

// A decrypted request's log line written through its tunnel's line start (the first six
// attributes encoded once per tunnel) is the line written without it, for the JSON and the
// text handler, at both levels.
func TestLineStartWritesTheSameLine(t *testing.T) {
	times := regexp.MustCompile(`("time":"[^"]*"|time=\S+|"duration":\d+|duration=\S+)`)
	for _, format := range []string{"json", "text", "json-lines"} {
		var buf strings.Builder
		var h slog.Handler = slog.NewJSONHandler(&buf, nil)
		if format == "text" {
			h = slog.NewTextHandler(&buf, nil)
		}
		opts := Options{Egress: &Egress{}, Log: slog.New(h)}
		if format == "json-lines" {
			opts.RequestLines = &buf
		}
		g := New(&snapshot.Holder{}, opts)
		tn := &Tunnel{Dest: Destination{Host: "a.example", Port: 8443}, g: g,
			Identity: &Identity{UserID: "u1", Email: "a \"quoted\" b@example.com", ServiceTokenID: "", Location: "HQ", DeviceID: "d1",
				ClientIP: netip.MustParseAddr("2001:db8::1")}}
		for _, outcome := range []string{"forwarded", "blocked"} {
			line := func(withStart bool) string {
				buf.Reset()
				e := &entry{start: time.Now(), method: "POST", kind: "https", dest: tn.Dest, id: tn.Identity, client: tn.Identity.ClientIP,
					requestID: "r1", outcome: outcome, status: 200, ruleID: "x", category: "prompt"}
				if withStart {
					e.lineStart, e.linePrefix = tn.lineStart()
				}
				g.logEntry(context.Background(), e, &recorder{entry: e})
				return times.ReplaceAllString(buf.String(), "")
			}
			plain, started := line(false), line(true)
			if plain == "" || plain != started {
				t.Fatalf("%s %s:\nplain   %s\nstarted %s", format, outcome, plain, started)
			}
		}
		g.Close()
	}
}

// requestLineStrings are values that JSON must escape, or that slog escapes beyond JSON's
// needs.
var requestLineStrings = []string{"", "plain", "a \"quoted\" b\\c", "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff\xfe utf-8 \xe2\x80", "/c/new?q=1"}

// requestLines writes one request line for an entry holding s in each string field, through
// slog's JSONHandler and through the gateway's own encoder (Options.RequestLines), with and
// without the tunnel's line start, and returns the three lines without time and duration.
func requestLines(t testing.TB, s string, level string) (viaSlog, direct, directStarted string) {
	times := regexp.MustCompile(`"time":"[^"]*"|"duration":\d+`)
	id := &Identity{UserID: s, Email: s + "@example.com", ServiceTokenID: s, Location: s, DeviceID: s,
		ClientIP: netip.MustParseAddr("2001:db8::1")}
	outcome := "forwarded"
	if level == "warn" {
		outcome = "refused"
	}
	line := func(lines bool, started bool) string {
		var buf strings.Builder
		opts := Options{Egress: &Egress{}, Log: slog.New(slog.NewJSONHandler(&buf, nil))}
		if lines {
			opts.RequestLines = &buf
		}
		g := New(&snapshot.Holder{}, opts)
		defer g.Close()
		tn := &Tunnel{Dest: Destination{Host: "a.example", Port: 8443}, g: g, Identity: id}
		e := &entry{start: time.Now(), method: "POST", kind: "https", dest: tn.Dest, id: id, client: id.ClientIP,
			requestID: s, outcome: outcome, reason: s, status: 200, ruleID: s, ruleName: s, category: s, action: s,
			appID: 7, appName: s, appStatus: s, up: 12, down: 34, appLooked: true}
		if started {
			e.lineStart, e.linePrefix = tn.lineStart()
		}
		g.logEntry(context.Background(), e, &recorder{entry: e, bytes: 34})
		return times.ReplaceAllString(buf.String(), "")
	}
	return line(false, false), line(true, false), line(true, true)
}

// The gateway's own encoding of the request line is byte for byte slog's JSONHandler's, at
// both levels, whatever the strings hold (escapes, invalid UTF-8, U+2028).
func TestRequestLineMatchesSlog(t *testing.T) {
	for _, s := range requestLineStrings {
		for _, level := range []string{"info", "warn"} {
			viaSlog, direct, started := requestLines(t, s, level)
			if viaSlog == "" || direct != viaSlog || started != viaSlog {
				t.Errorf("%q %s:\nslog    %s\ndirect  %s\nstarted %s", s, level, viaSlog, direct, started)
			}
		}
	}
}

func FuzzRequestLine(f *testing.F) {
	for _, s := range requestLineStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		viaSlog, direct, started := requestLines(t, s, "info")
		if direct != viaSlog || started != viaSlog {
			t.Errorf("%q:\nslog    %s\ndirect  %s\nstarted %s", s, viaSlog, direct, started)
		}
	})
}

// Encoding and writing a request line allocates nothing (its buffer is pooled): it runs for
// every request the gateway serves.
func TestRequestLineAllocations(t *testing.T) {
	e := &entry{start: time.Now(), method: "GET", kind: "https", dest: Destination{Host: "chatgpt.com", Port: 443},
		requestID: "0123456789abcdef", outcome: "forwarded", appID: 1199, appName: "ChatGPT", appStatus: "unapproved",
		action: "allow", category: "prompt"}
	prefix := appendLineStart(nil, "127.0.0.1", "u1", "a@example.com", "", "HQ", "https")
	// Without garbage collection: one emptying the buffer pool mid-run would count its refill.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if n := testing.AllocsPerRun(200, func() {
		writeRequestLine(io.Discard, time.Now(), slog.LevelInfo, prefix, e, 200, 100, "d1")
	}); n != 0 {
		t.Errorf("%v allocations per request line, want 0", n)
	}
}
