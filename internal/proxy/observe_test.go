package proxy_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/token"
)

// TestAccessLog checks that every request writes exactly one access-log line with its host,
// normalised path, application, decision, reasons and status.
func TestAccessLog(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})

	ok := req(http.MethodGet, "http://App.Example.com/a/../reports", nil)
	ok.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "web", nil)})
	e.forwarded(t, ok)
	e.serve(t, withClient(req(http.MethodGet, "http://app.example.com/x", nil), "198.51.100.7", "KP"))
	e.serve(t, req(http.MethodGet, "http://nothing.example.com/x", nil))
	e.serve(t, req(http.MethodPost, "http://app.example.com/x", nil))
	e.serve(t, req(http.MethodGet, "http://app.example.com/.gatehouse/certs", nil))

	want := []struct {
		host, method, path, app, decision, policy, user, email string
		reasons                                                []string
		status                                                 int
	}{
		{"app.example.com", "GET", "/reports", "web", "forward", "allow-example", alice.ID, alice.Email, []string{"policy-matched", "email_domain-ok"}, 200},
		{"app.example.com", "GET", "/x", "web", "deny_non_identity", "deny-kp", "", "", []string{"policy-matched", "geo-ok"}, 403},
		{"nothing.example.com", "GET", "/x", "", "endpoint", "", "", "", []string{"no-application"}, 404},
		{"app.example.com", "POST", "/x", "web", "login", "", "", "", []string{"identity-required"}, 401},
		{"app.example.com", "GET", "/.gatehouse/certs", "web", "endpoint", "", "", "", []string{}, 299},
	}
	lines := e.accessLines(t)
	if len(lines) != len(want) {
		t.Fatalf("%d access lines for %d requests", len(lines), len(want))
	}
	for i, w := range want {
		l := lines[i]
		got := []any{l["host"], l["method"], l["path"], l["app"], l["decision"], l["policy"], l["user"], l["email"], l["status"], l["level"]}
		exp := []any{w.host, w.method, w.path, w.app, w.decision, w.policy, w.user, w.email, float64(w.status), "INFO"}
		if !slices.Equal(got, exp) {
			t.Errorf("line %d = %v, want %v", i, got, exp)
		}
		if rs := reasonsOf(l); !slices.Equal(rs, w.reasons) {
			t.Errorf("line %d reasons = %q, want %q", i, rs, w.reasons)
		}
		if _, ok := l["duration"]; !ok || l["remote"] != "192.0.2.1:1234" {
			t.Errorf("line %d = %v", i, l)
		}
	}
	if b, _ := lines[0]["bytes"].(float64); b <= 0 {
		t.Errorf("bytes = %v for a forwarded response", lines[0]["bytes"])
	}
}

// TestRefusalsCarryReasons checks that every refused request carries its precise reasons into
// the access log, the refusal metric and the login flow, and that the reference ID of a block or
// error page is the access log line's.
func TestRefusalsCarryReasons(t *testing.T) {
	e := newEnv(t, setup{})
	mallory := e.newUser(t, "mallory@example.com", identity.Identity{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	expired := e.appToken(t, alice, "web", func(c *token.Claims) {
		c.IssuedAt, c.NotBefore, c.ExpiresAt = testNow.Add(-2*time.Hour).Unix(), testNow.Add(-2*time.Hour).Unix(), testNow.Add(-time.Second).Unix()
	})
	browser := func(r *http.Request, tok string) *http.Request {
		r.Header.Set("Accept", "text/html")
		if tok != "" {
			r.AddCookie(&http.Cookie{Name: appCookie, Value: tok})
		}
		return r
	}
	tests := []struct {
		name        string
		build       func() *http.Request
		status      int
		app         string
		wantReasons []string
		deny        bool // the login flow rendered a block page with the line's reference
		page        bool // Gatehouse's error page shows the line's reference
	}{
		{"denied by a policy", func() *http.Request {
			return browser(req(http.MethodGet, "http://app.example.com/x", nil), e.appToken(t, mallory, "web", nil))
		}, http.StatusForbidden, "web", []string{"policy-matched", "email-ok"}, true, false},
		{"denied before login, with an expired token", func() *http.Request {
			return browser(withClient(req(http.MethodGet, "http://app.example.com/x", nil), "198.51.100.7", "KP"), expired)
		}, http.StatusForbidden, "web", []string{"policy-matched", "geo-ok", "token-expired"}, true, false},
		{"refused service token", func() *http.Request {
			return serviceTokenRequest("api.example.com", clientDisabled, secretOK)
		}, http.StatusForbidden, "api", []string{"no-policy-matched", "service-token-disabled", "include-failed-any_valid_service_token", "include-failed-ip"}, true, false},
		{"ambiguous path", func() *http.Request {
			return browser(req(http.MethodGet, "http://app.example.com/admin.json", nil), "")
		}, http.StatusBadRequest, "-", []string{"ambiguous-path"}, false, true},
		{"rejected path", func() *http.Request {
			return browser(req(http.MethodGet, "http://app.example.com/admin%20", nil), "")
		}, http.StatusBadRequest, "-", []string{"ambiguous-path"}, false, true},
		{"no application", func() *http.Request { return req(http.MethodGet, "http://nothing.example.com/", nil) },
			http.StatusNotFound, "-", []string{"no-application"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			w := e.serve(t, tt.build())
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			line := e.lastAccess(t)
			if got := reasonsOf(line); !slices.Equal(got, tt.wantReasons) {
				t.Errorf("access reasons = %q, want %q", got, tt.wantReasons)
			}
			ref, _ := line["ref"].(string)
			if len(ref) != 16 {
				t.Errorf("access line ref = %q", ref)
			}
			if tt.deny {
				c := e.onlyCall(t)
				if c.Kind != "deny" || c.Ref != ref || !slices.Equal(c.Reasons, tt.wantReasons) {
					t.Errorf("deny call = %+v, want ref %q and reasons %q", c, ref, tt.wantReasons)
				}
			}
			if tt.page && !strings.Contains(w.Body.String(), "Reference: "+ref) {
				t.Errorf("error page does not show the line's reference %q", ref)
			}
			for _, reason := range tt.wantReasons {
				if n := e.refusals(t, tt.app, reason); n < 1 {
					t.Errorf("refusals{%s,%s} = %v", tt.app, reason, n)
				}
			}
		})
	}

	// Forwarded requests are not refusals and carry no reference.
	before := e.refusals(t, "open", "policy-matched")
	e.forwarded(t, req(http.MethodGet, "http://open.example.com/", nil))
	if line := e.lastAccess(t); line["ref"] != "" {
		t.Errorf("forwarded request has ref %v", line["ref"])
	}
	if n := e.refusals(t, "open", "policy-matched"); n != before {
		t.Errorf("a forwarded request counted as a refusal")
	}
}

// TestMetrics checks the request counter's labels and the duration histogram.
func TestMetrics(t *testing.T) {
	e := newEnv(t, setup{})
	e.serve(t, req(http.MethodGet, "http://open.example.com/", nil))
	e.serve(t, req(http.MethodGet, "http://open.example.com/", nil))
	e.serve(t, req(http.MethodGet, "http://app.example.com/", nil))
	e.serve(t, withClient(req(http.MethodGet, "http://app.example.com/", nil), "203.0.113.1", "DE"))
	e.serve(t, req(http.MethodGet, "http://nothing.example.com/", nil))
	e.serve(t, req(http.MethodGet, "http://open.example.com/%2F", nil))

	for _, c := range []struct {
		app, outcome, code string
		want               float64
	}{
		{"open", "forward", "2xx", 2},
		{"web", "login", "4xx", 1},
		{"web", "deny_non_identity", "4xx", 1},
		{"-", "endpoint", "4xx", 2}, // no application, ambiguous path
		{"web", "forward", "2xx", 0},
	} {
		if got := e.counter(t, c.app, c.outcome, c.code); got != c.want {
			t.Errorf("requests{app=%q,outcome=%q,code=%q} = %v, want %v", c.app, c.outcome, c.code, got, c.want)
		}
	}
	if n := e.histogramCount(t, "open"); n != 2 {
		t.Errorf("duration samples for open = %d, want 2", n)
	}
	if n := e.histogramCount(t, "-"); n != 2 {
		t.Errorf("duration samples for - = %d, want 2", n)
	}
}

// TestNilMetrics checks that a proxy without metrics (and with the default clock) serves
// requests.
func TestNilMetrics(t *testing.T) {
	e := newEnv(t, setup{})
	p := proxy.New(e.holder, e.login, nil, e.km, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, proxy.Options{})
	w := httptest.NewRecorder()
	p.ServeHTTP(w, req(http.MethodGet, "http://open.example.com/", nil))
	if w.Code != http.StatusOK || e.hits.Load() != 1 {
		t.Errorf("status %d, upstream hits %d", w.Code, e.hits.Load())
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[proxy.Outcome]string{
		proxy.OutcomeForward:         "forward",
		proxy.OutcomeLogin:           "login",
		proxy.OutcomeUnauthorized:    "unauthorized",
		proxy.OutcomeDenyIdentity:    "deny",
		proxy.OutcomeDenyNonIdentity: "deny_non_identity",
		proxy.OutcomeUnavailable:     "unavailable",
		proxy.Outcome(200):           "unknown",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d) = %q, want %q", o, got, want)
		}
	}
}

// TestResponseControllerReachesConnection checks that the writer the proxy hands on (here to a
// reserved endpoint) unwraps to the server's, so http.ResponseController features such as
// deadlines keep working behind the access-log recorder.
func TestResponseControllerReachesConnection(t *testing.T) {
	e := newEnv(t, setup{})
	srv, served := proxyServer(t, e)
	r, err := http.NewRequest(http.MethodGet, srv.URL+"/.gatehouse/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "app.example.com"
	res, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	waitServed(t, served)
	if c := e.onlyCall(t); c.Kind != "endpoint" || c.DeadlineErr != nil {
		t.Errorf("call = %+v, want an endpoint call whose deadline could be set", c)
	}
	if res.StatusCode != 299 {
		t.Errorf("status = %d", res.StatusCode)
	}
}
